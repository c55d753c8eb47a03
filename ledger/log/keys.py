"""Ed25519 keys: identifiers, loading with an explicit key type, signature checks.

Keys are generated, loaded and sealed with ``cryptography``; signatures are checked with
libsodium (PyNaCl), which verifies in about 60 % of the time OpenSSL takes through
``cryptography`` (38 against 61 µs measured on the bench machine) and is the stricter of the
two. Both accept and reject alike on every Wycheproof Ed25519 vector; where they part
(``tests/ledger/test_signatures.py`` generates the cases), libsodium's answer is ours:

- a public key or an ``R`` of small order (the eight torsion points, in any encoding) is
  refused: with the identity as key, ``R`` the identity and ``S = 0``, OpenSSL accepts the one
  signature for *every* message, so such a key would let its holder deny or reuse anything;
- a non-canonical public key (``y >= p``) is refused;
- ``S`` must be canonical (``S < L``), so a signature has one encoding only (no malleability);
  :func:`verify_signature` checks that itself too, before libsodium does;
- a key or signature of the wrong length is refused rather than raising.

Key registration (:func:`check_public_key`) goes further and admits only points of the
prime-order subgroup, which every honestly generated key is.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nacl.bindings
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError

from ledger.errors import EntryError, LedgerError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "check_public_key",
    "generate_private_key",
    "key_id_for",
    "load_or_create_private_key",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_bytes",
    "verify_signature",
]


PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
#: the order of the Ed25519 base point; a signature's S must be below it (RFC 8032 5.1.7)
_L = 2**252 + 27742317777372353535851937790883648493


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


def check_public_key(raw: bytes) -> None:
    """Refuse a public key that is not a canonical point of the prime-order subgroup.

    Small-order and mixed-order points are never the public half of a generated key; the
    small-order ones are the keys for which OpenSSL accepts one signature on every message.
    Raises EntryError.
    """
    if len(raw) != PUBLIC_KEY_SIZE:
        raise EntryError(f"expected a 32-byte Ed25519 public key, got {len(raw)} bytes",
                         field="public_key")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise EntryError("expected an Ed25519 public key in the prime-order subgroup, got a "
                         "small-order, mixed-order or non-canonical point", field="public_key")


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid, strictly encoded Ed25519 signature of ``message``.

    ``public_key`` is the raw 32-byte key. libsodium's ``crypto_sign_open`` (the attached form
    of ``crypto_sign_verify_detached``, the one PyNaCl exposes) does the check, refusing small-
    order and non-canonical keys and ``R`` values and non-canonical ``S`` (see the module
    docstring); wrong lengths are refused here. Never raises for bad input of the right types.
    """
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True


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
