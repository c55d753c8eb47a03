"""Risk through the API: early-warning alerts (listed, acknowledged and closed with a note)
and failure rates, spot-check plans published and drawn, standards warnings. Regulators and
administrators only, a district bureau within its district, except standards warnings, which
every enterprise reads for itself. The decisions are :mod:`ledger.risk`'s."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from ledger.accounts.roles import sees_everything
from ledger.accounts.scope import in_district, visible_enterprises
from ledger.errors import ForbiddenError, NotFoundError
from ledger.log.storage import EnterpriseRow
from ledger.risk.draws import draw_spot_check, plan_details, plan_spot_check
from ledger.risk.models import RiskAlertRow
from ledger.risk.standards import standards_warnings
from ledger.risk.warning import acknowledge, close, list_alerts, rates
from ledger.supervision.models import SpotCheckPlanRow
from ledger.supervision.recall_levels import CHINA
from schemas.risk import (
    AlertListSchema,
    AlertNoteSchema,
    AlertQuery,
    AlertSchema,
    RatesSchema,
    SpotCheckPlanRequestSchema,
    SpotCheckPlanViewListSchema,
    SpotCheckPlanViewSchema,
    StandardsWarningListSchema,
)
from web.api.security import BEARER
from web.auth import Principal, require_principal
from web.db import get_ledger, get_session, get_vault

blp = Blueprint("risk", __name__, url_prefix="/api/v1",
                description="Early warning, spot-check draws (双随机抽查), standards warnings")


def _regulator() -> Principal:
    principal = require_principal(get_session())
    if not sees_everything(principal.role):
        raise ForbiddenError("early warning and spot checks are for regulators")
    return principal


def _in_scope(principal: Principal, district: str | None) -> bool:
    return not principal.district or bool(district and in_district(district,
                                                                    principal.district))


def _alert(principal: Principal, alert: int) -> int:
    row = get_session().get(RiskAlertRow, alert)
    if row is None or not _in_scope(principal, row.district):
        raise NotFoundError(f"no alert {alert}", field=("alert",))
    return alert


@blp.get("/risk/alerts")
@blp.arguments(AlertQuery, location="query")
@blp.response(200, AlertListSchema)
@blp.doc(security=BEARER)
def alerts(query: dict[str, Any]) -> dict[str, Any]:
    """Early-warning alerts of the caller's scope, newest month first (by ``status``)."""
    principal = _regulator()
    found = list_alerts(get_session(), status=query["status"])
    return {"items": [a for a in found if _in_scope(principal, a.district)]}


@blp.post("/risk/alerts/<int:alert>/acknowledge")
@blp.arguments(AlertNoteSchema)
@blp.response(200, AlertSchema)
@blp.doc(security=BEARER)
def acknowledge_alert(body: dict[str, Any], alert: int) -> RiskAlertRow:
    """Acknowledge an open alert with a note (someone is looking into it)."""
    principal = _regulator()
    session = get_session()
    row = acknowledge(session, _alert(principal, alert), by=principal.enterprise,
                      note=body["note"], now=get_ledger().clock())
    session.commit()
    return row


@blp.post("/risk/alerts/<int:alert>/close")
@blp.arguments(AlertNoteSchema)
@blp.response(200, AlertSchema)
@blp.doc(security=BEARER)
def close_alert(body: dict[str, Any], alert: int) -> RiskAlertRow:
    """Close an alert with a note: what was found and done."""
    principal = _regulator()
    session = get_session()
    row = close(session, _alert(principal, alert), by=principal.enterprise, note=body["note"],
                now=get_ledger().clock())
    session.commit()
    return row


@blp.get("/risk/rates")
@blp.response(200, RatesSchema)
@blp.doc(security=BEARER)
def failure_rates() -> dict[str, Any]:
    """Inspection failure rates of the last 12 months by month, category, class and
    district, and the alert rule's parameters."""
    principal = _regulator()
    session = get_session()
    visible = visible_enterprises(session, principal)
    districts = None if visible is None else set(session.scalars(
        select(EnterpriseRow.district).where(EnterpriseRow.uscc.in_(sorted(visible)))))
    return rates(session, districts=districts, now=get_ledger().clock())


@blp.get("/spot-checks")
@blp.response(200, SpotCheckPlanViewListSchema)
@blp.doc(security=BEARER)
def spot_checks() -> dict[str, Any]:
    """Spot-check plans of the caller's scope, newest first, with their draws and results."""
    principal = _regulator()
    plans = plan_details(get_session())
    return {"items": [p for p in plans if _in_scope(principal, p["district"])]}


def _plan(seq: int) -> dict[str, Any]:
    (plan,) = [p for p in plan_details(get_session(), limit=10_000) if p["seq"] == seq]
    return plan


@blp.post("/spot-checks")
@blp.arguments(SpotCheckPlanRequestSchema)
@blp.response(201, SpotCheckPlanViewSchema)
@blp.doc(security=BEARER)
def publish_plan(body: dict[str, Any]) -> dict[str, Any]:
    """Publish a spot-check plan as the caller (a regulator): the frame of its scope and the
    commitment to a fresh seed, which the server keeps until the draw."""
    principal = _regulator()
    session = get_session()
    plan = plan_spot_check(session, get_ledger(), get_vault(), regulator=principal.enterprise,
                           title=body["title"], enterprises=body["enterprises"],
                           lots_per_enterprise=body["lots_per_enterprise"],
                           district=principal.district or None,
                           categories=body["categories"],
                           within=visible_enterprises(session, principal))
    session.commit()
    return _plan(plan.seq)


@blp.post("/spot-checks/<int:seq>/draw")
@blp.response(200, SpotCheckPlanViewSchema)
@blp.doc(security=BEARER)
def draw_plan(seq: int) -> dict[str, Any]:
    """Reveal the plan's seed and record what it draws (the planner alone, once)."""
    principal = _regulator()
    session = get_session()
    row = session.get(SpotCheckPlanRow, seq)
    if row is None or not _in_scope(principal, row.district):
        raise NotFoundError(f"no spot-check plan at seq {seq}", field=("plan",))
    draw_spot_check(session, get_ledger(), get_vault(), plan=seq)
    session.commit()
    return _plan(seq)


@blp.get("/standards/warnings")
@blp.response(200, StandardsWarningListSchema)
@blp.doc(security=BEARER)
def standards() -> dict[str, Any]:
    """Withdrawn or to-be-replaced standards cited by the caller's scope (an enterprise: its
    own products and inspections), with the replacement and the enterprises concerned."""
    principal = require_principal(get_session())
    session = get_session()
    return {"items": standards_warnings(
        session, on=get_ledger().clock().astimezone(CHINA).date(),
        within=visible_enterprises(session, principal))}
