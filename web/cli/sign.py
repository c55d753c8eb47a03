"""``tracenet sign``: sign an event client side, as the server will check it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ledger import log
from ledger.log.entry import Statement
from ledger.log.keys import key_id_for, load_private_key
from schemas.events import PAYLOAD_SCHEMAS, EventSchema
from web.cli.terminal import print_json

__all__ = ["sign"]


@click.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--enterprise", required=True, help="USCC the statement is made as.")
@click.option("--type", "type_", required=True, type=click.Choice(sorted(PAYLOAD_SCHEMAS)))
@click.option("--event-time", help="RFC 3339 with offset (default: now, UTC).")
@click.argument("payload", type=click.File("r", encoding="utf-8"))
def sign(key_path: str, enterprise: str, type_: str, event_time: str | None,
         payload: Any) -> None:
    """Sign an event client side; prints the JSON body to POST to /api/v1/events.

    PAYLOAD is a JSON file (or - for stdin). It is validated and normalised exactly as the
    server does, then signed, so the server stores precisely what was signed.
    """
    key = load_private_key(Path(key_path).read_bytes())
    when = event_time or log.rfc3339(datetime.now(UTC))
    event = EventSchema().load({"type": type_, "enterprise": enterprise, "event_time": when,
                                "payload": json.load(payload)})
    statement = Statement(type_, enterprise, key_id_for(key), when, event["payload"])
    body = {**statement.as_json(), "signature": base64.b64encode(
        statement.sign(key).signature).decode()}
    del body["v"]
    print_json(body)
