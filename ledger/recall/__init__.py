"""Recall (缺陷产品召回): deciding what to recall and following it to closure.

A recall is ledger entries from start to end (``recall_initiated``, ``recall_progress``,
``recall_closed``), whose rules and projections live with the other record types in
:mod:`ledger.supervision` (:mod:`~ledger.supervision.recalls`, the levels and their deadlines
in :mod:`~ledger.supervision.recall_levels`). This package decides: it expands a recall's
scope downstream, builds the statements and hands them to ``submit``, queues each holder's
notice in the outbox, and reads recalls back for whoever may see them. It imports no Flask:
the API (``web/api/recalls.py``), the public notices and the CLI (``tracenet recall``) call it.

A recall's id is the seq of its ``recall_initiated`` entry.
"""

from __future__ import annotations

from ledger.recall.scope import Scope, expand_scope
from ledger.recall.service import (
    NOTICE_EVENT,
    StartedRecall,
    close_recall,
    notice_key,
    queue_late_notices,
    queue_notices,
    record_progress,
    start_recall,
)
from ledger.recall.views import (
    DEFAULT_ADVICE,
    FULL,
    HOLDER,
    PUBLIC,
    access,
    list_recalls,
    lot_status,
    public_recalls,
    recall_view,
)

__all__ = [
    "DEFAULT_ADVICE",
    "FULL",
    "HOLDER",
    "NOTICE_EVENT",
    "PUBLIC",
    "Scope",
    "StartedRecall",
    "access",
    "close_recall",
    "expand_scope",
    "list_recalls",
    "lot_status",
    "notice_key",
    "public_recalls",
    "queue_late_notices",
    "queue_notices",
    "recall_view",
    "record_progress",
    "start_recall",
]
