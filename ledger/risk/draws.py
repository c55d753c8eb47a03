"""Spot-check draws (双随机抽查): who may be drawn and with what weight, the plan that publishes
that frame with a commitment to the seed, the draw that reveals the seed, and the results.

The weight of an enterprise is ``grade factor x risk factor x (2 + recent failures, at most
4)``: grade factors A 1 (past its exemption), B 2, C 4, D 8 (:data:`grades.GRADE_FACTORS`;
an A within its 信用免检 period is left out of the frame and listed as exempt); the risk factor
is that of the riskiest category the enterprise makes (high 3, medium 2, low 1,
:mod:`ledger.risk.classes`); recent failures are its lots' failed inspections in the
look-back period (a year). A lot's weight within its enterprise is its category's risk factor
x (2 + its product's failures, at most 4). Weights are integers, so the draw is exact
arithmetic and anyone re-runs it from the entries (:mod:`ledger.supervision.sampling`).

Two entries make a draw: ``spot_check_plan`` (the frame and ``sha256(seed)``), appended and
committed first, then ``spot_check_draw`` (the seed and the selection), which the ledger's
rule refuses unless the selection is exactly what the seed draws. Between the two the seed
waits in ``spot_check_seeds``, readable by the bureau's server alone, not published.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.accounts.custodial import KeyVault
from ledger.db import Base
from ledger.errors import LedgerError, NotFoundError
from ledger.log import Ledger
from ledger.log.entry import Entry, Statement
from ledger.log.storage import EnterpriseRow, EntryRow, LedgerHead
from ledger.risk.classes import FACTORS, category_risk
from ledger.risk.grades import GRADE_FACTORS, standings
from ledger.supervision.models import (
    LotRow,
    ProductRow,
    RecordRow,
    SpotCheckPickRow,
    SpotCheckPlanRow,
)
from ledger.supervision.names import INSPECTION, SPOT_CHECK_DRAW, SPOT_CHECK_PLAN
from ledger.supervision.recall_levels import CHINA, parse_moment
from ledger.supervision.sampling import FrameEnterprise, commitment, draw
from ledger.supervision.spot_checks import read_frame
from ledger.supervision.submit import submit

__all__ = [
    "FAILURE_CAP",
    "LOOKBACK",
    "MAX_LOTS",
    "Frame",
    "Plan",
    "SpotCheckSeedRow",
    "build_frame",
    "draw_spot_check",
    "plan_details",
    "plan_spot_check",
    "public_results",
    "reproduce_draw",
]

#: how far back failures count and lots may be drawn
LOOKBACK = timedelta(days=365)
#: failures beyond this many add no more weight (one bad year should not make a certainty)
FAILURE_CAP = 4
#: the newest lots of an enterprise its frame lists
MAX_LOTS = 50
_PRODUCER = "producer"


class SpotCheckSeedRow(Base):
    """A plan's seed between the plan and the draw (then it is on the ledger anyway)."""

    __tablename__ = "spot_check_seeds"

    plan: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seed: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Frame:
    """Who may be drawn (``units``, in the plan payload's form) and who is exempt."""

    as_of: int
    at: datetime
    units: list[dict[str, Any]]
    exempt: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The ``frame`` member of a plan's payload."""
        return {"as_of": self.as_of, "at": self.at.isoformat(timespec="seconds"),
                "enterprises": self.units}


@dataclass(frozen=True)
class Plan:
    """A published plan: its seq, the seed kept for its draw, and its frame."""

    seq: int
    seed: bytes
    frame: Frame


def _ledger_size(session: Session) -> int:
    head = session.get(LedgerHead, 1)
    if head is not None:
        return head.size
    return int(session.scalar(select(func.count()).select_from(EntryRow)) or 0)


def _within(text: str | None, start: datetime, end: datetime) -> bool:
    if not text:
        return False
    try:
        moment = parse_moment(text)
    except ValueError:
        return False
    return start <= moment <= end


def _failures(session: Session, start: datetime, end: datetime
              ) -> tuple[dict[str, int], dict[str, int]]:
    """Failed inspections in ``[start, end]``: by the lot's producer and by GTIN."""
    by_enterprise: dict[str, int] = {}
    by_gtin: dict[str, int] = {}
    query = (select(RecordRow.event_time, LotRow.origin, LotRow.gtin)
             .join(LotRow, (LotRow.gtin == RecordRow.gtin) & (LotRow.lot == RecordRow.lot))
             .where(RecordRow.type == INSPECTION, RecordRow.verdict == "fail",
                    RecordRow.superseded_by.is_(None)))
    for when, origin, gtin in session.execute(query):
        if _within(when, start, end):
            by_enterprise[origin] = by_enterprise.get(origin, 0) + 1
            by_gtin[gtin] = by_gtin.get(gtin, 0) + 1
    return by_enterprise, by_gtin


