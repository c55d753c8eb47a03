"""Errors raised by the ledger core.

The hierarchy::

    LedgerError
    ├── ProofError            a Merkle proof, root or leaf does not verify
    ├── CheckpointError       a signed note is malformed or its signature does not verify
    ├── SignatureError        an entry's signature does not verify
    ├── IdentityError         the signing key is unknown, not the enterprise's, or revoked
    ├── EntryError            an entry or statement is malformed
    ├── NotFoundError         no entry / tree size as asked
    └── VerificationError     `verify` found a bad seq (carries `seq` and `kind`)

The web layer maps each class to an HTTP status in one place (``web/errors.py``).
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "EntryError",
    "IdentityError",
    "LedgerError",
    "NotFoundError",
    "ProofError",
    "SignatureError",
    "VerificationError",
]


class LedgerError(Exception):
    """Base of every error the ledger core raises.

    ``code`` is a stable machine-readable identifier; ``field`` names the input field at fault
    when there is one.
    """

    code = "ledger_error"
    #: position of the offending item when the error comes from a batch
    item: int | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProofError(LedgerError):
    code = "invalid_proof"


class CheckpointError(LedgerError):
    code = "invalid_checkpoint"


class SignatureError(LedgerError):
    code = "invalid_signature"


class IdentityError(LedgerError):
    code = "identity_rejected"


class EntryError(LedgerError):
    code = "invalid_entry"


class NotFoundError(LedgerError):
    code = "not_found"


class VerificationError(LedgerError):
    """The ledger failed verification; ``seq`` is the first bad entry, ``kind`` what is wrong."""

    code = "verification_failed"

    def __init__(self, seq: int, kind: str, message: str) -> None:
        super().__init__(f"seq {seq}: {kind}: {message}")
        self.seq = seq
        self.kind = kind
        self.detail = message
