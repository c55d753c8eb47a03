"""Signed entry timestamps: the operator's promise, given at once, to include an entry.

Checkpoints come at a cadence (one per interval or per so many entries), so an append is
answered before any checkpoint covers it. What it gets straight away is a *signed entry
timestamp*, the counterpart of Certificate Transparency's SCT (RFC 6962 §3.2) and Rekor's
SET: the ledger operator's Ed25519 signature, by the key that signs checkpoints, over ::

    tracenet signed entry timestamp v1
    <origin>
    <seq, decimal>
    <leaf hash, base64>
    <integrated time, RFC 3339 UTC>

each line ending in a newline (0x0A), UTF-8. The integrated time is the entry's
``recorded_at``. The first line separates these bytes from every other message the operator
key signs: a checkpoint note's text starts with the origin, a statement's bytes with
``tracenet statement v1``. A timestamp whose entry later turns out missing, or with another
leaf hash at its seq, in a checkpoint the same key signed, proves the operator broke its word.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import EntryError, SignatureError
from ledger.log.entry import Entry
from ledger.log.keys import key_id_for, public_key_bytes, verify_signature

__all__ = ["TIMESTAMP_CONTEXT", "SignedEntryTimestamp", "sign_entry_timestamp"]

TIMESTAMP_CONTEXT = b"tracenet signed entry timestamp v1\n"
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
_FIELDS = ("origin", "seq", "leaf_hash", "integrated_time", "key_id", "signature")


@dataclass(frozen=True)
class SignedEntryTimestamp:
    """The operator's signed promise that ``leaf_hash`` is the entry at ``seq`` of ``origin``,
    integrated at ``integrated_time``; ``key_id`` names the operator key that signed it."""

    origin: str
    seq: int
    leaf_hash: bytes
    integrated_time: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers (see the module docstring)."""
        return timestamp_bytes(self.origin, self.seq, self.leaf_hash, self.integrated_time)

    def as_json(self) -> dict[str, Any]:
        """The timestamp as the API returns it: hashes and signature in base64."""
        return {"origin": self.origin, "seq": self.seq,
                "leaf_hash": base64.b64encode(self.leaf_hash).decode(),
                "integrated_time": self.integrated_time, "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> SignedEntryTimestamp:
        """Read a timestamp in the API's JSON form; EntryError naming the bad field."""
        for name in _FIELDS:
            if name not in body:
                raise EntryError(f"expected a signed entry timestamp with {name}", field=name)
        seq = body["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise EntryError(f"expected a seq >= 0, got {seq!r}", field="seq")
        texts = {name: body[name] for name in ("origin", "integrated_time", "key_id")}
        for name, value in texts.items():
            if not isinstance(value, str) or not value:
                raise EntryError(f"expected {name} as a non-empty string", field=name)
        return cls(texts["origin"], seq, _b64(body["leaf_hash"], "leaf_hash", 32),
                   texts["integrated_time"], texts["key_id"],
                   _b64(body["signature"], "signature", 64))

    def verify(self, public_key: Ed25519PublicKey, *, origin: str | None = None,
               entry: Entry | None = None) -> None:
        """Check the signature with the operator's public key (and the origin, if given);
        with ``entry``, check that the timestamp is this entry's (seq, leaf hash, time).

        Raises SignatureError when the timestamp was not signed by that key for these exact
        values, EntryError when it is for another log or entry, or malformed.
        """
        if entry is not None:
            for name, ours, theirs in (
                    ("seq", self.seq, entry.seq),
                    ("leaf_hash", self.leaf_hash.hex(), entry.leaf_hash.hex()),
                    ("integrated_time", self.integrated_time, entry.recorded_at)):
                if ours != theirs:
                    raise EntryError(f"the timestamp's {name} is {ours}, the entry's {theirs}",
                                     field=name)
        if origin is not None and self.origin != origin:
            raise EntryError(f"expected origin {origin!r}, got {self.origin!r}", field="origin")
        if self.key_id != key_id_for(public_key):
            raise SignatureError(f"expected a timestamp by key {key_id_for(public_key)}, got "
                                 f"{self.key_id}", field="key_id")
        if not verify_signature(public_key_bytes(public_key), self.signature,
                                self.signed_bytes()):
            raise SignatureError("signature does not verify", field="signature")


def timestamp_bytes(origin: str, seq: int, leaf_hash: bytes, integrated_time: str) -> bytes:
    """The bytes a signed entry timestamp covers; EntryError for values with no such form."""
    if not origin or "\n" in origin:
        raise EntryError(f"expected a one-line origin, got {origin!r}", field="origin")
    if len(leaf_hash) != 32:
        raise EntryError(f"expected a 32-byte leaf hash, got {len(leaf_hash)} bytes",
                         field="leaf_hash")
    if not _TIME.fullmatch(integrated_time):
        raise EntryError(f"expected an RFC 3339 UTC time, got {integrated_time!r}",
                         field="integrated_time")
    leaf = base64.b64encode(leaf_hash).decode()
    return TIMESTAMP_CONTEXT + f"{origin}\n{seq:d}\n{leaf}\n{integrated_time}\n".encode()


def sign_entry_timestamp(*, origin: str, seq: int, leaf_hash: bytes, integrated_time: str,
                         private_key: Ed25519PrivateKey,
                         key_id: str | None = None) -> SignedEntryTimestamp:
    """Sign the promise that ``leaf_hash`` is entry ``seq`` of the log ``origin``.

    ``key_id`` is the private key's ID, if the caller has it at hand (it is derived
    otherwise). Ed25519 signatures are deterministic, so signing the same values again gives
    the same timestamp byte for byte (a replayed response carries the very timestamps first
    sent).
    """
    data = timestamp_bytes(origin, seq, leaf_hash, integrated_time)
    return SignedEntryTimestamp(origin, seq, leaf_hash, integrated_time,
                                key_id or key_id_for(private_key), private_key.sign(data))


def _b64(value: Any, name: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or len(raw) != size:
        raise EntryError(f"expected {name} as base64 of {size} bytes", field=name)
    return raw
