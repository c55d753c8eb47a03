"""The ``tracenet`` command line (also ``flask --app wsgi ...``)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from marshmallow import ValidationError

from ledger import log
from ledger.accounts.enrolment import enrol_enterprise
from ledger.accounts.roles import ROLES
from ledger.accounts.tokens import issue_token, revoke_token
from ledger.db import migrate
from ledger.errors import LedgerError, ProofError, VerificationError, render_field
from ledger.log import merkle
from ledger.log.checkpoint import open_checkpoint, verifier_key
from ledger.log.entry import Statement
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.keys import (
    key_id_for,
    load_or_create_private_key,
    load_private_key,
    load_public_key,
    public_key_bytes,
)
from ledger.log.verify import verify
from ledger.supervision.admission import rebuild as rebuild_projections
from schemas.events import PAYLOAD_SCHEMAS, EventSchema
from web.db import get_engine, get_ledger, get_session, get_vault

__all__ = ["init_app", "main"]


def init_app(app: Flask) -> None:
    """Register the commands on ``app.cli``."""
    from web import cli_console, cli_demo  # imported here: they use this module's progress_bar

    for command in (init, serve, verify_command, checkpoint, prove, consistency, enterprise,
                    token, rebuild, keygen, sign, *cli_console.COMMANDS, *cli_demo.COMMANDS):
        app.cli.add_command(_reporting_domain_errors(command))


def _reporting_domain_errors(command: click.Command) -> click.Command:
    """Make domain errors a one-line message and exit status 1, not a traceback, in every
    command and subcommand (whether run as ``tracenet`` or ``flask --app wsgi``)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _reporting_domain_errors(sub)
    callback = command.callback
    if callback is None or getattr(callback, "_reports_domain_errors", False):
        return command

    @functools.wraps(callback)
    def reporting(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except LedgerError as exc:
            where = f" ({render_field(exc.field)})" if exc.field else ""
            raise click.ClickException(f"{exc.code}{where}: {exc.message}") from None
        except ValidationError as exc:
            raise click.ClickException(f"invalid input: {exc.messages}") from None

    reporting._reports_domain_errors = True  # type: ignore[attr-defined]
    command.callback = reporting
    return command


def main() -> None:
    """Entry point of the ``tracenet`` console script."""
    from web import create_app

    FlaskGroup(create_app=create_app, add_default_commands=False,
                   help="Tracenet (质监溯源网) ledger and supervision network.")(
        prog_name="tracenet")


@contextmanager
def progress_bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, driven by a callback that reports how many are done."""
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            bar.update(count - done)
            done = count

        yield progress


def _fail(message: str) -> None:
    click.secho(message, err=True, fg="red")
    sys.exit(1)


@click.command()
@with_appcontext
def init() -> None:
    """Create or upgrade the database, the ledger key and the genesis entry."""
    migrate(get_engine())
    session = get_session()
    log.initialise(session, get_ledger())
    session.commit()
    ledger = get_ledger()
    click.echo(f"ledger {ledger.origin} ready: {log.ledger_size(session)} entries, "
               f"operator key {ledger.key_id}")
    click.echo(f"checkpoint verifier key: "
               f"{verifier_key(ledger.origin, ledger.signing_key.public_key())}")


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True)
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn."""
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", bind,  # noqa: S606
                               "--workers", str(workers), "wsgi:app"])


@click.command("verify")
@click.option("--checkpoint", "saved", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint saved earlier; the ledger must still match it.")
@with_appcontext
def verify_command(saved: tuple[str, ...]) -> None:
    """Recompute chain, tree, signatures and checkpoints; exit 1 naming the first bad seq."""
    session = get_session()
    ledger = get_ledger()
    with progress_bar(log.ledger_size(session), "verifying") as progress:
        try:
            report = verify(session, origin=ledger.origin,
                            operator_key=ledger.signing_key.public_key(),
                            saved_checkpoints=[Path(p).read_text() for p in saved],
                            progress=progress)
        except VerificationError as exc:
            _fail(f"FAILED at seq {exc.seq}: {exc.kind}: {exc.detail}")
    click.echo(f"OK: {report.size} entries, root {report.root.hex()}, "
               f"{report.checkpoints} checkpoints match")


@click.command()
@with_appcontext
def rebuild() -> None:
    """Recompute every projection (lots, stock, products …) by replaying the ledger."""
    session = get_session()
    with progress_bar(log.ledger_size(session), "replaying") as progress:
        replayed = rebuild_projections(session, progress)
        progress(replayed)
    session.commit()
    click.echo(f"rebuilt the projections from {replayed} entries")


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the note to this file.")
@with_appcontext
def checkpoint(out: str | None) -> None:
    """Print the latest signed checkpoint (C2SP signed note)."""
    session = get_session()
    note = log.latest_checkpoint(session, get_ledger())
    session.commit()
    if out:
        Path(out).write_text(note)
    click.echo(note, nl=False)


@click.command()
@click.argument("seq", type=int)
@click.option("--size", type=int, help="Tree size (default: current).")
@with_appcontext
def prove(seq: int, size: int | None) -> None:
    """Print the inclusion proof of entry SEQ, after checking it."""
    proof = log.inclusion_proof(get_session(), seq, size)
    merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=proof.seq, size=proof.size,
                            proof=proof.hashes, root=proof.root)
    _print_json({"seq": proof.seq, "size": proof.size, "leaf_hash": proof.leaf_hash.hex(),
                 "root": proof.root.hex(), "proof": [h.hex() for h in proof.hashes]})


