"""``tracenet serialize``: serial numbers and supervision codes for a lot's units, through
the same library call as the API (:func:`ledger.supervision.serials.serialize_lot`), signed
with the maker's custodial key."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ledger.errors import NotFoundError
from ledger.supervision.models import LotRow
from ledger.supervision.serials import MAX_SERIALS, serialize_lot
from schemas.codes import GTINField, LotField
from web.cli.context import with_ledger
from web.cli.terminal import print_json
from web.runtime import Runtime

__all__ = ["serialize"]


@click.command("serialize")
@click.option("--gtin", required=True, help="The lot's GTIN (8, 12, 13 or 14 digits).")
@click.option("--lot", required=True, help="The lot number.")
@click.option("--count", type=click.IntRange(1, MAX_SERIALS), required=True,
              help="How many units to serialise (1 to 100,000).")
@click.option("--as", "enterprise", metavar="USCC",
              help="The enterprise that serialises (its custodial key signs); default: the "
                   "lot's maker, the only one allowed.")
@click.option("--json", "as_json", is_flag=True, help="Print the units as JSON.")
@with_ledger
def serialize(runtime: Runtime, session: Session, gtin: str, lot: str, count: int,
              enterprise: str | None, as_json: bool) -> None:
    """Give COUNT units of a lot random serials and supervision codes (one serialization
    entry); prints one unit a line: serial, supervision code."""
    gtin = GTINField().deserialize(gtin, "gtin")
    lot = LotField().deserialize(lot, "lot")
    if enterprise is None:
        row = session.get(LotRow, (gtin, lot))
        if row is None:
            raise NotFoundError(f"lot {gtin}/{lot} is not on the ledger", field="lot")
        enterprise = row.origin
    done = serialize_lot(session, runtime.ledger, runtime.vault, enterprise=enterprise,
                         gtin=gtin, lot=lot, count=count, code_secret=runtime.code_secret)
    session.commit()
    if as_json:
        print_json({"gtin": done.gtin, "lot": done.lot, "seq": done.seq,
                    "count": len(done.serials),
                    "units": [{"serial": serial, "supervision_code": code}
                              for serial, code in zip(done.serials, done.codes, strict=True)]})
        return
    click.echo(f"serialised {len(done.serials)} units of {done.gtin}/{done.lot} "
               f"(entry seq {done.seq}):", err=True)
    click.echo("\n".join(f"{serial}\t{code}"
                         for serial, code in zip(done.serials, done.codes, strict=True)))
