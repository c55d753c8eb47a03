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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
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
_PLAIN_TIME = re.compile(r"[0-9A-Za-z:.+-]*")


@lru_cache(maxsize=256)  # a few dozen types, appended millions of times
def _statement_tail(type_: str) -> bytes:
    """The last members of a statement's JCS bytes, after its payload: type and version."""
    return b',"type":' + canonical_bytes({"": type_})[4:-1] + b',"v":' + \
        str(ENTRY_VERSION).encode() + b"}"


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

    @cached_property
    def canonical(self) -> bytes:
        """The statement's RFC 8785 canonical bytes (computed once: appending needs them
        twice, for the signature check and inside the entry's own bytes)."""
        return canonical_bytes(self.as_json())

    def signing_bytes(self) -> bytes:
        """The exact bytes an Ed25519 signature over this statement covers."""
        return _SIGNING_CONTEXT + self.canonical

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
        """Build an entry and compute its canonical bytes and leaf hash.

        The entry's members are the statement's plus ``prev``, ``recorded_at``, ``seq`` and
        ``signature``, which sort between ``payload`` and ``type``; so its JCS bytes are the
        statement's, already computed for the signature check, with those four spliced in
        before the fixed tail ``,"type":…,"v":1}`` (a property test holds this equal to
        canonicalising the whole body).
        """
        statement = signed.statement
        signature = base64.b64encode(signed.signature).decode()
        tail = _statement_tail(statement.type)
        # hex, base64 and an RFC 3339 time need no JCS escaping; a caller's odd time does not
        # get spliced, nor a statement whose bytes somehow end otherwise: both take the long way.
        if _PLAIN_TIME.fullmatch(recorded_at) and statement.canonical.endswith(tail):
            canonical = b"".join((
                statement.canonical[:-len(tail)],
                f',"prev":"{prev.hex()}","recorded_at":"{recorded_at}","seq":{seq:d},'
                f'"signature":"{signature}"'.encode(), tail))
        else:
            canonical = canonical_bytes({**statement.as_json(), "seq": seq,
                                         "recorded_at": recorded_at, "prev": prev.hex(),
                                         "signature": signature})
        return cls(seq, statement, signed.signature, recorded_at, prev, canonical,
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

