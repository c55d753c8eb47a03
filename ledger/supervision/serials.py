"""Serialising a lot: random serials and supervision codes for its units, recorded with a
``serialization`` entry through the one door, :func:`ledger.supervision.submit.submit`.

Serials are GS1 AI 21 values: 12 characters of a 32-symbol alphabet without the look-alikes
0/O and 1/I (60 random bits from :mod:`secrets`), so a serial cannot be guessed from its
neighbours, and what a person copies off a label survives being read aloud. Each unit also
gets the product's next unit number in a 20-digit supervision code, whose keyed digits only
the holder of the code secret can make.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.errors import EntryError, ForbiddenError, NotFoundError
from ledger.log import Ledger
from ledger.log.entry import Statement
from ledger.log.sequencer import lock_head
from ledger.supervision.models import LotRow, ProductRow
from ledger.supervision.names import SERIALIZATION
from ledger.supervision.quantity import COUNTED_UNITS
from ledger.supervision.queries import Unit, count_lot_units, find_unit, lot_units
from ledger.supervision.recall_levels import CHINA
from ledger.supervision.rules import RuleViolation
from ledger.supervision.submit import Appended, submit
from ledger.supervision.unit_codes import MAX_UNIT, mint

__all__ = ["MAX_SERIALS", "SERIAL_ALPHABET", "SERIAL_LENGTH", "LabelledLot", "SerializedLot",
           "lot_for_labels", "new_serials", "serialize_lot"]

#: digits and capitals without 0/O and 1/I: 32 symbols, 5 bits each, all in GS1's CSET 82
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_LENGTH = 12
#: the most units one serialization entry carries (the payload schema's limit too)
MAX_SERIALS = 100_000


@dataclass(frozen=True)
class SerializedLot:
    """A lot's units just serialised: the entry, and each unit's serial and supervision code
    (in the same order)."""

    appended: Appended
    gtin: str
    lot: str
    serials: tuple[str, ...]
    codes: tuple[str, ...]

    @property
    def seq(self) -> int:
        """The seq of the ``serialization`` entry."""
        return self.appended.entry.seq


def new_serials(count: int) -> list[str]:
    """``count`` distinct random serials of :data:`SERIAL_LENGTH` symbols."""
    base = len(SERIAL_ALPHABET)
    bits = SERIAL_LENGTH * (base.bit_length() - 1)
    serials: dict[str, None] = {}
    while len(serials) < count:
        number = secrets.randbits(bits)
        symbols = []
        for _ in range(SERIAL_LENGTH):
            number, digit = divmod(number, base)
            symbols.append(SERIAL_ALPHABET[digit])
        serials["".join(symbols)] = None
    return list(serials)


def _made_by(session: Session, enterprise: str | None, gtin: str, lot: str, doing: str) -> None:
    """Check that the lot is on the ledger and that ``enterprise`` (None: the operator) made
    it, the only one that ``doing`` (a unit's serial and code are its maker's to give out)."""
    row = session.get(LotRow, (gtin, lot))
    if row is None:
        raise NotFoundError(f"lot {gtin}/{lot} is not on the ledger", field="lot")
    if enterprise is not None and row.origin != enterprise:
        raise ForbiddenError(f"lot {gtin}/{lot} was made by {row.origin}; only its maker "
                             f"{doing}", field="lot")


def serialize_lot(session: Session, ledger: Ledger, vault: KeyVault, *, enterprise: str,
                  gtin: str, lot: str, count: int, code_secret: bytes,
                  event_time: str | None = None) -> SerializedLot:
    """Serialise ``count`` units of the lot ``gtin``/``lot`` as its maker ``enterprise``
    (signed with its custodial key): new serials, and supervision codes with the product's
    next unit numbers keyed by ``code_secret``. The caller commits.

    Raises EntryError for a count outside 1..100,000 (or past the product's last unit
    number) or a lot of bulk goods (kg, L), NotFoundError for a lot not on the ledger,
    ForbiddenError when ``enterprise`` did not make it, and the rules' RuleViolation,
    ``unit.exceeds_lot`` among them for more units than the lot has pieces or cases (nothing
    is appended then).
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SERIALS:
        raise EntryError(f"count must be a whole number from 1 to {MAX_SERIALS:,}, got "
                         f"{count!r}", field="count")
    _made_by(session, enterprise, gtin, lot, "serialises it")
    serials = new_serials(count)
    # The lot's and the product's counts are read under the ledger's head lock, which the
    # append below keeps until the caller commits: two serialisations of one product at once
    # (two gunicorn workers) would otherwise mint the same unit numbers, and one be refused.
    lock_head(session)
    row = session.get(LotRow, (gtin, lot))
    if row is not None and row.unit not in COUNTED_UNITS:
        raise EntryError(f"lot {gtin}/{lot} is measured in {row.unit}: bulk goods have no units "
                         "to serialise", field="lot")
    if (row is not None and row.unit in COUNTED_UNITS
            and row.serialized + count > Decimal(row.quantity)):
        # the rule would refuse the entry too; said here of the request's count
        raise RuleViolation("unit.exceeds_lot", ("count",), gtin=gtin, lot=lot,
                            quantity=row.quantity, unit=row.unit, serialized=row.serialized,
                            count=count)
    product = session.get(ProductRow, gtin)
    if product is None:
        raise NotFoundError(f"GTIN {gtin} is not a registered product", field="gtin")
    first = product.units_issued + 1
    if first + count - 1 > MAX_UNIT:
        raise EntryError(f"product {gtin} has {MAX_UNIT - first + 1:,} unit numbers left, "
                         f"not {count:,}", field="count")
    codes = [mint(code_secret, product.number, unit) for unit in range(first, first + count)]
    moment = event_time or ledger.clock().astimezone(CHINA).isoformat(timespec="seconds")
    statement = Statement(SERIALIZATION, enterprise, "", moment,
                          {"gtin": gtin, "lot": lot, "serials": serials, "codes": codes})
    (appended,) = submit(session, ledger, vault, [statement])
    return SerializedLot(appended, gtin, lot, tuple(serials), tuple(codes))


