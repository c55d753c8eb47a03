"""Serialising a lot and printing its labels (``make bench``; results in docs/BENCHMARKS.md).

On a fresh SQLite ledger with one custodial producer and a lot of 100,000 pieces:

- S1: ``serialize_lot`` of 100,000 units (serials, supervision codes minted with the code
  secret, the ``serialization`` entry signed and appended through every rule, the commit),
  against a limit of 30 s: what "large N in reasonable time" means here;
- S2: the same ÷ appending a ``serialization`` of 100,000 serials alone (no codes, serials
  made the same way) in the same run: what the codes add. Each unit's share of the entry grows
  from a 12-character serial to that and a 20-digit code (2.7 times the bytes to encode, hash,
  sign and store), and each code is minted (an HMAC) and checked, so the target is 2.5;
- S3: an A4 sheet of 1,000 labels (the most one document holds) ÷ 60 s.

``--quick`` serialises 10,000 and prints 100 labels.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ledger import Figure, cpu_model, heading, load_average, report  # noqa: E402
from ledger import log  # noqa: E402
from ledger.accounts.custodial import KeyVault  # noqa: E402
from ledger.accounts.enrolment import enrol_enterprise  # noqa: E402
from ledger.db import create_ledger_engine, migrate  # noqa: E402
from ledger.log.entry import Statement  # noqa: E402
from ledger.log.keys import generate_private_key  # noqa: E402
from ledger.supervision import names  # noqa: E402
from ledger.supervision.queries import lot_units  # noqa: E402
from ledger.supervision.serials import new_serials, serialize_lot  # noqa: E402
from ledger.supervision.submit import submit  # noqa: E402
from scanners.labels import UnitLabel, label_sheet_pdf  # noqa: E402

MAKER = "91350100MA0000001P"
GTIN = "06901234567915"
DAY = "2026-11-26T08:00:00+08:00"
VAULT = KeyVault("bench")


def ledger_with_lots(path: Path, count: int) -> tuple[Engine, log.Ledger]:
    """A migrated ledger with the maker, its product and lots A and B of ``count`` pieces."""
    engine = create_ledger_engine(f"sqlite:///{path}")
    migrate(engine)
    ledger = log.Ledger("bench.tracenet/serials", generate_private_key())
    with Session(engine) as session:
        log.initialise(session, ledger)
        enrol_enterprise(session, ledger, VAULT, {"uscc": MAKER, "name": "安途", "roles":
                                                  ["producer"], "district": "厦门市"})
        records = [(names.PRODUCT_REGISTERED, {"gtin": GTIN, "name": "儿童安全座椅",
                                               "category": "62", "standard": "GB 27887-2024",
                                               "spec": "ISOFIX"})]
        records += [(names.PRODUCTION, {"gtin": GTIN, "lot": lot, "quantity": str(count),
                                        "unit": "pcs", "inputs": []}) for lot in ("A", "B")]
        submit(session, ledger, VAULT, [Statement(t, MAKER, "", DAY, p) for t, p in records])
        session.commit()
    return engine, ledger


@click.command()
@click.option("--quick", is_flag=True, help="10,000 units and 100 labels.")
def main(quick: bool) -> None:
    count, labels = (10_000, 100) if quick else (100_000, 1000)
    heading(f"Serialising {count:,} units and printing {labels:,} labels "
            f"({cpu_model()}, load {load_average()})")
    with tempfile.TemporaryDirectory() as workdir:
        engine, ledger = ledger_with_lots(Path(workdir) / "ledger.db", count)
        with Session(engine) as session:
            started = time.perf_counter()
            serials = new_serials(count)
            submit(session, ledger, VAULT, [Statement(names.SERIALIZATION, MAKER, "", DAY, {
                "gtin": GTIN, "lot": "B", "serials": serials})])
            session.commit()
            bare = time.perf_counter() - started
            started = time.perf_counter()
            serialize_lot(session, ledger, VAULT, enterprise=MAKER, gtin=GTIN, lot="A",
                          count=count, code_secret=b"bench code secret")
            session.commit()
            coded = time.perf_counter() - started
            units = lot_units(session, GTIN, "A", limit=labels)
        started = time.perf_counter()
        pdf = label_sheet_pdf([UnitLabel(u.gtin, u.lot, u.serial, u.supervision_code,
                                         "儿童安全座椅") for u in units],
                              base="https://tracenet.example")
        sheet = time.perf_counter() - started
        engine.dispose()
    report(Figure(f"S1 serialize_lot of {count:,} units ÷ 30 s", coded / 30, 1, False,
                  f"{coded:.2f} s, {coded / count * 1e6:.0f} µs a unit"))
    report(Figure("S2 the same ÷ a serialization of the same number of serials alone",
                  coded / bare, 2.5, False, f"{coded:.2f} s against {bare:.2f} s"))
    report(Figure(f"S3 an A4 sheet of {labels:,} labels ÷ 60 s", sheet / 60, 1, False,
                  f"{sheet:.2f} s, {sheet / labels * 1e3:.1f} ms a label, "
                  f"{len(pdf) / 1e6:.1f} MB"))


if __name__ == "__main__":
    main()
