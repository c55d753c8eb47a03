"""Loading the demo network onto a ledger, and its console accounts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.accounts.users import AccountError, create_user
from ledger.demo.network import (
    DEFAULT_SEED,
    DEMO_DAYS,
    DEMO_DISTRICTS,
    DEMO_PASSWORD,
    DEMO_START,
    DEMO_USERS,
    DemoAlreadyLoaded,
    DemoEnterprise,
    DemoPlan,
    DemoProgress,
    demo_enterprises,
    plan_demo,
)
from ledger.errors import LedgerError
from ledger.log import Ledger, ledger_size
from ledger.log.entry import Statement
from ledger.log.storage import EnterpriseRow
from ledger.recall import StartedRecall, record_progress, start_recall
from ledger.supervision.models import ProductRow
from ledger.supervision.names import INSPECTION, PRODUCT_REGISTERED, PRODUCTION, SERIALIZATION
from ledger.supervision.recalls import ORDERED
from ledger.supervision.submit import Appended, submit
from ledger.supervision.unit_codes import mint

__all__ = ["DemoRecallSummary", "DemoSummary", "DemoUser", "MelamineIncident",
           "create_demo_users", "demo_loaded", "load_demo"]


@dataclass(frozen=True)
class MelamineIncident:
    """The raw-milk lot whose melamine result came back failed after it had been used."""

    gtin: str
    lot: str
    ranch: DemoEnterprise
    inspection_seq: int
    #: the production entries that consumed it: (output GTIN, output lot, seq)
    consumed_by: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class DemoRecallSummary:
    """The recall the demo ordered: its id (the seq of its entry), the holders it reached and
    the seqs of the progress reports filed."""

    seq: int
    level: int
    holders: tuple[str, ...]
    progress: tuple[int, ...]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`load_demo` put on the ledger."""

    seed: int
    enterprises: tuple[DemoEnterprise, ...]
    products: int
    lots: int
    units: int
    entries: int
    first_seq: int
    last_seq: int
    period: tuple[date, date]
    melamine: MelamineIncident
    recall: DemoRecallSummary
    by_type: Mapping[str, int]


def demo_loaded(session: Session) -> bool:
    """Whether any enterprise of the demo network is registered on this ledger."""
    usccs = [enterprise.uscc for enterprise in demo_enterprises()]
    found = session.scalars(select(EnterpriseRow.uscc).where(EnterpriseRow.uscc.in_(usccs)))
    return found.first() is not None


def load_demo(session: Session, ledger: Ledger, vault: KeyVault, *, seed: int = DEFAULT_SEED,
              progress: Callable[[int], None] | None = None,
              code_secret: bytes | None = None) -> DemoSummary:
    """Enrol the demo enterprises (custodial keys) and append their sixty days of records,
    with the recall of the melamine lot started (and reported on) as the plan says, after
    the day it happens. With ``code_secret``, serialised units get supervision codes too
    (the plan is pure and holds no secret, so they are minted here).

    Raises :class:`DemoAlreadyLoaded` when the demo is already on the ledger. The caller owns
    the transaction: nothing is committed here, so a failure leaves the ledger as it was once
    the caller rolls back. ``progress`` is called with the number of entries appended so far.
    """
    if demo_loaded(session):
        raise DemoAlreadyLoaded("the demo network is already loaded on this ledger")
    plan = plan_demo(seed)
    first_seq = ledger_size(session)
    done = 0
    for enterprise in plan.enterprises:
        enrol_enterprise(session, ledger, vault, enterprise.registration())
        done += 2
    if progress is not None:
        progress(done)
    appended: list[Appended] = []
    network = {enterprise.key: enterprise for enterprise in plan.enterprises}
    recall: StartedRecall | None = None
    reports: list[Appended] = []
    for index, batch in enumerate(plan.batches):
        statements = batch if code_secret is None else _with_codes(session, batch, code_secret)
        appended += submit(session, ledger, vault, statements)
        done += len(batch)
        if index == plan.recall.after_batch:
            recall = _order_recall(session, ledger, vault, plan, network)
            appended.append(recall.appended)
            done += 1
        for report in plan.progress:
            if report.after_batch == index:
                assert recall is not None  # noqa: S101 - the plan reports after ordering
                reports.append(_report(session, ledger, vault, report, network, recall))
                done += 1
        if progress is not None:
            progress(done)
    if recall is None:
        raise LedgerError("the demo plan never ordered its recall")
    appended += reports
    by_type: dict[str, int] = {}
    for item in appended:
        by_type[item.entry.statement.type] = by_type.get(item.entry.statement.type, 0) + 1
    return DemoSummary(
        seed=seed, enterprises=plan.enterprises, products=by_type.get(PRODUCT_REGISTERED, 0),
        lots=plan.lots, units=plan.units, entries=done, first_seq=first_seq,
        last_seq=first_seq + done - 1,
        period=(DEMO_START, DEMO_START + timedelta(days=DEMO_DAYS - 1)),
        melamine=_incident(plan, appended),
        recall=DemoRecallSummary(recall.seq, plan.recall.level, tuple(sorted(recall.notices)),
                                 tuple(item.entry.seq for item in reports)),
        by_type=by_type)