def build_frame(session: Session, *, at: datetime, district: str | None = None,
                categories: Sequence[str] | None = None,
                within: Iterable[str] | None = None, max_lots: int = MAX_LOTS) -> Frame:
    """The frame of a draw at ``at``: every producer (in ``district``, among ``within`` when
    given) that registered a product (of ``categories`` when given), weighted as the module
    says, with its lots made in the look-back period and not expired; A-graded enterprises
    within their exemption are listed apart as exempt. Sorted by USCC, so equal inputs give
    an equal frame."""
    wanted = set(categories) if categories else None
    allowed = set(within) if within is not None else None
    start = at - LOOKBACK
    grades = standings(session)
    failures, gtin_failures = _failures(session, start, at)
    products: dict[str, list[ProductRow]] = {}
    for product in session.scalars(select(ProductRow).order_by(ProductRow.gtin)):
        if wanted is None or product.category in wanted:
            products.setdefault(product.enterprise, []).append(product)
    query = select(EnterpriseRow).order_by(EnterpriseRow.uscc)
    if district:  # a district, or a city or province that contains districts
        query = query.where(EnterpriseRow.district.startswith(district, autoescape=True))
    units: list[dict[str, Any]] = []
    exempt: list[dict[str, Any]] = []
    for enterprise in session.scalars(query):
        if _PRODUCER not in enterprise.roles.split(",") or enterprise.uscc not in products:
            continue
        if allowed is not None and enterprise.uscc not in allowed:
            continue
        standing = grades.get(enterprise.uscc)
        grade = standing.grade if standing is not None else "B"
        if standing is not None and standing.exempt_at(at):
            until = standing.exempt_until
            exempt.append({"uscc": enterprise.uscc,
                           "until": until.isoformat(timespec="seconds") if until else None})
            continue
        made = products[enterprise.uscc]
        risk = max((category_risk(p.category) for p in made), key=lambda c: FACTORS[c])
        failed = failures.get(enterprise.uscc, 0)
        weight = GRADE_FACTORS.get(grade, GRADE_FACTORS["B"]) * FACTORS[risk] * (
            2 + min(failed, FAILURE_CAP))
        categories_of = {p.gtin: p.category for p in made}
        made_lots = list(session.scalars(select(LotRow).where(
            LotRow.origin == enterprise.uscc, LotRow.gtin.in_(list(categories_of)))))
        # A lot that entered the ledger by another's intake (raw milk from a ranch) has no
        # production time: the intake's time stands for it.
        undated = [lot.origin_seq for lot in made_lots if not lot.produced_at]
        entered = dict(session.execute(select(RecordRow.seq, RecordRow.event_time).where(
            RecordRow.seq.in_(undated)))) if undated else {}
        lots = [lot for lot in made_lots
                if _within(lot.produced_at or entered.get(lot.origin_seq), start, at)
                and not (lot.expiry and _expired(lot.expiry, at))]
        lots.sort(key=lambda lot: (lot.produced_at or entered.get(lot.origin_seq) or "",
                                   lot.gtin, lot.lot), reverse=True)
        units.append({
            "uscc": enterprise.uscc, "weight": weight, "grade": grade, "risk_class": risk,
            "failures": failed,
            "lots": [{"gtin": lot.gtin, "lot": lot.lot,
                      "weight": FACTORS[category_risk(categories_of[lot.gtin])] * (
                          2 + min(gtin_failures.get(lot.gtin, 0), FAILURE_CAP))}
                     for lot in sorted(lots[:max_lots], key=lambda lot: (lot.gtin, lot.lot))]})
    return Frame(_ledger_size(session), at, units, exempt)


def _expired(expiry: str, at: datetime) -> bool:
    try:
        if len(expiry) == 10:
            return datetime.fromisoformat(expiry).date() < at.date()
        return parse_moment(expiry) < at
    except ValueError:
        return False


def _now(ledger: Ledger) -> datetime:
    return ledger.clock().astimezone(CHINA).replace(microsecond=0)


