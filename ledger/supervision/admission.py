"""The personality's admission: every supervision record is checked and applied here.

The log hands each entry over after its signature and signer are checked
(:class:`ledger.log.Admission`). The rules for the entry's type (:mod:`.registry`) read the
projections as they stand after every earlier entry, including earlier items of the same
batch, and either refuse it with a :class:`~ledger.supervision.rules.RuleViolation` or let it
through with zero or more notices; then its effects are applied to the projections.
``rebuild`` replays the whole ledger through this very class, which is why the projections
can always be recomputed from the ledger alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger.errors import LedgerError
from ledger.log import replay
from ledger.log.entry import Entry, Statement
from ledger.log.identity import IDENTITY_TYPES
from ledger.supervision.captured import epcis_reference
from ledger.supervision.context import RecordContext, RowCache
from ledger.supervision.models import CREDIT_PROJECTIONS, PROJECTIONS, NoticeRow
from ledger.supervision.reference import ReferenceData, load_reference
from ledger.supervision.registry import BY_NAME
from ledger.supervision.rules import Notice

__all__ = ["RecordAdmission", "clear_projections", "rebuild"]


class RecordAdmission:
    """Admits one batch (or, in ``rebuild``, the whole ledger chunk by chunk)."""

    def __init__(self, session: Session, reference: ReferenceData | None = None) -> None:
        self.rows = RowCache(session)
        self.reference = reference or load_reference()
        #: the notices the rules attached, by seq
        self.notices: dict[int, list[Notice]] = {}

    def prefetch(self, statements: Sequence[Statement]) -> None:
        """Load the projection rows the batch's rules will read, one query per table."""
        self.rows.prefetch(statements)

    def admit(self, entry: Entry) -> None:
        """Check the rules for ``entry`` against the projections, then apply it to them.

        Raises RuleViolation when a rule refuses it (the caller then rolls the batch back).
        Identity entries are the log's business and pass through.
        """
        if entry.statement.type in IDENTITY_TYPES:
            return
        record_type = BY_NAME.get(entry.statement.type)
        if record_type is None:
            raise LedgerError(f"unknown entry type {entry.statement.type!r}", field="type")
        context = RecordContext(self.rows, entry, self.reference)
        # Rows are built over several statements; a flush half-way would write half a row.
        with self.rows.session.no_autoflush:
            epcis_reference(context)  # a captured EPCIS event is captured once
            record_type.admit(context)
        for notice in context.notices:
            self.rows.add(NoticeRow(seq=entry.seq, code=notice.code, level=notice.level,
                                    field=notice.field, message_zh=notice.message_zh,
                                    message_en=notice.message_en))
        if context.notices:
            self.notices[entry.seq] = context.notices

    def flush(self) -> None:
        """Write the batch's rows and start the next batch with an empty cache."""
        self.rows.flush()
        self.rows.clear()


def clear_projections(session: Session) -> None:
    """Empty every supervision projection, before a rebuild replays the ledger into them."""
    for table in (*reversed(CREDIT_PROJECTIONS), *reversed(PROJECTIONS)):
        session.execute(delete(table))


def rebuild(session: Session, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every projection by replaying the ledger; return the entries replayed.

    Signatures are not re-checked here (that is ``verify``'s job); the rules run exactly as
    they did at append time, against the same reference data.
    """
    clear_projections(session)
    return replay(session, RecordAdmission(session), progress)


