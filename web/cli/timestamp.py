"""``tracenet verify-timestamp``: check the signed entry timestamps an append answered with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import CheckpointError, EntryError, SignatureError
from ledger.log.canonical import canonical_bytes
from ledger.log.checkpoint import parse_verifier_key
from ledger.log.entry import Entry
from ledger.log.keys import load_private_key
from ledger.log.timestamp import SignedEntryTimestamp
from web.cli.terminal import fail
from web.settings import Settings

__all__ = ["verify_timestamp"]

#: the members of an entry's canonical bytes, as the API serves them beside others
_ENTRY_MEMBERS = ("v", "seq", "type", "enterprise", "key_id", "event_time", "recorded_at",
                  "payload", "prev", "signature")


@click.command("verify-timestamp")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--key", "vkey", help="The log's verifier key (origin+hash+base64, as GET "
              "/api/v1/ledger/key serves it); default: this instance's operator key.")
def verify_timestamp(file: str, vkey: str | None) -> None:
    """Check signed entry timestamps: the JSON an append answered with (or one entry, or
    one timestamp); exit 1 at the first that fails.

    Each timestamp's Ed25519 signature must verify with the operator's key for the log's
    origin; beside an entry, it must name that entry's seq, leaf hash (recomputed from the
    entry's own fields) and recorded time.
    """
    origin, public_key = _operator(vkey)
    text = click.open_file(file).read() if file == "-" else Path(file).read_text()
    try:
        body = json.loads(text)
    except ValueError as exc:
        fail(f"{file}: not JSON: {exc}")
    items = body if isinstance(body, list) else [body]
    if not items:
        fail(f"{file}: no entries")
    for index, item in enumerate(items):
        where = f"item {index}" if isinstance(body, list) else file
        try:
            stamp, entry = _read(item)
            stamp.verify(public_key, origin=origin, entry=entry)
        except (EntryError, SignatureError) as exc:
            fail(f"FAILED {where}: {exc.message}" + (f" ({exc.field})" if exc.field else ""))
        click.echo(f"OK: seq {stamp.seq} of {stamp.origin}, leaf "
                   f"{stamp.leaf_hash.hex()}, integrated {stamp.integrated_time}, signed by "
                   f"{stamp.key_id}" + ("" if entry is None else " (entry matches)"))


def _operator(vkey: str | None) -> tuple[str, Ed25519PublicKey]:
    """The log origin and operator public key to check against."""
    if vkey is not None:
        try:
            return parse_verifier_key(vkey.strip())
        except CheckpointError as exc:
            raise click.BadParameter(exc.message, param_hint="--key") from None
    settings = Settings.from_environment()
    if not settings.ledger_key.exists():
        raise click.UsageError(f"no operator key at {settings.ledger_key}; pass --key")
    return settings.ledger_origin, load_private_key(settings.ledger_key.read_bytes()).public_key()


def _read(item: Any) -> tuple[SignedEntryTimestamp, Entry | None]:
    """A timestamp, and the entry it came with (None for a bare timestamp)."""
    if not isinstance(item, dict):
        raise EntryError("expected an entry or a timestamp object")
    if "signed_entry_timestamp" not in item:
        return SignedEntryTimestamp.from_json(item), None
    stamp = item["signed_entry_timestamp"]
    if not isinstance(stamp, dict):
        raise EntryError("expected signed_entry_timestamp as an object",
                         field="signed_entry_timestamp")
    missing = [name for name in _ENTRY_MEMBERS if name not in item]
    if missing:
        raise EntryError(f"the entry lacks {', '.join(missing)}", field=missing[0])
    entry = Entry.from_canonical(canonical_bytes({name: item[name] for name in _ENTRY_MEMBERS}))
    return SignedEntryTimestamp.from_json(stamp), entry