def _with_codes(session: Session, batch: Sequence[Statement],
                code_secret: bytes) -> list[Statement]:
    """The batch with the product's next supervision codes added to each serialization."""
    issued: dict[str, tuple[int, int]] = {}
    coded = []
    for statement in batch:
        if statement.type == SERIALIZATION:
            gtin = statement.payload["gtin"]
            if gtin not in issued:
                product = session.get(ProductRow, gtin)
                assert product is not None  # noqa: S101 - products are registered first
                issued[gtin] = (product.number, product.units_issued)
            number, last = issued[gtin]
            count = len(statement.payload["serials"])
            codes = [mint(code_secret, number, unit) for unit in range(last + 1,
                                                                        last + count + 1)]
            issued[gtin] = (number, last + count)
            statement = Statement(statement.type, statement.enterprise, statement.key_id,
                                  statement.event_time, {**statement.payload, "codes": codes})
        coded.append(statement)
    return coded


def _order_recall(session: Session, ledger: Ledger, vault: KeyVault, plan: DemoPlan,
                  network: Mapping[str, DemoEnterprise]) -> StartedRecall:
    """The regulator orders the recall of the melamine lot, expanded downstream."""
    order = plan.recall
    return start_recall(
        session, ledger, vault, enterprise=network[order.regulator].uscc, kind=ORDERED,
        level=order.level, reason=order.reason, hazard=order.hazard, lots=[plan.melamine],
        producer=network[order.producer].uscc, consumer_advice=order.consumer_advice,
        event_time=order.moment.isoformat())


def _report(session: Session, ledger: Ledger, vault: KeyVault, report: DemoProgress,
            network: Mapping[str, DemoEnterprise], recall: StartedRecall) -> Appended:
    """A holder reports the whole of what it held under each of the report's activities."""
    enterprise = network[report.enterprise].uscc
    scope = recall.appended.entry.statement.payload["scope"]
    (holder,) = [h for h in scope["holders"] if h["enterprise"] == enterprise]
    lots = [{"gtin": lot["gtin"], "lot": lot["lot"], "unit": lot["unit"],
             **dict.fromkeys(report.activities, lot["held"])}
            for lot in holder["lots"] if Decimal(lot["held"]) > 0]
    return record_progress(
        session, ledger, vault, enterprise=enterprise, recall=recall.seq, lots=lots,
        evidence=report.evidence, complete=report.complete, note=report.note,
        event_time=report.moment.isoformat())


def _incident(plan: DemoPlan, appended: Sequence[Appended]) -> MelamineIncident:
    gtin, lot = plan.melamine
    failed = [item.entry.seq for item in appended
              if item.entry.statement.type == INSPECTION
              and item.entry.statement.payload["gtin"] == gtin
              and item.entry.statement.payload["lot"] == lot
              and item.entry.statement.payload["verdict"] == "fail"]
    consumed = tuple(
        (item.entry.statement.payload["gtin"], item.entry.statement.payload["lot"],
         item.entry.seq)
        for item in appended if item.entry.statement.type == PRODUCTION
        and any((source["gtin"], source["lot"]) == (gtin, lot)
                for source in item.entry.statement.payload["inputs"]))
    ranch = next(e for e in plan.enterprises if e.key == "ranch_c")
    return MelamineIncident(gtin, lot, ranch, failed[0], consumed)


@dataclass(frozen=True)
class DemoUser:
    """A console account the demo created (or found taken: ``created`` is False)."""

    username: str
    password: str
    role: str
    enterprise: DemoEnterprise
    created: bool


def create_demo_users(session: Session) -> list[DemoUser]:
    """Create the demo's console accounts (:data:`DEMO_USERS`, password
    :data:`DEMO_PASSWORD`) for the demo enterprises, which must be loaded.

    A username someone already took is left alone and reported with ``created=False``.
    """
    network = {enterprise.key: enterprise for enterprise in demo_enterprises()}
    users = []
    for username, key, role in DEMO_USERS:
        enterprise = network[key]
        try:
            create_user(session, username=username, password=DEMO_PASSWORD,
                        enterprise=enterprise.uscc, role=role,
                        district=DEMO_DISTRICTS.get(username, ""))
        except AccountError as exc:
            if exc.field != ("username",):
                raise
            users.append(DemoUser(username, DEMO_PASSWORD, role, enterprise, created=False))
        else:
            users.append(DemoUser(username, DEMO_PASSWORD, role, enterprise, created=True))
    return users
