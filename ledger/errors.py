"""Errors raised by the ledger core.

The hierarchy::

    LedgerError
    ├── ProofError            a Merkle proof, root or leaf does not verify
    ├── CheckpointError       a signed note is malformed or its signature does not verify
    ├── SignatureError        an entry's signature does not verify
    ├── IdentityError         the signing key is unknown, not the enterprise's, or revoked
    ├── EntryError            an entry or statement is malformed
    ├── NotFoundError         no entry / tree size as asked
    ├── ForbiddenError        the caller may not read what it asked for
    ├── WebhookError          a webhook endpoint cannot be registered as asked
    ├── WitnessError          a witness refuses a checkpoint (carries the tlog-witness status)
    ├── EPCISError            an EPCIS 2.0 document or event is malformed (``problems``: each one)
    └── VerificationError     `verify` found a bad seq (carries `seq` and `kind`)

The web layer maps each class to an HTTP status in one place (``web/errors.py``).
"""

from __future__ import annotations

__all__ = [
    "FieldPath",
    "CheckpointError",
    "ConflictError",
    "EPCISError",
    "EntryError",
    "ForbiddenError",
    "IdentityError",
    "LedgerError",
    "NotFoundError",
    "ProofError",
    "SignatureError",
    "VerificationError",
    "WebhookError",
    "WitnessError",
    "render_field",
]

#: where in the input a problem is: ``("payload", "inputs", 0, "lot")``
FieldPath = tuple[str | int, ...]


def render_field(path: FieldPath | None) -> str | None:
    """The one written form of a field path: ``payload.inputs[0].lot`` (None stays None)."""
    if not path:
        return None
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class LedgerError(Exception):
    """Base of every error the ledger core raises.

    ``code`` is a stable machine-readable identifier; ``field`` is the path of the input field
    at fault when there is one (a bare name stands for a path of one part), written out by
    :func:`render_field`.
    """

    code = "ledger_error"
    #: position of the offending item when the error comes from a batch
    item: int | None = None

    def __init__(self, message: str, *, field: FieldPath | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field: FieldPath | None = (field,) if isinstance(field, str) else field


class ProofError(LedgerError):
    """A Merkle proof, root or leaf does not verify."""

    code = "invalid_proof"


class CheckpointError(LedgerError):
    """A signed note is malformed or its signature does not verify."""

    code = "invalid_checkpoint"


class SignatureError(LedgerError):
    """An entry's signature does not verify."""

    code = "invalid_signature"


class IdentityError(LedgerError):
    """The signing key is unknown, not the enterprise's, or revoked."""

    code = "identity_rejected"


class EntryError(LedgerError):
    """An entry, a statement or a value in it is malformed."""

    code = "invalid_entry"


class NotFoundError(LedgerError):
    """No entry, tree size or record as asked."""

    code = "not_found"


class WebhookError(LedgerError):
    """A webhook endpoint cannot be registered as asked (its URL is not one to deliver to)."""

    code = "invalid_webhook"


class EPCISError(LedgerError):
    """An EPCIS 2.0 document or event is malformed: not valid against GS1's JSON Schema, or not
    an event at all.

    ``code`` is ``epcis_invalid`` or a finer ``epcis_<keyword>`` (``epcis_required``,
    ``epcis_enum``, ``epcis_format``, ...); ``problems`` lists every problem found, each an
    ``EPCISError`` of its own with its field path, the first being this error's own.
    """

    code = "epcis_invalid"

    def __init__(self, message: str, *, field: FieldPath | str | None = None,
                 code: str | None = None,
                 problems: tuple[EPCISError, ...] = ()) -> None:
        super().__init__(message, field=field)
        if code is not None:
            self.code = code
        self.problems: tuple[EPCISError, ...] = problems or (self,)


class ConflictError(LedgerError):
    """What was asked to be created exists already (an enterprise, a username)."""

    code = "conflict"


class ForbiddenError(LedgerError):
    """The caller may not read what it asked for (another enterprise's lot, say)."""

    code = "forbidden"


class VerificationError(LedgerError):
    """The ledger failed verification; ``seq`` is the first bad entry, ``kind`` what is wrong.

    ``seq`` is None for a problem of no one entry (a saved checkpoint that does not open, an
    operator key that is not the log's).
    """

    code = "verification_failed"

    def __init__(self, seq: int | None, kind: str, message: str) -> None:
        self.seq = seq
        self.kind = kind
        self.detail = message
        super().__init__(f"{self.where}: {kind}: {message}")

    @property
    def where(self) -> str:
        """Where the problem is, for people: ``at seq N``, or ``in a checkpoint``."""
        return "in a checkpoint" if self.seq is None else f"at seq {self.seq}"


class WitnessError(LedgerError):
    """A witness refuses to cosign a checkpoint; ``status`` is the HTTP status the C2SP
    tlog-witness protocol gives the refusal.

    400: the request is malformed; 403: no signature by a key trusted for the log; 404: the
    log is unknown; 409: the old size is not the size the witness last cosigned
    (``known_size``), or the same size with another root (a fork); 422: the consistency proof
    does not verify (a fork, or a bad proof). ``evidence`` holds, for a fork, the checkpoint
    the witness holds, the one submitted and the proof.
    """

    code = "witness_refused"

    def __init__(self, status: int, message: str, *, known_size: int | None = None,
                 evidence: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.known_size = known_size
        self.evidence = evidence
