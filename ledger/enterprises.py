"""Enrolling enterprises and signing for those who keep a custodial key."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.entry import SignedStatement, Statement
from ledger.errors import IdentityError
from ledger.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED, OPERATOR
from ledger.keys import KeyVault, generate_private_key, key_id_for, public_key_bytes
from ledger.log import Ledger, append
from ledger.models import CustodialKey, KeyRow

__all__ = ["enrol_enterprise", "sign_custodially"]


def enrol_enterprise(session: Session, ledger: Ledger, vault: KeyVault,
                     registration: Mapping[str, Any],
                     public_key: Ed25519PublicKey | None = None) -> str:
    """Register an enterprise and its first key in one batch; return the key ID.

    With no ``public_key`` the server generates a custodial key and keeps it sealed, for
    enterprises that use the web forms rather than signing client side.
    """
    custodial = generate_private_key() if public_key is None else None
    raw = public_key_bytes(custodial if custodial is not None else public_key)  # type: ignore[arg-type]
    key_id = key_id_for(raw)
    uscc = registration["uscc"]
    append(session, ledger, [
        ledger.operator_statement(ENTERPRISE_REGISTERED, registration),
        ledger.operator_statement(KEY_REGISTERED, {"enterprise": uscc, "key_id": key_id,
                                                   "public_key": base64.b64encode(raw).decode()}),
    ])
    if custodial is not None:
        session.add(CustodialKey(key_id=key_id, enterprise=uscc, sealed=vault.seal(custodial)))
    return key_id


def sign_custodially(session: Session, ledger: Ledger, vault: KeyVault,
                     statements: Sequence[Statement]) -> list[SignedStatement]:
    """Sign each statement with its enterprise's live custodial key (the operator's own key
    for operator statements); IdentityError when an enterprise holds none.

    Each enterprise's key is looked up and unsealed once per call, however many of the
    statements it makes: a spreadsheet or an API batch is signed with one lookup.
    """
    keys: dict[str, tuple[str, Ed25519PrivateKey]] = {OPERATOR: (ledger.key_id,
                                                                 ledger.signing_key)}
    signed = []
    for statement in statements:
        if statement.enterprise not in keys:
            keys[statement.enterprise] = _custodial_key(session, vault, statement.enterprise)
        key_id, key = keys[statement.enterprise]
        signed.append(Statement(statement.type, statement.enterprise, key_id,
                                statement.event_time, statement.payload).sign(key))
    return signed


def _custodial_key(session: Session, vault: KeyVault,
                   enterprise: str) -> tuple[str, Ed25519PrivateKey]:
    row = session.execute(
        select(CustodialKey).join(KeyRow, KeyRow.key_id == CustodialKey.key_id)
        .where(CustodialKey.enterprise == enterprise, KeyRow.revoked_seq.is_(None))
        .order_by(KeyRow.registered_seq.desc())).scalars().first()
    if row is None:
        raise IdentityError(f"{enterprise} has no live custodial key; sign the event client "
                            "side and give key_id and signature", field="signature")
    return row.key_id, vault.open(row.sealed)
