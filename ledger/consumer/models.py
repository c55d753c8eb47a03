"""The query counters of unit codes: how often, and since when, a code was looked up.

Not a projection: nothing on the ledger says how often a shopper scanned a package, so
``tracenet rebuild`` leaves this table alone (it is not in
:data:`ledger.supervision.models.PROJECTIONS`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = ["UnitQueryRow"]


class UnitQueryRow(Base):
    """One unit code's query counter.

    ``code`` is the issued unit's code (``(01)GTIN(21)serial``, whichever form was scanned:
    its GS1 code and its supervision code count together), or, for a code never issued, the
    code as queried, so that a counterfeit code in circulation shows up as queried too.
    """

    __tablename__ = "unit_queries"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    #: RFC 3339 UTC moments of the first and the latest query
    first_at: Mapped[str] = mapped_column(String(40))
    last_at: Mapped[str] = mapped_column(String(40))