def plan_spot_check(session: Session, ledger: Ledger, vault: KeyVault, *, regulator: str,
                    title: str, enterprises: int, lots_per_enterprise: int = 1,
                    district: str | None = None, categories: Sequence[str] | None = None,
                    within: Iterable[str] | None = None, seed: bytes | None = None) -> Plan:
    """Publish a plan as ``regulator``: the frame as it stands now and the commitment to a
    fresh 32-byte seed (or ``seed``), kept for the draw. The caller commits; the draw must
    come in a later transaction (the rule refuses a draw in the plan's own batch)."""
    seed = seed if seed is not None else secrets.token_bytes(32)
    if len(seed) != 32:
        raise LedgerError("a spot-check seed is 32 bytes", field=("seed",))
    at = _now(ledger)
    frame = build_frame(session, at=at, district=district, categories=categories,
                        within=within)
    payload: dict[str, Any] = {
        "title": title, "district": district or None,
        "categories": list(categories) if categories else None,
        "enterprises": enterprises, "lots_per_enterprise": lots_per_enterprise,
        "commitment": commitment(seed), "frame": frame.payload(), "exempt": frame.exempt}
    statement = Statement(SPOT_CHECK_PLAN, regulator, "", at.isoformat(timespec="seconds"),
                          payload)
    (appended,) = submit(session, ledger, vault, [statement])
    session.add(SpotCheckSeedRow(plan=appended.entry.seq, seed=seed.hex()))
    return Plan(appended.entry.seq, seed, frame)


def _plan_entry(session: Session, plan: int) -> tuple[SpotCheckPlanRow, EntryRow]:
    row = session.get(SpotCheckPlanRow, plan)
    stored = session.get(EntryRow, plan) if row is not None else None
    if row is None or stored is None:
        raise NotFoundError(f"no spot-check plan at seq {plan}", field=("plan",))
    return row, stored


def reproduce_draw(session: Session, plan: int, seed: bytes
                   ) -> list[tuple[str, list[tuple[str, str]]]]:
    """What ``seed`` draws from plan ``plan``'s published frame (anyone may check a draw)."""
    row, stored = _plan_entry(session, plan)
    frame: list[FrameEnterprise] = read_frame(Entry.from_canonical(stored.body).statement.payload)
    return draw(seed, stored.leaf_hash, frame, row.enterprises, row.lots_per_enterprise)


def draw_spot_check(session: Session, ledger: Ledger, vault: KeyVault, *, plan: int,
                    seed: bytes | None = None) -> int:
    """Draw plan ``plan`` with its kept seed (or ``seed``), as the regulator that planned it;
    returns the draw's seq. Raises RuleViolation if the seed or the selection is refused."""
    row, _ = _plan_entry(session, plan)
    if seed is None:
        kept = session.get(SpotCheckSeedRow, plan)
        if kept is None:
            raise NotFoundError(f"the seed of plan {plan} is not kept here: give it",
                                field=("seed",))
        seed = bytes.fromhex(kept.seed)
    selected = reproduce_draw(session, plan, seed)
    payload = {"plan": plan, "seed": seed.hex(),
               "selected": [{"uscc": uscc, "lots": [{"gtin": g, "lot": lot} for g, lot in lots]}
                            for uscc, lots in selected]}
    statement = Statement(SPOT_CHECK_DRAW, row.enterprise, "",
                          _now(ledger).isoformat(timespec="seconds"), payload)
    (appended,) = submit(session, ledger, vault, [statement])
    return appended.entry.seq


def _names(session: Session, usccs: Iterable[str]) -> dict[str, EnterpriseRow]:
    keys = sorted(set(usccs))
    if not keys:
        return {}
    return {row.uscc: row for row in session.scalars(
        select(EnterpriseRow).where(EnterpriseRow.uscc.in_(keys)))}


