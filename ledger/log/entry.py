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
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import EntryError
from ledger.log.canonical import canonical_bytes
from ledger.log.merkle import leaf_hash

__all__ = ["ENTRY_VERSION", "GENESIS_PREV", "Entry", "EntryFields", "SignedStatement",
           "Statement", "entry_fields"]

ENTRY_VERSION = 1
# Domain separation: a statement signature can never be replayed as a signature over another
# kind of message signed with the same key (a checkpoint note, say).
_SIGNING_CONTEXT = b"tracenet statement v1\n"
GENESIS_PREV = bytes(32)
_PLAIN_TIME = re.compile(r"[0-9A-Za-z:.+-]*")


# The bytes Entry.create splices (JCS sorts the entry's members, so the statement's first three
# come first and the four the ledger adds sit between the payload and the statement's tail). A
# JSON string without a backslash or control character is its own UTF-8 bytes.
_SPLICED_HEAD = re.compile(rb'\{"enterprise":"([^"\\\x00-\x1f]*)","event_time":"[^"\\\x00-\x1f]*",'
                           rb'"key_id":"([^"\\\x00-\x1f]*)","payload":')
_SPLICED_TAIL = re.compile(rb',"prev":"([0-9a-f]{64})","recorded_at":"([0-9A-Za-z:.+-]*)",'
                           rb'"seq":(0|[1-9][0-9]{0,17}),"signature":"([A-Za-z0-9+/]{86}==)"'
                           rb'(,"type":"([0-9a-z_]+)","v":1})')
_PREV_MEMBER = b',"prev":"'


@lru_cache(maxsize=64)  # a batch's entries share one time
def _plain_time(recorded_at: str) -> bool:
    return _PLAIN_TIME.fullmatch(recorded_at) is not None


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
        signature = binascii.b2a_base64(signed.signature, newline=False).decode()
        tail = _statement_tail(statement.type)
        # hex, base64 and an RFC 3339 time need no JCS escaping; a caller's odd time does not
        # get spliced, nor a statement whose bytes somehow end otherwise: both take the long way.
        if _plain_time(recorded_at) and statement.canonical.endswith(tail):
            canonical = b"".join((
                memoryview(statement.canonical)[:-len(tail)],
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



class EntryFields(NamedTuple):
    """What checking a stored entry needs of it: its place, its link, who signed what."""

    seq: int
    prev: bytes
    recorded_at: str
    enterprise: str
    key_id: str
    type: str
    signature: bytes
    #: the exact bytes the signature must cover (:meth:`Statement.signing_bytes`)
    signing_bytes: bytes


def entry_fields(canonical: bytes) -> EntryFields:
    """Read stored entry bytes for verification; EntryError when they do not parse.

    Bytes in the form :meth:`Entry.create` writes are read without parsing the payload: the
    statement's bytes are the entry's with the four members the ledger spliced in cut out
    again, which is exactly what the signer signed, so its signature covers them byte for
    byte (a property test holds this equal to :meth:`Entry.from_canonical`). Any other form —
    which the ledger never writes, though a JSON-equal one still verifies — is parsed whole.
    """
    head = _SPLICED_HEAD.match(canonical)
    cut = canonical.rfind(_PREV_MEMBER) if head is not None else -1
    tail = _SPLICED_TAIL.fullmatch(canonical, cut) if head is not None and cut > head.end() \
        else None
    if head is not None and tail is not None:
        try:
            return EntryFields(
                int(tail[3]), binascii.unhexlify(tail[1]), tail[2].decode(), head[1].decode(),
                head[2].decode(), tail[6].decode(), binascii.a2b_base64(tail[4]),
                _SIGNING_CONTEXT + canonical[:cut] + tail[5])
        except UnicodeDecodeError:
            pass  # not UTF-8: the whole parse says why
    entry = Entry.from_canonical(canonical)
    statement = entry.statement
    return EntryFields(entry.seq, entry.prev, entry.recorded_at, statement.enterprise,
                       statement.key_id, statement.type, entry.signature,
                       statement.signing_bytes())
