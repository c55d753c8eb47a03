"""Corrections: a new entry that supersedes an earlier record of the same enterprise.

The ledger is append-only, so a mistake is fixed by a ``correction`` naming the seq it
supersedes and carrying the replacement payload; each correctable record type says how its
effects are replaced (:attr:`ledger.supervision.registry.RecordType.correct`). Types without
one need a compensating entry instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ledger.errors import LedgerError
from ledger.supervision.context import RecordContext
from ledger.supervision.models import LotEdgeRow, RecordRow
from ledger.supervision.rules import RuleViolation

__all__ = ["Corrector", "correction"]

#: replaces the effects of ``target`` with those of the context's replacement payload
Corrector = Callable[[RecordContext, RecordRow], None]


def correction(a: RecordContext, *, correctors: Mapping[str, Corrector]) -> None:
    """Supersede the record at ``payload.seq`` with ``payload.replacement``."""
    target_seq = a.payload.get("seq")
    target = a.rows.get(RecordRow, target_seq) if isinstance(target_seq, int) else None
    if target is None:
        raise RuleViolation("correction.unknown", a.field("seq"), target=target_seq)
    if target.enterprise != a.enterprise:
        raise RuleViolation("correction.not_own", a.field("seq"))
    if target.superseded_by is not None:
        raise RuleViolation("correction.superseded", a.field("seq"), target=target.seq,
                            by=target.superseded_by)
    correct = correctors.get(target.type)
    if correct is None:
        raise RuleViolation("correction.unsupported", a.field("seq"), type=target.type)
    replacement = a.payload.get("replacement")
    if not isinstance(replacement, Mapping):
        raise LedgerError("payload.replacement must be an object",
                          field=a.field("replacement"))
    corrected = a.corrected_as(target.type, replacement)
    correct(corrected, target)
    a.notices.extend(corrected.notices)
    target.superseded_by = a.entry.seq
    # The corrected record's lot-graph edge goes with it (the replacement made its own), so
    # the graph is re-routed exactly as the stock was.
    edge = a.rows.get(LotEdgeRow, (target.seq, 0))
    if edge is not None:
        edge.superseded_by = a.entry.seq
    # The replacement made its record under the corrected type, so it can be corrected in turn.
    replaced = a.rows.get(RecordRow, a.entry.seq)
    assert replaced is not None  # noqa: S101 - every corrector records the replacement
    replaced.corrects = target.seq
