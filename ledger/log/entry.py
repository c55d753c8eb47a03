"""Statements, which enterprises sign, and entries, which the ledger sequences.

An enterprise signs a *statement* — what it asserts: ``{v, type, enterprise, key_id,
event_time, payload}``. It cannot know its place in the log in advance, so the ledger wraps the
signed statement in an *entry* that adds ``seq``, ``recorded_at`` and ``prev`` (the previous
entry's leaf hash). The entry's canonical bytes are the Merkle leaf, so the signature, the
position and the link are all covered by the tree.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import EntryError
from ledger.log.canonical import canonical_bytes
from ledger.log.merkle import leaf_hash

__all__ = ["ENTRY_VERSION", "GENESIS_PREV", "Entry", "SignedStatement", "Statement"]

ENTRY_VERSION = 1
# Domain separation: a statement signature can never be replayed as a signature over another
# kind of message signed with the same key (a checkpoint note, say).
_SIGNING_CONTEXT = b"tracenet statement v1\n"
GENESIS_PREV = bytes(32)


@dataclass(frozen=True)
class Statement:
    """What an enterprise asserts: the part of an entry its key signs."""

    type: str
    enterprise: str
    key_id: str
    event_time: str
    payload: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The statement as a JSON object (the form that is signed)."""
        return {"v": ENTRY_VERSION, "type": self.type, "enterprise": self.enterprise,
                "key_id": self.key_id, "event_time": self.event_time,
                "payload": dict(self.payload)}

    def signing_bytes(self) -> bytes:
        """The exact bytes an Ed25519 signature over this statement covers."""
        return _SIGNING_CONTEXT + canonical_bytes(self.as_json())

    def sign(self, key: Ed25519PrivateKey) -> SignedStatement:
        """Sign the statement with ``key``."""
        return SignedStatement(self, key.sign(self.signing_bytes()))


@dataclass(frozen=True)
class SignedStatement:
    """A statement with its enterprise's Ed25519 signature, ready to append."""

    statement: Statement
    signature: bytes


@dataclass(frozen=True)
class Entry:
    """One sequenced ledger entry; ``canonical`` is its leaf data, ``leaf_hash`` its tree leaf."""

    seq: int
    statement: Statement
    signature: bytes
    recorded_at: str
    prev: bytes
    canonical: bytes = field(repr=False)
    leaf_hash: bytes = field(repr=False)

    @classmethod
    def create(cls, *, seq: int, signed: SignedStatement, recorded_at: str, prev: bytes) -> Entry:
        """Build an entry and compute its canonical bytes and leaf hash."""
        body = {**signed.statement.as_json(), "seq": seq, "recorded_at": recorded_at,
                "prev": prev.hex(), "signature": base64.b64encode(signed.signature).decode()}
        canonical = canonical_bytes(body)
        return cls(seq, signed.statement, signed.signature, recorded_at, prev, canonical,
                   leaf_hash(canonical))

    @classmethod
    def from_canonical(cls, canonical: bytes) -> Entry:
        """Parse stored canonical bytes; the leaf hash is of the bytes exactly as stored."""
        try:
            body = json.loads(canonical)
            statement = Statement(body["type"], body["enterprise"], body["key_id"],
                                  body["event_time"], body["payload"])
            entry = cls(int(body["seq"]), statement,
                        base64.b64decode(body["signature"], validate=True),
                        body["recorded_at"], bytes.fromhex(body["prev"]), canonical,
                        leaf_hash(canonical))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise EntryError(f"stored entry cannot be parsed: {exc!r}") from None
        if body.get("v") != ENTRY_VERSION:
            raise EntryError(f"expected entry version {ENTRY_VERSION}, got {body.get('v')!r}")
        return entry

    @property
    def signed(self) -> SignedStatement:
        """The signed statement this entry carries."""
        return SignedStatement(self.statement, self.signature)

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON object, with its leaf hash, for APIs and exports."""
        body: dict[str, Any] = json.loads(self.canonical)
        body["leaf_hash"] = self.leaf_hash.hex()
        return body

