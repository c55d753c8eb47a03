"""Commands on who may write: enterprises, their API tokens, console accounts.

``tracenet enterprise add --uscc USCC --name N --district D [--role R] [--public-key K]
[--gs1-prefix P ...] [--gln G ...]``, ``tracenet enterprise gs1 --uscc USCC [--gs1-prefix P ...]
[--gln G ...]``
``tracenet token add --enterprise USCC [--role R]`` / ``tracenet token revoke TOKEN``
``tracenet user add --enterprise USCC --username U --password P --role producer``
"""

from __future__ import annotations

import base64
import binascii

import click
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.enrolment import enrol_enterprise
from ledger.accounts.models import UserRow
from ledger.accounts.roles import ROLES
from ledger.accounts.tokens import issue_token, revoke_token
from ledger.accounts.totp import SECOND_FACTOR_ROLES, reset_second_factor
from ledger.accounts.users import create_user
from ledger.errors import LedgerError
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.keys import load_public_key
from ledger.supervision.gs1_registration import gs1_keys_of, register_gs1_keys
from schemas.events import PAYLOAD_SCHEMAS
from web.cli.context import with_ledger
from web.cli.terminal import fail
from web.runtime import Runtime

__all__ = ["enterprise", "token", "user"]


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
@click.option("--gs1-prefix", "prefixes", multiple=True,
              help="A GS1 company prefix the enterprise holds (repeatable).")
@click.option("--gln", "glns", multiple=True,
              help="A GLN of one of its locations or of itself as a party (repeatable).")
@with_ledger
def enterprise_add(runtime: Runtime, session: Session, uscc: str, name: str, district: str,
                   role: str, public_key: str | None, prefixes: tuple[str, ...],
                   glns: tuple[str, ...]) -> None:
    """Register an enterprise and print its API token (shown only this once)."""
    ledger = runtime.ledger
    registration = PAYLOAD_SCHEMAS[ENTERPRISE_REGISTERED]().load(
        {"uscc": uscc, "name": name, "district": district, "roles": [role]})
    key = load_public_key(_b64decode(public_key)) if public_key else None
    key_id = enrol_enterprise(session, ledger, runtime.vault, registration, key)
    if prefixes or glns:
        register_gs1_keys(session, ledger, runtime.vault, uscc, prefixes=prefixes, glns=glns)
    token = issue_token(session, uscc, role, log.rfc3339(ledger.clock()))
    session.commit()
    click.echo(f"registered {uscc} ({name}), key {key_id}")
    if prefixes or glns:
        click.echo(_gs1_line(session, uscc))
    click.echo(f"API token (shown once): {token}")


@enterprise.command("gs1")
@click.option("--uscc", required=True, help="USCC of a registered enterprise.")
@click.option("--gs1-prefix", "prefixes", multiple=True,
              help="A GS1 company prefix the enterprise holds (repeatable).")
@click.option("--gln", "glns", multiple=True,
              help="A GLN of one of its locations or of itself as a party (repeatable).")
@with_ledger
def enterprise_gs1(runtime: Runtime, session: Session, uscc: str, prefixes: tuple[str, ...],
                   glns: tuple[str, ...]) -> None:
    """Add GS1 company prefixes and GLNs to a registered enterprise (for EPCIS capture)."""
    if prefixes or glns:
        register_gs1_keys(session, runtime.ledger, runtime.vault, uscc, prefixes=prefixes,
                          glns=glns)
        session.commit()
    click.echo(_gs1_line(session, uscc))


def _gs1_line(session: Session, uscc: str) -> str:
    keys = gs1_keys_of(session, uscc)
    return (f"GS1 keys of {uscc}: prefixes {', '.join(keys['gs1_prefixes']) or '-'}; "
            f"GLNs {', '.join(keys['glns']) or '-'}")


@click.group()
def token() -> None:
    """Issue and revoke API tokens."""


@token.command("add")
@click.option("--enterprise", required=True, help="USCC of a registered enterprise.")
@click.option("--role", type=click.Choice(list(ROLES)), default="producer", show_default=True)
@with_ledger
def token_add(runtime: Runtime, session: Session, enterprise: str, role: str) -> None:
    """Issue another API token for an enterprise (shown only this once)."""
    issued = issue_token(session, enterprise, role, log.rfc3339(runtime.ledger.clock()))
    session.commit()
    click.echo(f"API token (shown once): {issued}")


@token.command("revoke")
@click.argument("value")
@with_ledger
def token_revoke(runtime: Runtime, session: Session, value: str) -> None:
    """Revoke an API token; it is refused from then on."""
    if not revoke_token(session, value, log.rfc3339(runtime.ledger.clock())):
        fail("no such token")
    session.commit()
    click.echo("token revoked")


@click.group()
def user() -> None:
    """Manage console accounts."""


@user.command("add")
@click.option("--enterprise", required=True,
              help="USCC of the enterprise the account acts for ('operator' for ledger admins).")
@click.option("--username", required=True, help="3-60 characters of A-Z a-z 0-9 . _ @ -")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters; prompted for (not echoed) when omitted.")
@click.option("--role", type=click.Choice(ROLES), default="producer", show_default=True)
@with_ledger
def user_add(runtime: Runtime, session: Session, enterprise: str, username: str,
             password: str, role: str) -> None:
    """Add a console account that signs in at /console and writes as ENTERPRISE."""
    create_user(session, username=username, password=password, enterprise=enterprise,
                role=role)
    session.commit()
    click.echo(f"added console user {username} ({role}) for {enterprise}")
    if role in SECOND_FACTOR_ROLES:
        click.echo("a second factor (TOTP) is required: the first sign-in at /console/login "
                   "shows a QR code to scan with an authenticator app")


@user.command("totp-reset")
@click.option("--username", required=True, help="The account whose second factor is lost.")
@with_ledger
def user_totp_reset(runtime: Runtime, session: Session, username: str) -> None:
    """Forget an account's TOTP second factor (a lost phone): its next sign-in enrols anew."""
    if session.get(UserRow, username) is None:
        raise LedgerError(f"no console user {username!r}", field="username")
    had = reset_second_factor(session, username)
    session.commit()
    click.echo(f"second factor of {username} {'forgotten' if had else 'was not set up'}; "
               "the next sign-in with the password enrols a new one")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise LedgerError("--public-key must be base64", field="public_key") from None