@dataclass(frozen=True)
class LabelledLot:
    """What a lot's labels print: its product's name, and the units asked for."""

    gtin: str
    lot: str
    product_name: str
    units: tuple[Unit, ...]
    #: how many serial units the lot has in all
    total: int


def lot_for_labels(session: Session, *, enterprise: str | None, gtin: str, lot: str,
                   offset: int = 0, limit: int | None = None,
                   serial: str | None = None) -> LabelledLot:
    """The lot's serial units to print labels for, as its maker ``enterprise`` (None: the
    operator, who may print any): ``limit`` of them from the ``offset``-th in the order they
    were issued, or the one unit ``serial``.

    Raises NotFoundError for a lot (or serial) not on the ledger or a lot never serialised,
    ForbiddenError when ``enterprise`` did not make the lot.
    """
    _made_by(session, enterprise, gtin, lot, "prints its labels")
    product = session.get(ProductRow, gtin)
    name = product.name if product is not None else ""
    total = count_lot_units(session, gtin, lot)
    if serial is not None:
        unit = find_unit(session, gtin=gtin, serial=serial)
        if unit is None or unit.lot != lot:
            raise NotFoundError(f"lot {gtin}/{lot} has no unit with serial {serial!r}",
                                field="serial")
        return LabelledLot(gtin, lot, name, (unit,), total)
    if total == 0:
        raise NotFoundError(f"lot {gtin}/{lot} has no serialised units yet; serialise "
                            "it first", field="lot")
    units = tuple(lot_units(session, gtin, lot, limit=limit, offset=offset))
    if not units:
        raise NotFoundError(f"lot {gtin}/{lot} has {total} units; none from number "
                            f"{offset + 1}", field="first")
    return LabelledLot(gtin, lot, name, units, total)
