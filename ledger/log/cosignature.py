"""Witness cosignatures on checkpoints (C2SP tlog-cosignature, ``cosignature/v1``, Ed25519).

A cosignature is one more signature line on the checkpoint note::

    — <witness name> base64(key ID || timestamp || signature)

* key ID: ``SHA-256(name || "\\n" || 0x04 || 32-byte public key)[:4]`` (type 0x04, so a
  witness key can never pass as a note-signing key of type 0x01);
* timestamp: the 8-byte big-endian POSIX time of the cosignature;
* signature: Ed25519 over ``"cosignature/v1\\ntime <timestamp>\\n"`` followed by the whole
  note text of the checkpoint (extension lines included, signature lines not).

It says: at that time, this is the largest tree the witness has seen for the log, and it is
consistent with every tree it saw before. A client that requires ``k`` of its ``n`` trusted
witnesses to have said so about a checkpoint cannot be shown a fork unless ``k`` witnesses
were fooled, and a witness is never fooled twice about one log (see :mod:`.witness`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import CheckpointError
from ledger.log.checkpoint import (
    Checkpoint,
    open_checkpoint,
    parse_checkpoint_text,
    parse_note,
)
from ledger.log.keys import public_key_bytes, verify_signature

__all__ = [
    "COSIGNATURE_TYPE",
    "CosignedCheckpoint",
    "Cosignature",
    "CosignerKey",
    "cosign",
    "find_cosignatures",
    "note_checkpoint",
    "open_cosigned_checkpoint",
    "parse_cosigner_key",
]

#: the verifier-key type byte of an Ed25519 cosignature/v1 key
COSIGNATURE_TYPE = b"\x04"
_SIG_PREFIX = "— "
_MAX_TIMESTAMP = (1 << 63) - 1


@dataclass(frozen=True)
class CosignerKey:
    """A witness as a client trusts it: its name and raw 32-byte Ed25519 public key."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not self.name or "+" in self.name or any(c.isspace() for c in self.name):
            raise CheckpointError(f"expected a witness name without spaces or '+', "
                                  f"got {self.name[:80]!r}")
        if len(self.public_key) != 32:
            raise CheckpointError(f"expected a 32-byte Ed25519 witness key, got "
                                  f"{len(self.public_key)} bytes")

    @classmethod
    def of(cls, name: str, private_key: Ed25519PrivateKey) -> CosignerKey:
        """The public identity of the witness holding ``private_key``."""
        return cls(name, public_key_bytes(private_key))

    @property
    def key_id(self) -> bytes:
        """``SHA-256(name || 0x0A || 0x04 || public key)[:4]``."""
        return hashlib.sha256(self.name.encode() + b"\n" + COSIGNATURE_TYPE
                              + self.public_key).digest()[:4]

    @property
    def vkey(self) -> str:
        """The verifier key ``<name>+<hex key ID>+<base64(0x04 || public key)>``."""
        material = base64.b64encode(COSIGNATURE_TYPE + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"


def parse_cosigner_key(vkey: str) -> CosignerKey:
    """Read a witness verifier key; its key ID must match the name and key it carries."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"expected <name>+<key ID>+<key>, got {vkey[:80]!r}")
    name, key_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"expected base64 key material, got {material[:60]!r}") from None
    if raw[:1] != COSIGNATURE_TYPE:
        raise CheckpointError(f"expected a cosignature/v1 key (type 0x04), got type "
                              f"0x{raw[:1].hex()}")
    key = CosignerKey(name, raw[1:])
    if key.key_id.hex() != key_id:
        raise CheckpointError(f"expected key ID {key.key_id.hex()}, got {key_id[:16]!r}")
    return key


def _signed_message(note_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{note_text}".encode()


def cosign(note_text: str, *, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of the witness ``name`` on a checkpoint
    whose note text (origin, size, root and any extension lines) is ``note_text``."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise CheckpointError(f"expected a timestamp in [0, 2**63), got {timestamp}")
    key = CosignerKey.of(name, private_key)
    signature = private_key.sign(_signed_message(note_text, timestamp))
    blob = key.key_id + timestamp.to_bytes(8, "big") + signature
    return f"{_SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who, when, and the note line that carries it."""

    witness: CosignerKey
    timestamp: int
    line: str


def find_cosignatures(note: str | bytes, witnesses: Sequence[CosignerKey]) -> list[Cosignature]:
    """The valid cosignatures on ``note`` by any of ``witnesses``, one per witness.

    Lines of other keys are ignored, as the spec requires. A line that carries a trusted
    witness's name and key ID but does not verify is refused: CheckpointError, since only a
    forger or a broken witness writes one.
    """
    parsed = parse_note(note)
    by_id = {(w.name, w.key_id): w for w in witnesses}
    found: dict[CosignerKey, Cosignature] = {}
    for name, blob in parsed.signatures:
        witness = by_id.get((name, blob[:4]))
        if witness is None:
            continue
        if len(blob) != 4 + 8 + 64:
            raise CheckpointError(f"cosignature by {witness}: expected 76 bytes, got "
                                  f"{len(blob)}")
        timestamp = int.from_bytes(blob[4:12], "big")
        if timestamp > _MAX_TIMESTAMP or not verify_signature(
                witness.public_key, blob[12:], _signed_message(parsed.text, timestamp)):
            raise CheckpointError(f"cosignature by {witness} does not verify")
        line = f"{_SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"
        found.setdefault(witness, Cosignature(witness, timestamp, line))
    return list(found.values())


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A checkpoint whose log signature verified, with the cosignatures that verified."""

    checkpoint: Checkpoint
    cosignatures: list[Cosignature]


def open_cosigned_checkpoint(note: str | bytes, *, key_name: str, public_key: Ed25519PublicKey,
                             origin: str | None = None, witnesses: Sequence[CosignerKey] = (),
                             min_cosignatures: int = 0) -> CosignedCheckpoint:
    """Verify the log's signature on ``note`` and require ``min_cosignatures`` of the trusted
    ``witnesses`` to have cosigned it (k of n); CheckpointError naming who is missing.

    A witness is its key: the cosigned message does not name the witness, so one key listed
    twice (or under two names) is one witness and its cosignature counts once.
    """
    distinct = list({w.public_key: w for w in reversed(witnesses)}.values())[::-1]
    if min_cosignatures > len(distinct):
        raise CheckpointError(f"{min_cosignatures} cosignatures are required but only "
                              f"{len(distinct)} witnesses are trusted")
    checkpoint = open_checkpoint(note, key_name=key_name, public_key=public_key, origin=origin)
    by_key: dict[bytes, Cosignature] = {}
    for cosignature in find_cosignatures(note, witnesses):
        by_key.setdefault(cosignature.witness.public_key, cosignature)
    cosignatures = list(by_key.values())
    if len(cosignatures) < min_cosignatures:
        missing = ", ".join(str(w) for w in distinct if w.public_key not in by_key)
        raise CheckpointError(
            f"the checkpoint at size {checkpoint.size} has {len(cosignatures)} of the "
            f"{min_cosignatures} witness cosignatures required (missing: {missing})")
    return CosignedCheckpoint(checkpoint, cosignatures)


def note_checkpoint(note: str | bytes) -> Checkpoint:
    """The checkpoint a note's text states, before any signature is checked (to route it)."""
    return parse_checkpoint_text(parse_note(note).text)
