"""``tracenet witness``: run a C2SP tlog-witness for one or more logs.

``keygen`` makes the witness's key and prints its verifier key (what logs and clients
configure); ``serve`` hands the process to gunicorn serving :mod:`web.witness`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from ledger.db import create_ledger_engine
from ledger.errors import LedgerError
from ledger.log import Ledger, latest_checkpoint
from ledger.log.checkpoint import verifier_key
from ledger.log.cosignature import CosignerKey, open_cosigned_checkpoint, parse_cosigner_key
from ledger.log.cosigning import published_checkpoint
from ledger.log.keys import load_or_create_private_key, load_private_key
from ledger.log.witness import SqlWitnessStore, parse_log_keys
from web.cli.terminal import fail
from web.settings import Settings, instance_path

__all__ = ["parse_witness_keys", "require_cosignatures", "witness", "witness_keys_option"]

P = ParamSpec("P")
R = TypeVar("R")


#: the name a witness goes by when none is given (a local one, as `make run` starts)
DEFAULT_NAME = "witness.localhost/w1"

_name_option = click.option(
    "--name", envvar="TRACENET_WITNESS_NAME", default=DEFAULT_NAME, show_default=True,
    help="The witness's name, e.g. witness.example.org/w1 (also TRACENET_WITNESS_NAME).")
_key_option = click.option(
    "--key", "key_path", envvar="TRACENET_WITNESS_KEY", type=click.Path(dir_okay=False),
    default=None, help="The witness's Ed25519 key (PEM), created if missing (also "
                       "TRACENET_WITNESS_KEY). Default: witness_key.pem in the instance folder.")


def _key_file(key_path: str | None) -> Path:
    return Path(key_path) if key_path else instance_path() / "witness_key.pem"


@click.group()
def witness() -> None:
    """Run a transparency-log witness (C2SP tlog-witness) that cosigns consistent
    checkpoints."""


@witness.command()
@_name_option
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the new private key (PKCS#8 PEM, mode 0600).")
def keygen(name: str, out: str) -> None:
    """Make a witness key; prints the verifier key that logs and clients configure."""
    if Path(out).exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = CosignerKey.of(name, load_or_create_private_key(Path(out)))
    click.echo(key.vkey)


@witness.command()
@_name_option
@_key_option
def vkey(name: str, key_path: str | None) -> None:
    """Print the witness's verifier key (making its key file if there is none yet)."""
    click.echo(CosignerKey.of(name, load_or_create_private_key(_key_file(key_path))).vkey)


def _log_line(spec: str) -> str:
    """``[ORIGIN=]KEYFILE`` or ``[ORIGIN=]VKEY`` as a line of ``TRACENET_WITNESS_LOGS``.

    KEYFILE holds the log's verifier key (what ``GET /api/v1/ledger/key`` serves), or a PEM
    Ed25519 public key, or the log's own private key (a witness run beside the log, say); with
    a PEM key the origin names the key too, so it is required.
    """
    origin, sep, path = spec.partition("=")
    if not sep or Path(spec).exists() or "+" in origin:
        origin, sep, path = "", "", spec
    if Path(path).is_file():
        content = Path(path).read_bytes()
        if content.lstrip().startswith(b"-----BEGIN"):
            if not origin:
                raise click.BadParameter(f"{path} is a PEM key: give the log's origin too, "
                                         "as ORIGIN=KEYFILE")
            vkey = verifier_key(origin, _pem_public_key(path, content))
        else:
            vkey = content.decode(errors="replace").strip()
    elif path.count("+") >= 2:
        vkey = path
    else:
        raise click.BadParameter(f"{path} is neither a file nor a verifier key")
    line = f"{origin} {vkey}" if sep else vkey
    try:
        parse_log_keys(line)
    except LedgerError as exc:
        raise click.BadParameter(f"{path}: {exc.message}") from None
    return line


