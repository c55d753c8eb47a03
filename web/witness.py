"""The witness's HTTP face (C2SP tlog-witness): ``POST /add-checkpoint`` and a status page.

A separate WSGI app from the ledger's (``gunicorn 'web.witness:create_witness_app()'``, which
``tracenet witness serve`` runs): a witness is operated by someone else than the log, with its
own key and database. The protocol lives in :mod:`ledger.log.witness`; this module only reads
the configuration and turns refusals into the statuses and bodies the spec asks for.

Configuration, from the environment (or ``config``): ``TRACENET_WITNESS_NAME`` (the witness's
name, e.g. ``witness.example.org/w1``), ``TRACENET_WITNESS_KEY`` (its Ed25519 PEM key, created
on first use), ``TRACENET_WITNESS_LOGS`` (the logs it serves, see
:func:`ledger.log.witness.parse_log_keys`) and ``TRACENET_WITNESS_DATABASE_URL`` (its state).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ledger.db import create_ledger_engine
from ledger.errors import WitnessError
from ledger.log.keys import load_or_create_private_key
from ledger.log.witness import SqlWitnessStore, Witness, parse_log_keys

__all__ = ["CONFIG_NAMES", "create_witness_app", "get_witness"]

#: the settings, each from ``TRACENET_WITNESS_<NAME>``
CONFIG_NAMES = ("NAME", "KEY", "LOGS", "DATABASE_URL")

# 63 proof lines and a checkpoint note with a few hundred cosignatures fit in far less.
_MAX_REQUEST = 256 * 1024
_TEXT = "text/plain; charset=utf-8"


def _setting(config: Mapping[str, str], name: str) -> str:
    value = config.get(name) or os.environ.get(f"TRACENET_WITNESS_{name}")
    if not value:
        raise RuntimeError(f"the witness needs TRACENET_WITNESS_{name}")
    return value


def create_witness_app(config: Mapping[str, str] | None = None) -> Flask:
    """The witness app, configured by ``config`` (keys of :data:`CONFIG_NAMES`), falling back
    to the ``TRACENET_WITNESS_*`` environment."""
    config = config or {}
    app = Flask("web.witness")
    app.config["MAX_CONTENT_LENGTH"] = _MAX_REQUEST
    engine = create_ledger_engine(_setting(config, "DATABASE_URL"))
    store = SqlWitnessStore(engine)
    witness = Witness(_setting(config, "NAME"),
                      load_or_create_private_key(Path(_setting(config, "KEY"))),
                      parse_log_keys(_setting(config, "LOGS")), store)
    app.extensions["tracenet.witness"] = witness
    app.extensions["tracenet.witness_store"] = store
    app.extensions["tracenet.witness_engine"] = engine

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        lines = witness.add_checkpoint(request.get_data())
        return Response(lines, content_type=_TEXT)

    @app.get("/")
    def status() -> Response:
        logs = "".join(f"  {origin}\n" for origin in witness.origins)
        return Response(f"C2SP tlog-witness {witness.key.name}\nverifier key: "
                        f"{witness.key.vkey}\nlogs:\n{logs}evidence of refused forks: "
                        f"/evidence\n", content_type=_TEXT)

    @app.get("/evidence")
    def evidence() -> Response:
        """The refused checkpoints kept as evidence of forks (``?origin=`` for one log)."""
        kept = store.evidence(request.args.get("origin") or None)
        return jsonify(evidence=[dataclasses.asdict(item) for item in kept])

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", content_type=_TEXT)

    @app.errorhandler(WitnessError)
    def refused(exc: WitnessError) -> Response:
        if exc.status == 409 and exc.known_size is not None:
            # The spec's body for a size mismatch: the size held, for the log to retry from.
            response = Response(f"{exc.known_size}\n", status=409,
                                content_type="text/x.tlog.size")
        else:
            response = Response((exc.evidence or exc.message) + "\n", status=exc.status,
                                content_type=_TEXT)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return Response(f"{exc.code} {exc.name}\n", status=exc.code or 500, content_type=_TEXT)

    return app


def get_witness(app: Flask) -> Witness:
    """The witness an app built by :func:`create_witness_app` serves."""
    witness: Witness = app.extensions["tracenet.witness"]
    return witness
