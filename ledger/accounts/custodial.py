"""Custodial keys: private keys the server holds for enterprises that sign through it.

Enterprises normally sign client side and register only a public key. Web-form users get a
*custodial* key instead: the server keeps the private key, encrypted at rest with a key derived
from ``TRACENET_SECRET_KEY``, so a stolen database alone signs nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.models import CustodialKey
from ledger.errors import IdentityError, LedgerError
from ledger.log import Ledger
from ledger.log.entry import SignedStatement, Statement
from ledger.log.identity import OPERATOR
from ledger.log.keys import load_private_key, private_key_pem
from ledger.log.storage import KeyRow

__all__ = ["KeyVault", "keep_custodial_key", "sign_custodially"]


class KeyVault:
    """Encrypts custodial private keys with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise LedgerError("a non-empty secret is needed to keep custodial keys")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"tracenet custodial keys v1").derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, key: Ed25519PrivateKey) -> bytes:
        """Return the encrypted form of a private key, for storage."""
        return self._fernet.encrypt(private_key_pem(key))

    def open(self, sealed: bytes) -> Ed25519PrivateKey:
        """Decrypt a stored private key; LedgerError when another secret sealed it."""
        try:
            return load_private_key(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise LedgerError("custodial key cannot be opened with this secret key") from None


def keep_custodial_key(session: Session, vault: KeyVault, enterprise: str, key_id: str,
                       key: Ed25519PrivateKey) -> None:
    """Keep ``key`` (registered as ``key_id``) sealed for ``enterprise``."""
    session.add(CustodialKey(key_id=key_id, enterprise=enterprise, sealed=vault.seal(key)))


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