def _pem_public_key(path: str, content: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file: a public key, or a private key's public half."""
    try:
        if b"PRIVATE KEY" in content:
            return load_private_key(content).public_key()
        key = serialization.load_pem_public_key(content)
    except (LedgerError, ValueError, UnsupportedAlgorithm) as exc:
        raise click.BadParameter(f"{path}: not an Ed25519 PEM key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise click.BadParameter(f"{path}: expected an Ed25519 key, got {type(key).__name__}")
    return key


def _instance_log_key() -> str:
    """The verifier key of the ledger configured by the ``TRACENET_*`` settings."""
    settings = Settings.from_environment()
    if not settings.ledger_key.exists():
        raise click.UsageError(f"no --log given, and {settings.ledger_key} does not exist "
                               "(run `tracenet init`)")
    key = load_private_key(settings.ledger_key.read_bytes())
    return verifier_key(settings.ledger_origin, key.public_key())


@witness.command()
@_name_option
@_key_option
@click.option("--log", "logs", multiple=True, metavar="[ORIGIN=]KEYFILE|VKEY",
              help="A log to witness: its verifier key (GET /api/v1/ledger/key), or a file "
                   "holding it, with its origin if that differs from the key name; or "
                   "ORIGIN=a PEM key file (its public key, or its private key). Repeatable. "
                   "Default: the ledger this instance serves (TRACENET_LEDGER_KEY).")
@click.option("--database", default=None,
              help="The witness's state (default: sqlite file beside the key).")
@click.option("--bind", default="127.0.0.1:8001", show_default=True)
@click.option("--workers", default=2, show_default=True)
def serve(name: str, key_path: str | None, logs: tuple[str, ...], database: str | None,
          bind: str, workers: int) -> None:
    """Serve POST /add-checkpoint with gunicorn until stopped."""
    key = _key_file(key_path).resolve()
    cosigner = CosignerKey.of(name, load_or_create_private_key(key))
    env = dict(os.environ)
    env.update({
        "TRACENET_WITNESS_NAME": name,
        "TRACENET_WITNESS_KEY": str(key),
        "TRACENET_WITNESS_LOGS": "\n".join(_log_line(spec) for spec in logs or
                                           [_instance_log_key()]),
        "TRACENET_WITNESS_DATABASE_URL": database or f"sqlite:///{key.with_suffix('.db')}",
    })
    load_private_key(key.read_bytes())  # refuse a bad key here, not in every worker
    engine = create_ledger_engine(env["TRACENET_WITNESS_DATABASE_URL"])
    SqlWitnessStore(engine)  # its tables, once, before the workers start
    engine.dispose()
    click.echo(f"witness {cosigner.vkey} on http://{bind}", err=True)
    argv = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "web.witness:create_witness_app()"]
    os.execvpe(sys.executable, argv, env)  # noqa: S606 - our own interpreter, no shell


def witness_keys_option(command: Callable[P, R]) -> Callable[P, R]:
    """``--witness VKEY`` (repeatable) and ``--min-cosignatures K``: the k-of-n policy a
    command holds checkpoints to."""
    command = click.option(
        "--min-cosignatures", type=click.IntRange(min=0), default=0, show_default=True,
        help="How many of the --witness keys must have cosigned a checkpoint.")(command)
    return click.option(
        "--witness", "witness_keys", multiple=True, metavar="VKEY",
        help="A trusted witness's verifier key (name+keyid+base64, as `tracenet witness "
             "keygen` prints it). Repeatable.")(command)


def parse_witness_keys(keys: Sequence[str], min_cosignatures: int) -> list[CosignerKey]:
    """The trusted witnesses, refusing a policy no checkpoint could meet."""
    try:
        witnesses = [parse_cosigner_key(key) for key in keys]
    except LedgerError as exc:
        raise click.BadParameter(exc.message, param_hint="--witness") from None
    if len({w.public_key for w in witnesses}) < len(witnesses):
        raise click.BadParameter("a witness key is given twice (one key is one witness, "
                                 "whatever its name)", param_hint="--witness")
    if min_cosignatures > len(witnesses):
        raise click.BadParameter(f"{min_cosignatures} cosignatures required of "
                                 f"{len(witnesses)} witnesses", param_hint="--min-cosignatures")
    return witnesses


def require_cosignatures(session: Session, ledger: Ledger, saved: Mapping[str, str],
                         keys: Sequence[str], min_cosignatures: int) -> list[str]:
    """Hold the ``saved`` checkpoint notes (by file name) and the ledger's latest checkpoint
    with ``min_cosignatures`` cosignatures to the k-of-n policy; exit 1 naming what fails.
    Returns the ledger's cosigned note, for verification to match against the tree."""
    witnesses = parse_witness_keys(keys, min_cosignatures)
    public_key = ledger.signing_key.public_key()
    for name, note in saved.items():
        try:
            open_cosigned_checkpoint(note, key_name=ledger.origin, public_key=public_key,
                                     origin=ledger.origin, witnesses=witnesses,
                                     min_cosignatures=min_cosignatures)
        except LedgerError as exc:
            fail(f"FAILED: {name}: {exc.message}")
    try:
        note = published_checkpoint(session, lambda: latest_checkpoint(session, ledger),
                                    min_cosignatures)
        opened = open_cosigned_checkpoint(note, key_name=ledger.origin, public_key=public_key,
                                          origin=ledger.origin, witnesses=witnesses,
                                          min_cosignatures=min_cosignatures)
    except LedgerError as exc:
        fail(f"FAILED: the ledger's checkpoints: {exc.message}")
    names = ", ".join(str(c.witness) for c in opened.cosignatures) or "none required"
    click.echo(f"cosigned: the checkpoint at size {opened.checkpoint.size} by "
               f"{len(opened.cosignatures)} of {len(witnesses)} witnesses ({names})")
    return [note]
