"""Standards warnings: products and inspections citing withdrawn or to-be-replaced standards,
judged on the day asked, with the replacement and the enterprises concerned."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ledger import log
from ledger.risk.standards import standards_warnings
from tests.ledger.recall.test_recall_rules import enrol
from tests.ledger.supervision.test_rules import (
    DRINK,
    JUICE,
    SEAT,
    inspection,
    intake,
    product,
    production,
)


def test_withdrawn_and_replaced_standards_name_the_replacement_and_who_cites_them(
        session: Session, ledger: log.Ledger) -> None:
    drinks, seats, clean = (enrol(session, ledger, n) for n in (41, 42, 43))
    drinks.ok(product(standard="GB 5749-2006"), intake(), production(),
              inspection(standard="GB 2762-2017"))
    seats.ok(product(gtin=SEAT, category="62", standard="GB 27887-2011", name="座椅",
                     spec="9-36kg"))
    clean.ok(product(gtin=JUICE, standard="GB 7101-2022"))

    found = {item["standard"]: item for item in standards_warnings(session, on=date(2026, 11, 28))}
    assert set(found) == {"GB 5749-2006", "GB 2762-2017", "GB 27887-2011"}
    water = found["GB 5749-2006"]
    assert (water["kind"], water["severity"], water["replaced_by"]) == \
        ("withdrawn", "warning", "GB 5749-2022")
    assert water["replacement_title_zh"] == "生活饮用水卫生标准"
    assert [(e["uscc"], [p["gtin"] for p in e["products"]]) for e in water["enterprises"]] == \
        [(drinks.uscc, [DRINK])]
    contaminants = found["GB 2762-2017"]
    assert [len(e["inspections"]) for e in contaminants["enterprises"]] == [1]
    assert found["GB 27887-2011"]["enterprises"][0]["uscc"] == seats.uscc

    # before GB 27887-2024 took effect, the seat standard was only being replaced
    earlier = {item["standard"]: item for item in
               standards_warnings(session, on=date(2024, 12, 1))}
    assert earlier["GB 27887-2011"]["kind"] == "being_replaced"
    assert earlier["GB 27887-2011"]["effective_from"] == "2025-01-01"
    # a district bureau sees only its enterprises
    assert {item["standard"] for item in standards_warnings(
        session, on=date(2026, 11, 28), within={seats.uscc})} == {"GB 27887-2011"}


def test_the_risk_migration_matches_the_models(session: Session) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import ledger.risk.draws
    import ledger.risk.models  # noqa: F401 - the tables compared
    from ledger.db import Base

    differences = compare_metadata(MigrationContext.configure(session.connection()),
                                   Base.metadata)
    mine = ("spot_check_plans", "spot_check_picks", "spot_check_seeds", "risk_alerts")
    assert [d for d in differences if any(name in repr(d) for name in mine)] == []
