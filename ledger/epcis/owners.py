"""Whose is an EPCIS event: enterprises' GS1 company prefixes and GLNs, registered on the
ledger (``gs1_keys_registered``) and looked up by location, party or product.

Registering them: :func:`ledger.supervision.gs1_registration.register_gs1_keys`. A GLN
registered as such belongs to its enterprise; otherwise the enterprise whose company prefix
begins the GLN (or, for a GTIN, the digits after its indicator digit) owns it, the
longest prefix winning. SGLN and PGLN URIs and GS1 Digital Link forms are all read through
:func:`ledger.epcis.identifiers.canonical_gs1_uri`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.log.storage import EnterpriseRow
from ledger.supervision.context import unit_code
from ledger.supervision.gs1 import GLN
from ledger.supervision.models import EnterpriseGs1KeyRow, LotRow, ProductRow, UnitRow

__all__ = ["LedgerDirectory"]


class LedgerDirectory:
    """What a capture asks the ledger about locations, products, lots and units, as it
    stands before the capture (the capture itself tracks what its own events add)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._glns: dict[str, str] = {}
        self._prefixes: dict[str, str] = {}
        for row in session.scalars(select(EnterpriseGs1KeyRow)):
            (self._glns if row.kind == GLN else self._prefixes)[row.value] = row.enterprise
        self._products: dict[str, bool] = {}
        self._names: dict[str, str | None] = {}

    def owner_of_gln(self, gln: str) -> str | None:
        """The enterprise that holds a GLN (13 digits): by the GLN itself, else by the
        longest company prefix that begins it."""
        if gln in self._glns:
            return self._glns[gln]
        return self._by_prefix(gln)

    def owner_of_gtin(self, gtin: str) -> str | None:
        """The enterprise whose company prefix a GTIN-14 is under (after its indicator)."""
        return self._by_prefix(gtin[1:])

    def _by_prefix(self, digits: str) -> str | None:
        for length in range(min(12, len(digits)), 5, -1):
            owner = self._prefixes.get(digits[:length])
            if owner is not None:
                return owner
        return None

    def enterprise_name(self, uscc: str) -> str | None:
        """The registered name of an enterprise, or None when it is not registered."""
        if uscc not in self._names:
            row = self.session.get(EnterpriseRow, uscc)
            self._names[uscc] = row.name if row is not None else None
        return self._names[uscc]

    def product_known(self, gtin: str) -> bool:
        """Whether the GTIN is a registered product."""
        if gtin not in self._products:
            self._products[gtin] = self.session.get(ProductRow, gtin) is not None
        return self._products[gtin]

    def lot_known(self, gtin: str, lot: str) -> bool:
        """Whether the lot is on the ledger."""
        return self.session.get(LotRow, (gtin, lot)) is not None

    def unit_lot(self, gtin: str, serial: str) -> str | None:
        """The lot of a serialised unit, or None when the unit code is not on the ledger."""
        row = self.session.get(UnitRow, unit_code(gtin, serial))
        return row.lot if row is not None else None
