"""Signed checkpoints: the ledger's tree head as a C2SP signed note.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the note text::

    <origin>
    <tree size, decimal>
    <root hash, base64>

signed as a note (https://c2sp.org/signed-note) with an Ed25519 key: the text, a blank line,
then one or more lines ``— <key name> base64(key hash || signature)``. Following the formats
byte for byte lets stock tooling (Go's ``sumdb/note``, witnesses) check our tree heads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import CheckpointError
from ledger.log.keys import verify_signature

__all__ = [
    "CHECKPOINT_ENTRIES",
    "CHECKPOINT_INTERVAL",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "Checkpoint",
    "SignedNote",
    "key_hash",
    "open_checkpoint",
    "parse_checkpoint_text",
    "parse_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "verifier_key",
]

#: the checkpoint cadence's defaults: at most one signed checkpoint a second, or one per 1,000
#: entries, whichever comes first (``ledger.log.Ledger`` takes others)
CHECKPOINT_INTERVAL = 1.0
CHECKPOINT_ENTRIES = 1000

# The spec asks verifiers to bound the work an untrusted note can cause; Go's sumdb/note accepts
# at most 100 signatures, and no checkpoint of ours comes near a mebibyte.
MAX_NOTE_SIZE = 1 << 20
MAX_SIGNATURES = 100

_ED25519 = b"\x01"  # signed-note signature type byte for Ed25519
_SIG_PREFIX = "— "  # U+2014 EM DASH, space
_HASH_SIZE = 32  # RFC 6962 trees hash with SHA-256
_MAX_TREE_SIZE = 1 << 64  # sizes are uint64 in every other implementation
_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII digits only, no leading zeros
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # the spec bans control characters but newline


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's ``origin``, its ``size`` in leaves and its Merkle ``root_hash``.

    Validated on construction, so every ``Checkpoint`` has a well-formed note body.
    """

    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        # The origin is a line of the note, so it must be one non-empty line of valid UTF-8.
        if (not self.origin or "\n" in self.origin or _CONTROL.search(self.origin)
                or not _is_utf8(self.origin)):
            raise CheckpointError(
                f"expected a non-empty origin without control characters, got {self.origin!r}")
        if not 0 <= self.size < _MAX_TREE_SIZE:
            raise CheckpointError(f"expected a tree size in [0, 2**64), got {self.size}")
        if len(self.root_hash) != _HASH_SIZE:
            raise CheckpointError(
                f"expected a {_HASH_SIZE}-byte root hash, got {len(self.root_hash)} bytes")

    def body(self) -> bytes:
        """The note text that is signed: origin, size and base64 root hash, one per line."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.size}\n{root}\n".encode()


def key_hash(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key ID: ``SHA-256(name || 0x0A || 0x01 || raw public key)[:4]``."""
    _check_key_name(key_name)
    material = key_name.encode() + b"\n" + _ED25519 + public_key.public_bytes_raw()
    return hashlib.sha256(material).digest()[:4]


def verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key string ``<name>+<hex key hash>+<base64(0x01 || public key)>``.

    The same text Go's ``note.NewEd25519VerifierKey`` produces, so it can be handed to a witness.
    """
    material = base64.b64encode(_ED25519 + public_key.public_bytes_raw()).decode()
    return f"{key_name}+{key_hash(key_name, public_key).hex()}+{material}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Split a verifier key string into its key name and Ed25519 public key.

    The embedded key hash must match the one recomputed from name and key, which catches typos
    and keys pasted under the wrong name.
    """
    # Only two '+' separators count: the name has none, but base64 may contain them.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"expected <name>+<key hash>+<key>, got {vkey[:80]!r}")
    name, hash_hex, material = parts
    raw = _b64decode(material, what="verifier key")
    if raw[:1] != _ED25519:
        raise CheckpointError(f"expected signature type 0x01 (Ed25519), got 0x{raw[:1].hex()}")
    if len(raw) != 33:
        raise CheckpointError(f"expected a 32-byte Ed25519 public key, got {len(raw) - 1} bytes")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    expected = key_hash(name, public_key).hex()
    if hash_hex != expected:
        raise CheckpointError(f"expected key hash {expected}, got {hash_hex[:16]!r}")
    return name, public_key


def sign_checkpoint(checkpoint: Checkpoint, *, key_name: str,
                    private_key: Ed25519PrivateKey) -> str:
    """Sign ``checkpoint`` and return the signed note text (body, blank line, signature line)."""
    body = checkpoint.body()
    blob = key_hash(key_name, private_key.public_key()) + private_key.sign(body)
    return f"{body.decode()}\n{_SIG_PREFIX}{key_name} {base64.b64encode(blob).decode()}\n"


