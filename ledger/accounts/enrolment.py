"""Enrolling an enterprise: its registration and first key on the log, in one batch."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault, keep_custodial_key
from ledger.log import NO_ADMISSION, Ledger, append
from ledger.log.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes

__all__ = ["enrol_enterprise"]


def enrol_enterprise(session: Session, ledger: Ledger, vault: KeyVault,
                     registration: Mapping[str, Any],
                     public_key: Ed25519PublicKey | None = None) -> str:
    """Register an enterprise and its first key in one batch; return the key ID.

    With no ``public_key`` the server generates a custodial key and keeps it sealed, for
    enterprises that use the web forms rather than signing client side.
    """
    custodial = generate_private_key() if public_key is None else None
    raw = public_key_bytes(custodial.public_key() if custodial is not None
                           else public_key)  # type: ignore[arg-type]
    key_id = key_id_for(raw)
    uscc = registration["uscc"]
    append(session, ledger, [
        ledger.operator_statement(ENTERPRISE_REGISTERED, registration),
        ledger.operator_statement(KEY_REGISTERED, {"enterprise": uscc, "key_id": key_id,
                                                   "public_key": base64.b64encode(raw).decode()}),
    ], NO_ADMISSION)  # identity entries only: the log's own business
    if custodial is not None:
        keep_custodial_key(session, vault, uscc, key_id, custodial)
    return key_id
