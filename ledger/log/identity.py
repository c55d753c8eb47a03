"""Identity on the ledger: which key may sign for which enterprise, and since when.

Enterprise registration, key registration and key revocation are ordinary entries, so the
answer to "was this key allowed to sign this entry?" is itself tamper-evident. The same
:class:`KeyRing` admits entries at append time (backed by the key projection) and replays the
whole ledger during ``verify`` (backed by nothing but the entries themselves).

Seq 0, the genesis entry, registers the ledger operator's key, signed by itself; the operator
then registers enterprises and their first keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import EntryError, IdentityError, SignatureError
from ledger.log.entry import Entry
from ledger.log.keys import (
    check_public_key,
    key_id_for,
    load_public_key,
    public_key_bytes,
    verify_signature,
)

__all__ = [
    "ENTERPRISE_REGISTERED",
    "IDENTITY_TYPES",
    "KEY_REGISTERED",
    "KEY_REVOKED",
    "OPERATOR",
    "KeyDirectory",
    "KeyRecord",
    "KeyRing",
]

OPERATOR = "operator"
ENTERPRISE_REGISTERED = "enterprise_registered"
KEY_REGISTERED = "key_registered"
KEY_REVOKED = "key_revoked"
IDENTITY_TYPES = frozenset({ENTERPRISE_REGISTERED, KEY_REGISTERED, KEY_REVOKED})


@dataclass
class KeyRecord:
    """A registered key: its owner, and the seqs that registered and (maybe) revoked it."""

    key_id: str
    enterprise: str
    public_key: Ed25519PublicKey
    registered_seq: int
    revoked_seq: int | None = None

    @cached_property
    def raw_public_key(self) -> bytes:
        """The key's 32 raw bytes, what signature checks take (asked once per entry)."""
        return public_key_bytes(self.public_key)


class KeyDirectory(Protocol):
    """Identity state the ring has not seen replayed (the projection tables, at append time)."""

    def find_key(self, key_id: str) -> KeyRecord | None: ...

    def enterprise_known(self, enterprise: str) -> bool: ...