def open_checkpoint(note: str | bytes, *, key_name: str, public_key: Ed25519PublicKey,
                    origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note against one trusted key and return its checkpoint.

    Signature lines from other keys (witnesses, rotated keys) are ignored, as the spec requires;
    a line that claims our key but does not verify rejects the whole note. When ``origin`` is
    given, the checkpoint must be for that log.
    """
    checkpoint = _parse_body(_open_note(note, key_name=key_name, public_key=public_key))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"expected origin {origin!r}, got {checkpoint.origin!r}")
    return checkpoint


@dataclass(frozen=True)
class SignedNote:
    """A signed note split, its syntax checked but no signature verified: the ``text`` that
    is signed (ending in its newline) and each signature line as ``(key name, blob)``, the
    blob being the 4-byte key ID and the signature."""

    text: str
    signatures: tuple[tuple[str, bytes], ...]


def parse_note(note: str | bytes) -> SignedNote:
    """Check a signed note's syntax (size, UTF-8, no control characters, a blank line, at most
    :data:`MAX_SIGNATURES` well-formed signature lines) and split it; CheckpointError if not."""
    if isinstance(note, str):
        # A str longer than the limit is over it in UTF-8 too: no need to encode it first.
        if len(note) > MAX_NOTE_SIZE:
            raise CheckpointError(f"expected a note of at most {MAX_NOTE_SIZE} bytes, got more")
        if not _is_utf8(note):
            raise CheckpointError("expected a note of valid UTF-8, got lone surrogates")
        note = note.encode()
    if len(note) > MAX_NOTE_SIZE:
        raise CheckpointError(f"expected a note of at most {MAX_NOTE_SIZE} bytes, "
                              f"got {len(note)}")
    try:
        text = note.decode()
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"expected a note of valid UTF-8, got {exc.reason} at byte "
                              f"{exc.start}") from None
    if bad := _CONTROL.search(text):
        raise CheckpointError(f"expected no control characters, got {bad.group()!r} at "
                              f"offset {bad.start()}")

    # The text may itself hold blank lines; the last one separates it from the signatures.
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("expected a blank line between note text and signatures")
    body, signatures = text[:split + 1], text[split + 2:]
    if not signatures:
        raise CheckpointError("expected at least one signature line, got none")
    if not signatures.endswith("\n"):
        raise CheckpointError("expected the note to end with a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"expected at most {MAX_SIGNATURES} signature lines, "
                              f"got {len(lines)}")
    return SignedNote(body, tuple(_parse_signature_line(line) for line in lines))


def parse_checkpoint_text(text: str) -> Checkpoint:
    """The checkpoint in a note's (already verified) text; extension lines are checked, then
    dropped."""
    return _parse_body(text)


def _open_note(note: str | bytes, *, key_name: str, public_key: Ed25519PublicKey) -> str:
    """Check a signed note's syntax and our key's signature; return the verified text."""
    parsed = parse_note(note)
    body = parsed.text
    ours = key_hash(key_name, public_key)
    verified = False
    for name, blob in parsed.signatures:
        # Only name *and* hash identify a key; a match on one alone is someone else's key.
        if name != key_name or blob[:4] != ours:
            continue
        if len(blob) != 4 + 64:
            raise CheckpointError(f"expected a 64-byte Ed25519 signature, got {len(blob) - 4} "
                                  "bytes")
        if not verify_signature(public_key.public_bytes_raw(), blob[4:], body.encode()):
            raise CheckpointError(f"signature by {key_name}+{ours.hex()} does not verify")
        verified = True
    if not verified:
        raise CheckpointError(f"expected a signature by {key_name}+{ours.hex()}, got none")
    return body


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """Split ``— <name> <base64>`` into name and decoded blob (key hash, then signature)."""
    if not line.startswith(_SIG_PREFIX):
        raise CheckpointError(f"expected a signature line starting with '— ', got {line[:80]!r}")
    name, _, encoded = line[len(_SIG_PREFIX):].partition(" ")
    _check_key_name(name)
    blob = _b64decode(encoded, what="signature")
    if len(blob) < 5:
        raise CheckpointError(f"expected a key hash and a signature, got {len(blob)} bytes")
    return name, blob


def _parse_body(body: str) -> Checkpoint:
    """Parse verified note text as a checkpoint; extension lines are checked, then dropped."""
    lines = body[:-1].split("\n")  # the body always ends with its newline
    if len(lines) < 3:
        raise CheckpointError(f"expected origin, size and root hash lines, got {len(lines)} "
                              "lines")
    origin, size, root, *extensions = lines
    if not _DECIMAL.fullmatch(size):
        raise CheckpointError(f"expected a decimal tree size without leading zeros, "
                              f"got {size[:40]!r}")
    if "" in extensions:
        raise CheckpointError("expected non-empty extension lines, got an empty one")
    return Checkpoint(origin, int(size), _b64decode(root, what="root hash"))


def _b64decode(text: str, *, what: str) -> bytes:
    """Decode standard base64, accepting only the canonical encoding.

    Lenient decoders accept several spellings of the same bytes (stray padding bits); insisting
    on the one canonical form keeps a note's text and its meaning in one-to-one correspondence.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or base64.b64encode(raw).decode() != text:
        raise CheckpointError(f"expected canonical base64 {what}, got {text[:80]!r}")
    return raw


def _check_key_name(name: str) -> None:
    # Spaces and '+' delimit names in signature lines and verifier keys.
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise CheckpointError(f"expected a non-empty key name without spaces or '+', "
                              f"got {name[:80]!r}")


def _is_utf8(text: str) -> bool:
    # A Python str may hold lone surrogates, which have no UTF-8 encoding.
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