@click.command()
@click.argument("old")
@click.argument("new", required=False)
@with_appcontext
def consistency(old: str, new: str | None) -> None:
    """Prove tree OLD is a prefix of tree NEW (default: current).

    OLD and NEW are tree sizes, or files holding signed checkpoints saved earlier; a saved
    checkpoint that the ledger can no longer prove consistent means history was rewritten.
    """
    session = get_session()
    old_size, old_root = _tree_point(old)
    new_size, new_root = _tree_point(new) if new else (log.ledger_size(session), None)
    proof = log.consistency_proof(session, old_size, new_size)
    try:
        merkle.verify_consistency(old_size=old_size, new_size=new_size,
                                  old_root=old_root or proof.old_root,
                                  new_root=new_root or proof.new_root, proof=proof.hashes)
    except ProofError as exc:
        _fail(f"INCONSISTENT: tree {old_size} -> {new_size}: {exc}")
    _print_json({"first": old_size, "second": new_size, "first_root": proof.old_root.hex(),
                 "second_root": proof.new_root.hex(), "proof": [h.hex() for h in proof.hashes]})


def _tree_point(arg: str) -> tuple[int, bytes | None]:
    """A size given as a number, or (size, root) read from a signed checkpoint file."""
    if arg.isdigit():
        return int(arg), None
    ledger = get_ledger()
    checkpoint = open_checkpoint(Path(arg).read_text(), key_name=ledger.origin,
                                 public_key=ledger.signing_key.public_key(), origin=ledger.origin)
    return checkpoint.size, checkpoint.root_hash


@click.group()
def enterprise() -> None:
    """Manage enterprises."""


@enterprise.command("add")
@click.option("--uscc", required=True, help="统一社会信用代码 (18 characters).")
@click.option("--name", required=True)
@click.option("--district", required=True)
@click.option("--role", type=click.Choice(ROLES), default="producer",
              show_default=True)
@click.option("--public-key", help="Base64 raw Ed25519 public key; omit for a custodial key.")
@with_appcontext
def enterprise_add(uscc: str, name: str, district: str, role: str,
                   public_key: str | None) -> None:
    """Register an enterprise and print its API token (shown only this once)."""
    session = get_session()
    ledger = get_ledger()
    registration = PAYLOAD_SCHEMAS[ENTERPRISE_REGISTERED]().load(
        {"uscc": uscc, "name": name, "district": district, "roles": [role]})
    key = load_public_key(_b64decode(public_key)) if public_key else None
    key_id = enrol_enterprise(session, ledger, get_vault(), registration, key)
    token = issue_token(session, uscc, role, log.rfc3339(ledger.clock()))
    session.commit()
    click.echo(f"registered {uscc} ({name}), key {key_id}")
    click.echo(f"API token (shown once): {token}")


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, exists=False),
              help="Where to write the new private key (PKCS#8 PEM, mode 0600).")
def keygen(out: str) -> None:
    """Make an Ed25519 key for client-side signing; prints what to register."""
    if Path(out).exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = load_or_create_private_key(Path(out))
    click.echo(f"key_id: {key_id_for(key)}")
    click.echo(f"public key (register with --public-key): "
               f"{base64.b64encode(public_key_bytes(key)).decode()}")


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
    _print_json(body)


@click.group()
def token() -> None:
    """Issue and revoke API tokens."""


@token.command("add")
@click.option("--enterprise", required=True, help="USCC of a registered enterprise.")
@click.option("--role", type=click.Choice(list(ROLES)), default="producer", show_default=True)
@with_appcontext
def token_add(enterprise: str, role: str) -> None:
    """Issue another API token for an enterprise (shown only this once)."""
    session = get_session()
    issued = issue_token(session, enterprise, role, log.rfc3339(get_ledger().clock()))
    session.commit()
    click.echo(f"API token (shown once): {issued}")


@token.command("revoke")
@click.argument("value")
@with_appcontext
def token_revoke(value: str) -> None:
    """Revoke an API token; it is refused from then on."""
    session = get_session()
    if not revoke_token(session, value, log.rfc3339(get_ledger().clock())):
        _fail("no such token")
    session.commit()
    click.echo("token revoked")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise LedgerError("--public-key must be base64", field="public_key") from None


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
