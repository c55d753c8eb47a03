"""What a shopper sees of a code (the public half of the network), pure of Flask.

:func:`lookup_code` answers a parsed code (``scanners.codes.parse_code``) with what anyone may
see: product, category, maker and licence, lot dates, inspections, recall status, and for a
unit code its query count and any counterfeit warning (:mod:`ledger.consumer.lookup`). Unit
codes count their queries in their own table (:mod:`ledger.consumer.models`), not a projection.
:func:`evidence` gives the entries an answer rests on with their inclusion proofs, so a phone
can check them against a signed checkpoint (:mod:`ledger.consumer.evidence`).
"""

from __future__ import annotations

from ledger.consumer.counting import QueryCount, count_query
from ledger.consumer.lookup import (
    DEFAULT_WARNING_THRESHOLD,
    PUBLIC_ENTRY_TYPES,
    CodeQuery,
    Inspection,
    LicenceView,
    Lookup,
    LotView,
    MakerView,
    ParsedCodeLike,
    ProductView,
    QueryView,
    RecallView,
    ShownEntry,
    lookup_code,
)

__all__ = [
    "DEFAULT_WARNING_THRESHOLD",
    "PUBLIC_ENTRY_TYPES",
    "CodeQuery",
    "Inspection",
    "LicenceView",
    "Lookup",
    "LotView",
    "MakerView",
    "ParsedCodeLike",
    "ProductView",
    "QueryCount",
    "QueryView",
    "RecallView",
    "ShownEntry",
    "count_query",
    "lookup_code",
]
