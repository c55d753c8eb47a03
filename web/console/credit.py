"""Quality credit in the console (企业质量信用): an enterprise sees its grade, what it means,
its score and the facts behind it, its history of changes with their reasons, and applies for
credit exemption; an association, a district bureau and the city panel take their steps on
applications; a regulator records violations.

Everything is decided in :mod:`ledger.credit` and the credit rules; a refused step comes back
on the page, in the user's language, with nothing appended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from werkzeug.wrappers import Response as BaseResponse

from ledger import credit
from ledger.accounts.roles import ASSOCIATION, REGULATOR, sees_everything
from ledger.accounts.scope import may_see, visible_enterprises
from ledger.credit import model
from ledger.credit.engine import stored_fact as _fact
from ledger.credit.engine import utc_text
from ledger.credit.flow import applications, apply, enforce, review
from ledger.credit.models import CreditCursorRow, CreditFactRow, CreditScoreRow
from ledger.credit.standing import parse_time
from ledger.errors import LedgerError
from ledger.log.storage import EnterpriseRow
from ledger.supervision.credit import OPEN_STATES, VIOLATIONS
from ledger.supervision.models import CreditGradeRow
from web.console import i18n
from web.console.views import bp, current_user, error_page, login_required
from web.credit import keep_grades_current, t
from web.db import get_ledger, get_session, get_vault

__all__ = ["credit_page"]

#: enterprises listed on a regulator's page (not at B), newest change first
LIST_LIMIT = 300
#: the facts of a factor shown on the page, heaviest first
FACTS_SHOWN = 5


def _own_page_for(enterprise: str | None) -> str | None:
    """Whose page to show: a producer's own; a regulator's or association's choice within
    its scope (or none: their overview)."""
    user = current_user()
    if sees_everything(user.role) or user.role == ASSOCIATION:
        # a bureau within its district; an association the applicants it reviews
        allowed = (applications(get_session(), enterprise) if user.role == ASSOCIATION
                   else may_see(get_session(), user, enterprise)) if enterprise else True
        if not allowed:
            abort(404)  # another district's enterprise: as if it did not exist
        return enterprise or None
    return user.enterprise


def _factors(enterprise: str) -> list[dict[str, Any]]:
    """The facts counting now, by factor: how many, the bounded total, the heaviest few."""
    session = get_session()
    cursor = session.get(CreditCursorRow, 1)
    now = cursor.clock if cursor is not None else utc_text(get_ledger().clock())
    facts = [_fact(row) for row in session.scalars(select(CreditFactRow).where(
        CreditFactRow.enterprise == enterprise,
        or_(CreditFactRow.expires_at.is_(None), CreditFactRow.expires_at > now))
        .order_by(CreditFactRow.seq.desc()))]
    groups = []
    for name, (count, total) in model.factor_totals(facts).items():
        factor = model.FACTORS[name]
        items = sorted((f for f in facts if f.factor == name),
                       key=lambda f: (-abs(f.points), -f.seq))[:FACTS_SHOWN]
        groups.append({"factor": i18n.pick(factor.zh, factor.en), "count": count,
                       "total": model.format_points(total), "negative": total < 0,
                       "facts": [{"seq": f.seq, "what": i18n.pick(f.zh, f.en),
                                  "points": model.format_points(f.points),
                                  "at": f.at} for f in items]})
    return groups


def _standing(enterprise: str) -> dict[str, Any] | None:
    session = get_session()
    standing = credit.standing_of(session, enterprise)
    if standing is None:
        return None
    registered = session.get(EnterpriseRow, enterprise)
    score = session.get(CreditScoreRow, enterprise)
    points = score.score if score is not None else model.BASE
    consequence = credit.CONSEQUENCES[standing.grade]
    return {"uscc": enterprise, "name": registered.name if registered else enterprise,
            "district": registered.district if registered else "",
            "grade": standing.grade, "since": standing.since.isoformat(),
            "exempt_until": standing.exempt_until.isoformat() if standing.exempt_until
            else None,
            "consequence": i18n.pick(consequence.name_zh, consequence.name_en),
            "consequence_detail": i18n.pick(consequence.zh, consequence.en),
            "score": model.format_points(points),
            "eligible": points >= model.A_ELIGIBLE,
            "history": credit.grade_history(session, enterprise),
            "factors": _factors(enterprise),
            "applications": applications(session, enterprise)}


def _overview() -> dict[str, Any]:
    """What a bureau (within its district) or an association sees: the grade counts of the
    producers, those not at B, the applications waiting, the producers to record against."""
    session = get_session()
    user = current_user()
    # An association pre-reviews applications city-wide, and sees the grades made public.
    association = user.role == ASSOCIATION
    visible = None if association else visible_enterprises(session, user)
    producers = {uscc: (name, district) for uscc, name, district in session.execute(
        select(EnterpriseRow.uscc, EnterpriseRow.name, EnterpriseRow.district)
        .where(EnterpriseRow.roles.like("%producer%")).order_by(EnterpriseRow.name))
        if visible is None or uscc in visible}
    counts = dict.fromkeys(("A", "B", "C", "D"), 0)
    for uscc, standing in credit.current_grades(session).items():
        if uscc in producers:
            counts[standing.grade] += 1
    shown = ("A", "D") if association else ("A", "C", "D")
    graded = [row for row in session.scalars(
        select(CreditGradeRow).where(CreditGradeRow.grade.in_(shown))
        .order_by(CreditGradeRow.seq.desc())) if row.enterprise in producers][:LIST_LIMIT]
    return {"counts": counts,
            "graded": [{"uscc": row.enterprise, "name": producers[row.enterprise][0],
                        "district": producers[row.enterprise][1], "grade": row.grade,
                        "since": row.since} for row in graded],
            "queue": [a for a in applications(session, states=OPEN_STATES)
                      if a.enterprise in producers],
            "enterprises": [(uscc, name) for uscc, (name, _district) in producers.items()]}


def _render(status: int = 200) -> tuple[str, int]:
    user = current_user()
    chosen = _own_page_for(request.args.get("enterprise") or request.form.get("enterprise"))
    standing = _standing(chosen) if chosen else None
    if chosen and standing is None:
        abort(404)
    overview = None if user.role not in (REGULATOR, "admin", ASSOCIATION) else _overview()
    return render_template(
        "console/credit.html", t=t, standing=standing, overview=overview,
        can_apply=(standing is not None and user.enterprise == standing["uscc"]
                   and user.role == "producer" and standing["eligible"]
                   and not any(a.state in OPEN_STATES for a in standing["applications"])),
        can_enforce=user.role == REGULATOR, violations=VIOLATIONS,
        moment=_moment), status


def _moment(value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return i18n.format_moment(value.isoformat())
    return i18n.format_moment(parse_time(value).isoformat())


@bp.get("/credit")
@login_required
def credit_page() -> tuple[str, int]:
    """The user's enterprise's grade, history and reasons (regulators: any enterprise's, and
    the applications waiting for them), brought current first."""
    keep_grades_current()
    get_session().commit()
    return _render()


@bp.post("/credit/apply")
@login_required
def credit_apply() -> BaseResponse:
    """The user's enterprise applies for credit exemption (grade A)."""
    user = current_user()
    session = get_session()
    keep_grades_current()  # the score it is judged on is the current one
    seq = apply(session, get_ledger(), get_vault(), user.enterprise,
                request.form.get("statement", "").strip() or "申请信用免检")
    session.commit()
    flash(t("credit.applied", seq=seq), "success")
    return redirect(url_for("console.credit_page"))