class KeyRing:
    """Admits entries in seq order, checking signature and signing authority."""

    def __init__(self, directory: KeyDirectory | None = None) -> None:
        self._directory = directory
        self._keys: dict[str, KeyRecord] = {}
        self._enterprises: set[str] = set()

    def key(self, key_id: str) -> KeyRecord | None:
        """The key's record as of the entries admitted so far."""
        if key_id not in self._keys and self._directory is not None:
            found = self._directory.find_key(key_id)
            if found is not None:
                self._keys[key_id] = found
        return self._keys.get(key_id)

    def copy(self) -> KeyRing:
        """A ring in this one's state that admits entries without changing this one."""
        ring = KeyRing(self._directory)
        ring._keys, ring._enterprises = dict(self._keys), set(self._enterprises)
        return ring

    def records(self) -> list[KeyRecord]:
        """Every key admitted so far (not those only the directory knows), revoked or not."""
        return list(self._keys.values())

    def enterprise_known(self, enterprise: str) -> bool:
        """Whether the enterprise has been registered by an entry admitted so far."""
        if enterprise in self._enterprises:
            return True
        return self._directory is not None and self._directory.enterprise_known(enterprise)

    def admit(self, entry: Entry, *, verified_with: bytes | None = None) -> None:
        """Check that ``entry`` was signed by a live key of its enterprise, then apply it.

        ``verified_with`` is the raw public key the statement's signature is checked against
        elsewhere (before an append takes the head lock, or in ``verify``'s process pool);
        when the signer turns out to hold that very key, the Ed25519 check is not done twice.

        Raises IdentityError (unknown, foreign or revoked key; not allowed to do this) or
        SignatureError (the signature does not verify). Nothing changes when it raises.
        """
        statement = entry.statement
        signer = self._genesis_key(entry) if entry.seq == 0 else self.key(statement.key_id)
        if signer is None:
            raise IdentityError(f"unknown key {statement.key_id!r}", field="key_id")
        if signer.revoked_seq is not None and signer.revoked_seq < entry.seq:
            raise IdentityError(f"key {signer.key_id} was revoked at seq {signer.revoked_seq}",
                                field="key_id")
        if signer.enterprise != statement.enterprise:
            raise IdentityError(f"key {signer.key_id} belongs to {signer.enterprise}, "
                                f"not {statement.enterprise}", field="key_id")
        signer_key = signer.raw_public_key
        if verified_with != signer_key and not verify_signature(
                signer_key, entry.signature, statement.signing_bytes()):
            raise SignatureError("signature does not verify", field="signature")
        if statement.type == ENTERPRISE_REGISTERED:
            self._register_enterprise(entry)
        elif statement.type == KEY_REGISTERED:
            self._register_key(entry)
        elif statement.type == KEY_REVOKED:
            self._revoke_key(entry)

    def _genesis_key(self, entry: Entry) -> KeyRecord:
        statement = entry.statement
        if statement.type != KEY_REGISTERED or statement.payload.get("enterprise") != OPERATOR:
            raise IdentityError("seq 0 must register the ledger operator's key", field="type")
        public_key = _payload_public_key(statement.payload)
        if statement.key_id != key_id_for(public_key):
            raise IdentityError("seq 0 must be signed by the key it registers", field="key_id")
        return KeyRecord(statement.key_id, OPERATOR, public_key, 0)

    def _register_enterprise(self, entry: Entry) -> None:
        if entry.statement.enterprise != OPERATOR:
            raise IdentityError("only the ledger operator registers enterprises",
                                field="enterprise")
        uscc = _text(entry.statement.payload, "uscc")
        if self.enterprise_known(uscc):
            raise IdentityError(f"enterprise {uscc} is already registered",
                                field=("payload", "uscc"))
        self._enterprises.add(uscc)

    def _register_key(self, entry: Entry) -> None:
        payload = entry.statement.payload
        owner = _text(payload, "enterprise")
        public_key = _payload_public_key(payload)
        key_id = _text(payload, "key_id")
        if key_id != key_id_for(public_key):
            raise IdentityError(f"expected key_id {key_id_for(public_key)} for this public key, "
                                f"got {key_id}", field=("payload", "key_id"))
        if entry.seq > 0:
            if entry.statement.enterprise not in (OPERATOR, owner):
                raise IdentityError(f"{entry.statement.enterprise} may not register keys "
                                    f"for {owner}", field=("payload", "enterprise"))
            if not self.enterprise_known(owner):
                raise IdentityError(f"enterprise {owner} is not registered",
                                    field=("payload", "enterprise"))
            if self.key(key_id) is not None:
                raise IdentityError(f"key {key_id} is already registered",
                                    field=("payload", "key_id"))
        self._keys[key_id] = KeyRecord(key_id, owner, public_key, entry.seq)

    def _revoke_key(self, entry: Entry) -> None:
        key_id = _text(entry.statement.payload, "key_id")
        target = self.key(key_id)
        if target is None:
            raise IdentityError(f"unknown key {key_id!r}", field=("payload", "key_id"))
        if entry.statement.enterprise not in (OPERATOR, target.enterprise):
            raise IdentityError(f"{entry.statement.enterprise} may not revoke keys of "
                                f"{target.enterprise}", field=("payload", "key_id"))
        if target.revoked_seq is not None:
            raise IdentityError(f"key {key_id} was already revoked at seq {target.revoked_seq}",
                                field=("payload", "key_id"))
        self._keys[key_id] = KeyRecord(target.key_id, target.enterprise, target.public_key,
                                       target.registered_seq, entry.seq)


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise EntryError(f"payload.{name} must be a non-empty string", field=("payload", name))
    return value


def _payload_public_key(payload: Mapping[str, Any]) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(_text(payload, "public_key"), validate=True)
    except binascii.Error:
        raise EntryError("payload.public_key must be base64",
                         field=("payload", "public_key")) from None
    check_public_key(raw)
    return load_public_key(raw)
