"""Ed25519 keys: identifiers, loading with an explicit key type, signature checks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import EntryError, LedgerError, SignatureError

__all__ = [
    "generate_private_key",
    "key_id_for",
    "load_or_create_private_key",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_bytes",
    "verify_signature",
]


def generate_private_key() -> Ed25519PrivateKey:
    """Return a fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_key_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """Return the 32 raw bytes of a public key (of the private key's public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> str:
    """Return the key ID: the first 8 bytes of SHA-256 over the raw public key, in hex.

    Deriving the ID from the key (rather than letting callers name keys) means one ID can never
    stand for two different keys.
    """
    raw = key if isinstance(key, bytes) else public_key_bytes(key)
    return hashlib.sha256(raw).digest()[:8].hex()


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key; EntryError if it is not one."""
    if len(raw) != 32:
        raise EntryError(f"expected a 32-byte Ed25519 public key, got {len(raw)} bytes",
                         field="public_key")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(*, public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    """Verify an Ed25519 signature; raise SignatureError when it does not hold."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise SignatureError("signature does not verify", field="signature") from None


def load_private_key(pem_or_raw: bytes) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from PKCS#8 PEM or a raw 32-byte seed.

    Any other key type is refused rather than used: every Tracenet key is Ed25519 by contract.
    """
    if len(pem_or_raw) == 32 and not pem_or_raw.startswith(b"-----"):
        return Ed25519PrivateKey.from_private_bytes(pem_or_raw)
    try:
        key = serialization.load_pem_private_key(pem_or_raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # TypeError: an encrypted PEM; a server signer has no password to offer.
        raise LedgerError(f"expected an unencrypted PKCS#8 PEM key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (to write to a 0600 file, or to seal)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Load the Ed25519 key at ``path``, creating it (mode 0600) when the file does not exist.

    Creation is exclusive, so processes starting together all end up with the same key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_private_key(path.read_bytes())
    key = generate_private_key()
    with os.fdopen(descriptor, "wb") as file:
        file.write(private_key_pem(key))
    return key
