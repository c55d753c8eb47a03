"""Tracenet's configuration, read without Flask, so that the server and the CLI agree.

Defaults first, then ``TRACENET_DATABASE_URL``, ``TRACENET_LEDGER_KEY``,
``TRACENET_LEDGER_ORIGIN`` and ``TRACENET_SECRET_KEY`` from the environment. The defaults live
in the instance folder: ``<checkout>/instance`` in a source checkout (or an editable install),
``<sys.prefix>/var/tracenet-instance`` for an installed wheel, ``TRACENET_INSTANCE`` if set.

Reading the settings creates nothing; only :meth:`Settings.secret` and the runtime built from
the settings (:mod:`web.runtime`) write to the instance folder, when a command needs them.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ledger.log.checkpoint import CHECKPOINT_ENTRIES, CHECKPOINT_INTERVAL
from ledger.log.cosigning import parse_witnesses

__all__ = ["NAMES", "TIME_ZONE", "Settings", "configuration", "instance_path"]

#: what a deployment configures, each from ``TRACENET_<NAME>`` and kept in the Flask config
#: under ``<NAME>``
NAMES = ("DATABASE_URL", "LEDGER_KEY", "LEDGER_ORIGIN", "SECRET_KEY", "CODE_SECRET",
         "QUERY_WARNING_THRESHOLD", "WITNESSES", "CHECKPOINT_INTERVAL", "CHECKPOINT_ENTRIES",
         "CONSUMER_MIN_COSIGNATURES")

#: The supervision network is national and China has one time zone: the console shows dates
#: and reads form times in it, and imports default their event time to now in it.
TIME_ZONE = "Asia/Shanghai"

_SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the directory that holds web/


def instance_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The instance folder: ``TRACENET_INSTANCE``, else beside the code as Flask would put it."""
    override = environ.get("TRACENET_INSTANCE")
    if override:
        return Path(override).resolve()
    if _SOURCE_ROOT.name in ("site-packages", "dist-packages"):  # an installed wheel
        return Path(sys.prefix) / "var" / "tracenet-instance"
    return _SOURCE_ROOT / "instance"


def configuration(instance: Path, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The defaults for ``instance``, overridden by the non-empty ``TRACENET_*`` variables."""
    config: dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{instance / 'tracenet.db'}",
        "LEDGER_KEY": str(instance / "ledger_key.pem"),
        "LEDGER_ORIGIN": "tracenet.localhost/ledger",
        "SECRET_KEY": None,
        "CODE_SECRET": None,
        # how many queries of one unit code before its page warns of a copied code (None: the
        # default of ledger.consumer.DEFAULT_WARNING_THRESHOLD)
        "QUERY_WARNING_THRESHOLD": None,
        "WITNESSES": None,
        # how many of the WITNESSES must have cosigned the checkpoint the shopper's page is
        # checked against (0: none, the latest checkpoint)
        "CONSUMER_MIN_COSIGNATURES": None,
        "CHECKPOINT_INTERVAL": None,  # None: the ledger's defaults (1 s, 1,000 entries)
        "CHECKPOINT_ENTRIES": None,
    }
    for name in NAMES:
        value = environ.get(f"TRACENET_{name}")
        if value:
            config[name] = value
    return config


_Number = TypeVar("_Number", int, float)


def _number(config: Mapping[str, Any], name: str, kind: type[_Number],
            default: _Number) -> _Number:
    """A numeric setting (``TRACENET_<name>`` arrives as text), at least 0 (1 for counts)."""
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"TRACENET_{name} must be a {kind.__name__} number, got "
                         f"{value!r}") from None
    if number < (1 if kind is int else 0) or number != number:  # NaN is not a number here
        raise ValueError(f"TRACENET_{name} is out of range: {value!r}")
    return number


def _min_cosignatures(config: Mapping[str, Any]) -> int:
    """``TRACENET_CONSUMER_MIN_COSIGNATURES``: 0 (the default) up to the number of distinct
    ``TRACENET_WITNESSES``; a policy no checkpoint could meet is refused at start."""
    value = config.get("CONSUMER_MIN_COSIGNATURES")
    if value is None or value == "":
        return 0
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"TRACENET_CONSUMER_MIN_COSIGNATURES must be a whole number, got "
                         f"{value!r}") from None
    if k < 0:
        raise ValueError(f"TRACENET_CONSUMER_MIN_COSIGNATURES is out of range: {value!r}")
    if k:
        witnesses = parse_witnesses(str(config.get("WITNESSES") or ""))
        distinct = len({w.key.public_key for w in witnesses})
        if k > distinct:
            raise ValueError(f"TRACENET_CONSUMER_MIN_COSIGNATURES={k} but only {distinct} "
                             f"TRACENET_WITNESSES are configured")
    return k


@dataclass(frozen=True)
class Settings:
    """Where the ledger is and who signs for it."""

    instance: Path
    database_url: str
    ledger_key: Path  # the operator's Ed25519 key (PKCS#8 PEM), created by the first use
    ledger_origin: str  # the checkpoints' origin line
    secret_key: str | None  # None: the instance's own, see :meth:`secret`
    code_secret_key: str | None = None  # None: the instance's own, see :meth:`code_secret`
    #: the witnesses checkpoints go to (``ledger.log.cosigning.parse_witnesses``), if any
    witnesses: str | None = None
    #: the checkpoint cadence: at most one per interval (seconds) or per so many entries
    checkpoint_interval: float = CHECKPOINT_INTERVAL
    checkpoint_entries: int = CHECKPOINT_ENTRIES
    #: k of the witnesses' cosignatures the shopper's page requires of its checkpoint (0: none)
    consumer_min_cosignatures: int = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings a command or server started with ``environ`` uses."""
        instance = instance_path(environ)
        return cls.from_config(instance, configuration(instance, environ))

    @classmethod
    def from_config(cls, instance: Path, config: Mapping[str, Any]) -> Settings:
        """The settings held in a (Flask) config mapping with the keys of :data:`NAMES`."""
        return cls(instance=instance, database_url=str(config["DATABASE_URL"]),
                   ledger_key=Path(config["LEDGER_KEY"]),
                   ledger_origin=str(config["LEDGER_ORIGIN"]),
                   secret_key=config["SECRET_KEY"] or None,
                   code_secret_key=config.get("CODE_SECRET") or None,
                   witnesses=config.get("WITNESSES") or None,
                   checkpoint_interval=_number(config, "CHECKPOINT_INTERVAL", float,
                                               CHECKPOINT_INTERVAL),
                   checkpoint_entries=_number(config, "CHECKPOINT_ENTRIES", int,
                                              CHECKPOINT_ENTRIES),
                   consumer_min_cosignatures=_min_cosignatures(config))

    def secret(self) -> str:
        """The configured secret key, else a per-instance one kept beside the database."""
        return self.secret_key or self._instance_secret("secret_key")

    def code_secret(self) -> bytes:
        """The key of the supervision codes' keyed digits (:mod:`scanners.supervision_code`).

        Apart from the secret key, so that rotating sessions' key leaves every printed label
        valid; configured by ``TRACENET_CODE_SECRET``, else a per-instance one.
        """
        return (self.code_secret_key or self._instance_secret("code_secret")).encode()

    def _instance_secret(self, name: str) -> str:
        """A random secret kept in the instance folder under ``name``, created exclusively, so
        that gunicorn workers (or a command and a server) starting together agree on one."""
        path = self.instance / name
        self.instance.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
