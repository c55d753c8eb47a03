"""Importing a spreadsheet as one ledger batch: shared by the console and ``tracenet import``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.errors import LedgerError
from ledger.log import Ledger
from ledger.log.entry import Statement
from ledger.recall import queue_late_notices
from ledger.supervision.submit import Appended, submit
from schemas.spreadsheet import SpreadsheetError, ledger_problem, row_numbers, rows_to_events

__all__ = ["append_events", "import_rows"]


def import_rows(session: Session, ledger: Ledger, vault: KeyVault, enterprise: str,
                record_type: str, rows: Sequence[Mapping[str, str]], *, language: str = "en",
                default_event_time: str | None = None,
                progress: Callable[[int], None] | None = None) -> list[Appended]:
    """Validate every row, then append them all as one batch signed by ``enterprise``'s
    custodial key; the caller commits.

    SpreadsheetError lists every invalid row; a supervision rule that refuses an item of
    the batch is reported the same way, in that item's sheet row (``language`` picks the
    rule's zh-CN or English message), and the batch is not applied.
    """
    events = rows_to_events(record_type, rows, default_event_time=default_event_time,
                            progress=progress)
    return append_events(session, ledger, vault, enterprise, events, row_numbers(rows),
                         language=language)


def append_events(session: Session, ledger: Ledger, vault: KeyVault, enterprise: str,
                  events: Sequence[Mapping[str, Any]], rows: Sequence[int], *,
                  language: str = "en",
                  progress: Callable[[int], None] | None = None) -> list[Appended]:
    """Sign validated events (``rows_to_events``) with ``enterprise``'s custodial key and
    append them as one batch; ``rows`` are their sheet rows, for the error report."""
    batch = [Statement(event["type"], enterprise, "", event["event_time"], event["payload"])
             for event in events]
    try:
        appended = submit(session, ledger, vault, batch)
    except LedgerError as exc:
        if exc.item is None:
            raise
        # Translated here, at the boundary between the ledger's batch and the user's sheet:
        # "item 516 of the batch" means nothing to someone looking at a spreadsheet.
        raise SpreadsheetError([ledger_problem(exc, rows, language=language)]) from exc
    # A late record of goods a recall now covers notifies the holders it adds.
    queue_late_notices(session, ledger.clock(), [item.entry.seq for item in appended])
    if progress is not None:
        progress(len(events))
    return appended