def plan_details(session: Session, *, district: str | None = None,
                 planner: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest plans (of ``planner``, in ``district``), each with its frame's size, its
    commitment, its seed once drawn, the enterprises and lots drawn, and what inspecting
    them found so far."""
    query = select(SpotCheckPlanRow).order_by(SpotCheckPlanRow.seq.desc()).limit(limit)
    if district:
        query = query.where(SpotCheckPlanRow.district == district)
    if planner:
        query = query.where(SpotCheckPlanRow.enterprise == planner)
    plans = list(session.scalars(query))
    picks: dict[int, list[SpotCheckPickRow]] = {}
    if plans:
        for pick in session.scalars(select(SpotCheckPickRow).where(
                SpotCheckPickRow.plan.in_([p.seq for p in plans])).order_by(
                SpotCheckPickRow.plan, SpotCheckPickRow.enterprise, SpotCheckPickRow.position)):
            picks.setdefault(pick.plan, []).append(pick)
    names = _names(session, [p.enterprise for p in plans]
                   + [pick.enterprise for rows in picks.values() for pick in rows])
    inspections = _inspections(session, [(pick.gtin, pick.lot) for rows in picks.values()
                                         for pick in rows if pick.gtin and pick.lot])
    found = []
    for plan in plans:
        chosen: dict[str, dict[str, Any]] = {}
        for pick in picks.get(plan.seq, []):
            item = chosen.setdefault(pick.enterprise, {
                "uscc": pick.enterprise, "name": _name(names, pick.enterprise),
                "district": _district(names, pick.enterprise), "lots": []})
            if pick.gtin and pick.lot:
                after = [found for found in inspections.get((pick.gtin, pick.lot), [])
                         if found[1] > (plan.draw_seq or 0)]
                verdict = after[-1] if after else None
                item["lots"].append({"gtin": pick.gtin, "lot": pick.lot,
                                     "verdict": verdict[0] if verdict else None,
                                     "inspection_seq": verdict[1] if verdict else None})
        found.append({
            "seq": plan.seq, "title": plan.title, "planner": plan.enterprise,
            "planner_name": _name(names, plan.enterprise), "district": plan.district,
            "planned_at": plan.planned_at, "commitment": plan.commitment,
            "enterprises": plan.enterprises, "lots_per_enterprise": plan.lots_per_enterprise,
            "frame_size": plan.frame_size, "exempt": plan.exempt,
            "draw_seq": plan.draw_seq, "drawn_at": plan.drawn_at, "seed": plan.seed,
            "selected": list(chosen.values())})
    return found


def _name(names: dict[str, EnterpriseRow], uscc: str) -> str:
    row = names.get(uscc)
    return row.name if row is not None else uscc


def _district(names: dict[str, EnterpriseRow], uscc: str) -> str | None:
    row = names.get(uscc)
    return row.district if row is not None else None


def _inspections(session: Session, lots: Sequence[tuple[str | None, str | None]]
                 ) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Each lot's inspections (verdict, seq), oldest first."""
    keys = {(g, lot) for g, lot in lots if g and lot}
    if not keys:
        return {}
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    query = (select(RecordRow.seq, RecordRow.gtin, RecordRow.lot, RecordRow.verdict)
             .where(RecordRow.type == INSPECTION, RecordRow.superseded_by.is_(None),
                    RecordRow.gtin.in_(sorted({g for g, _ in keys})))
             .order_by(RecordRow.seq))
    for seq, gtin, lot, verdict in session.execute(query):
        if gtin and lot and (gtin, lot) in keys and verdict:
            found.setdefault((gtin, lot), []).append((verdict, seq))
    return found


def public_results(session: Session, *, limit: int = 200) -> list[dict[str, Any]]:
    """Supervisory spot-check results (监督抽查结果) as the bureau publishes them, newest first:
    product, producer, lot, verdict, the failed items, the lab and report number, the
    standard, and the draw that chose the lot when one did. Never quantities or customers."""
    regulators = {row.uscc for row in session.scalars(select(EnterpriseRow))
                  if "regulator" in row.roles.split(",")}
    picked = {(row.gtin, row.lot): row.plan for row in session.scalars(
        select(SpotCheckPickRow).where(SpotCheckPickRow.gtin.is_not(None)))}
    query = (select(RecordRow.seq, RecordRow.gtin, RecordRow.lot, RecordRow.verdict,
                    RecordRow.enterprise, EntryRow.body)
             .join(EntryRow, EntryRow.seq == RecordRow.seq)
             .where(RecordRow.type == INSPECTION, RecordRow.superseded_by.is_(None))
             .order_by(RecordRow.seq.desc()))
    results: list[dict[str, Any]] = []
    rows = []
    for seq, gtin, lot, verdict, signer, body in session.execute(query):
        if signer not in regulators and (gtin, lot) not in picked:
            continue
        payload = Entry.from_canonical(body).statement.payload
        if payload.get("kind") != "spot_check":
            continue
        rows.append((seq, gtin, lot, verdict, signer, payload))
        if len(rows) >= limit:
            break
    products = {p.gtin: p for p in session.scalars(select(ProductRow).where(
        ProductRow.gtin.in_(sorted({r[1] for r in rows if r[1]}))))} if rows else {}
    origins = {(lot.gtin, lot.lot): lot.origin for lot in session.scalars(select(LotRow).where(
        LotRow.gtin.in_(sorted({r[1] for r in rows if r[1]}))))} if rows else {}
    names = _names(session, [*origins.values(), *(r[4] for r in rows)])
    for seq, gtin, lot, verdict, signer, payload in rows:
        product = products.get(gtin or "")
        maker = origins.get((gtin or "", lot or ""))
        results.append({
            "seq": seq, "gtin": gtin, "lot": lot, "verdict": verdict,
            "product": product.name if product else None,
            "category": product.category if product else None,
            "producer": maker, "producer_name": _name(names, maker) if maker else None,
            "district": _district(names, maker) if maker else None,
            "inspected_at": payload.get("inspected_at"), "lab": payload.get("lab"),
            "report_no": payload.get("report_no"), "standard": payload.get("standard"),
            "failed_items": [item.get("name") for item in payload.get("items", [])
                             if isinstance(item, dict) and item.get("pass") is False],
            "inspector": signer, "inspector_name": _name(names, signer),
            "plan": picked.get((gtin, lot))})
    return results
