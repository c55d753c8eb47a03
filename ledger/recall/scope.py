"""A recall's scope: the lots it covers and the enterprises it reaches, computed once, when it
starts, and then stored in the ``recall_initiated`` entry with the ledger size it was computed
at, so that anyone can recompute it.

Named lots alone are the scope when it is not expanded; expanded, the scope is every lot made
from them at any remove, as trace walks the lot graph downstream. The holders are every
enterprise that holds or held goods of the scope's lots: their producers (or, for material,
suppliers), whoever stocks them, and whoever they were shipped to, received yet or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ledger.log import ledger_size
from ledger.supervision.models import LotRow, StockRow
from ledger.supervision.quantity import format_quantity
from ledger.trace import downstream_lots

__all__ = ["LotKey", "Scope", "expand_scope"]

LotKey = tuple[str, str]
_CHUNK = 500


@dataclass(frozen=True)
class Scope:
    """The lots a recall covers and what each holder had of them, at ledger size ``as_of``."""

    as_of: int
    lots: tuple[LotKey, ...]
    #: enterprise -> lot -> (quantity held, the lot's base unit)
    holders: dict[str, dict[LotKey, tuple[Decimal, str]]]

    def payload(self) -> dict[str, object]:
        """The scope as the ``recall_initiated`` entry stores it (``payload.scope``)."""
        return {"as_of": self.as_of,
                "lots": [{"gtin": gtin, "lot": lot} for gtin, lot in self.lots],
                "holders": [{"enterprise": enterprise, "lots": [
                    {"gtin": gtin, "lot": lot, "held": format_quantity(held), "unit": unit}
                    for (gtin, lot), (held, unit) in sorted(holdings.items())]}
                    for enterprise, holdings in sorted(self.holders.items())]}


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def expand_scope(session: Session, named: Sequence[LotKey], *, expand: bool = True) -> Scope:
    """The scope of a recall of the ``named`` lots as the ledger stands now.

    The walk is trace's (:func:`ledger.trace.downstream_lots`), at one ledger size for every
    named lot. With ``expand``, every lot made from them downstream joins the scope; either
    way the holders are every enterprise holding or having held goods of the scope's lots,
    with what each holds now. Raises NotFoundError naming the first named lot that is not on
    the ledger.
    """
    size = ledger_size(session)
    named = list(dict.fromkeys((gtin, lot) for gtin, lot in named))
    order: dict[LotKey, None] = dict.fromkeys(named)
    nodes: set[tuple[str, str, str]] = set()
    for gtin, lot in named:
        reach = downstream_lots(session, gtin, lot, as_of=size)
        if expand:
            order.update(dict.fromkeys((key.gtin, key.lot) for key in reach.lots))
        nodes.update((node.holder, node.gtin, node.lot) for node in reach.holders
                     if (node.gtin, node.lot) in order)
    units = {(row.gtin, row.lot): row.unit for chunk in _chunks(list(order))
             for row in session.scalars(select(LotRow).where(
                 tuple_(LotRow.gtin, LotRow.lot).in_(chunk)))}
    held = {}
    for chunk in _chunks(sorted(nodes)):
        held.update({(row.enterprise, row.gtin, row.lot): Decimal(row.quantity)
                     for row in session.scalars(select(StockRow).where(tuple_(
                         StockRow.enterprise, StockRow.gtin, StockRow.lot).in_(chunk)))})
    holders: dict[str, dict[LotKey, tuple[Decimal, str]]] = {}
    for holder, gtin, lot in sorted(nodes):
        holders.setdefault(holder, {})[(gtin, lot)] = (held.get((holder, gtin, lot),
                                                                Decimal(0)),
                                                       units[(gtin, lot)])
    return Scope(size, tuple(order), holders)