@bp.post("/credit/applications/<int:seq>/review")
@login_required
def credit_review(seq: int) -> BaseResponse:
    """The user's enterprise takes the application's next step (the rules check its role)."""
    user = current_user()
    session = get_session()
    found = [a for a in applications(session, states=OPEN_STATES) if a.seq == seq]
    step = found[0].next_step if found else request.form.get("step", "")
    outcome = request.form.get("outcome", "")
    if outcome not in ("approve", "reject"):
        abort(400)
    number = review(session, get_ledger(), get_vault(), user.enterprise, seq, step or "",
                    outcome, request.form.get("note", "").strip() or None)
    keep_grades_current()  # an approval grants A at once
    session.commit()
    flash(t("credit.reviewed", seq=number), "success")
    return redirect(url_for("console.credit_page"))


@bp.post("/credit/enforce")
@login_required
def credit_enforce() -> BaseResponse:
    """A regulator records a violation it found against an enterprise."""
    user = current_user()
    session = get_session()
    enterprise = request.form.get("enterprise", "")
    number = enforce(session, get_ledger(), get_vault(), user.enterprise, enterprise,
                     request.form.get("violation", ""), request.form.get("note", "").strip(),
                     [])
    keep_grades_current()
    session.commit()
    flash(t("credit.enforced", seq=number), "success")
    return redirect(url_for("console.credit_page", enterprise=enterprise))


def _refused(exc: Exception) -> Any:
    message = (i18n.pick(getattr(exc, "message_zh", None), exc.message)
               if isinstance(exc, LedgerError) else i18n.field_error(str(exc)))
    flash(message, "error")
    return _render(422)


for _endpoint in ("console.credit_apply", "console.credit_review", "console.credit_enforce"):
    error_page(_endpoint)(_refused)
