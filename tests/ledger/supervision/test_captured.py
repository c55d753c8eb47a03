"""The rules of captured EPCIS events (``epcis`` references, ``epcis_event``, duplicates by
hash ID) and of the GS1 keys the operator registers for enterprises."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import log
from ledger.errors import LedgerError
from ledger.supervision.admission import rebuild
from ledger.supervision.models import EnterpriseGs1KeyRow, EpcisCapturedRow, RecordRow
from ledger.supervision.names import EPCIS_EVENT, GS1_KEYS_REGISTERED
from ledger.supervision.rules import RULES, RuleViolation
from tests.ledger.conftest import Producer, append, enrol, projection_snapshot

HASH = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
OTHER_HASH = "ni:///sha-256;" + "cd" * 32 + "?ver=CBV2.0"
EVENT = {"type": "TransactionEvent", "action": "ADD", "eventTime": "2026-11-26T08:00:00Z",
         "eventTimeZoneOffset": "+08:00", "quantity": 12.5, "bizTransactionList": []}
SEEN: set[str] = set()


def reference(hash_id: str = HASH, part: int = 0, parts: int = 1,
              **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hash_id": hash_id, "event_id": hash_id, "part": part,
                            "parts": parts, **extra}
    if part == 0 and "event" not in extra:
        body["event"] = EVENT
    return body


def refused(rule: str, session: Session, ledger: log.Ledger, batch: list[Any]) -> RuleViolation:
    size = log.ledger_size(session)
    with pytest.raises(RuleViolation) as caught:
        append(session, ledger, batch)
    session.rollback()
    assert caught.value.code == f"rule.{rule}"
    assert log.ledger_size(session) == size
    SEEN.add(rule)
    return caught.value


def test_an_epcis_event_is_kept_once_by_its_hash_id(session: Session, ledger: log.Ledger,
                                                     producer: Producer) -> None:
    [appended] = append(session, ledger, [producer.signed(EPCIS_EVENT, epcis=reference())])
    session.commit()
    row = session.get(EpcisCapturedRow, HASH)
    assert row is not None and (row.seq, row.enterprise) == (appended.entry.seq, producer.uscc)
    assert appended.entry.statement.payload["epcis"]["event"]["quantity"] == 12.5
    assert session.get(RecordRow, appended.entry.seq).type == EPCIS_EVENT  # type: ignore[union-attr]
    error = refused("epcis.duplicate", session, ledger,
                    [producer.signed(EPCIS_EVENT, epcis=reference(OTHER_HASH)),
                     producer.signed(EPCIS_EVENT, epcis=reference())])
    assert error.field == ("payload", "epcis", "hash_id")
    assert f"seq {appended.entry.seq}" in error.message
    # ... and twice in one batch
    refused("epcis.duplicate", session, ledger,
            [producer.signed(EPCIS_EVENT, epcis=reference(OTHER_HASH)),
             producer.signed(EPCIS_EVENT, epcis=reference(OTHER_HASH))])
    live = projection_snapshot(session)
    rebuild(session)
    assert projection_snapshot(session) == live


def test_a_malformed_reference_is_refused(session: Session, ledger: log.Ledger,
                                          producer: Producer) -> None:
    for bad in (reference("sha256:00"), reference(part=1, parts=1),
                {**reference(), "event": "text"}, {**reference(), "event_id": ""}, "x"):
        refused("epcis.malformed", session, ledger, [producer.signed(EPCIS_EVENT, epcis=bad)])
    refused("epcis.malformed", session, ledger, [producer.signed(EPCIS_EVENT)])


def gs1_keys(ledger: log.Ledger, enterprise: str, prefixes: list[str],
             glns: list[str] | None = None) -> Any:
    return ledger.operator_statement(GS1_KEYS_REGISTERED, {
        "enterprise": enterprise, "gs1_prefixes": prefixes, "glns": glns or []})


def keys(session: Session) -> list[tuple[str, str, str]]:
    return [(r.kind, r.value, r.enterprise) for r in session.scalars(
        select(EnterpriseGs1KeyRow).order_by(EnterpriseGs1KeyRow.value))]


def test_the_operator_registers_gs1_keys(session: Session, ledger: log.Ledger,
                                         producer: Producer) -> None:
    other = enrol(session, ledger, 2)
    append(session, ledger, [gs1_keys(ledger, producer.uscc, ["6901234"], ["6901234000009"])])
    append(session, ledger, [gs1_keys(ledger, producer.uscc, ["6901234"])])  # no change
    session.commit()
    assert keys(session) == [("prefix", "6901234", producer.uscc),
                             ("gln", "6901234000009", producer.uscc)]
    refused("gs1.operator_only", session, ledger, [producer.signed(
        GS1_KEYS_REGISTERED, enterprise=producer.uscc, gs1_prefixes=["6909999"], glns=[])])
    refused("gs1.unknown_enterprise", session, ledger,
            [gs1_keys(ledger, "91350100MA0009999X", ["6909999"])])
    for taken in (["6901234"], ["690123"], ["69012345"]):  # the same, or overlapping
        refused("gs1.taken", session, ledger, [gs1_keys(ledger, other.uscc, taken)])
    refused("gs1.taken", session, ledger,
            [gs1_keys(ledger, other.uscc, [], ["6901234000009"])])
    with pytest.raises(LedgerError, match="check digit"):
        append(session, ledger, [gs1_keys(ledger, other.uscc, [], ["6901234000004"])])
    session.rollback()
    live = projection_snapshot(session)
    rebuild(session)
    assert projection_snapshot(session) == live


def test_every_epcis_and_gs1_rule_is_exercised_here(request: pytest.FixtureRequest) -> None:
    module = request.node.module
    selected = {getattr(item, "originalname", item.name) for item in request.session.items
                if getattr(item, "module", None) is module}
    if selected != {name for name in vars(module) if name.startswith("test_")}:
        pytest.skip("only a run of the whole module exercises every rule")
    assert sorted(code for code in RULES if code.startswith(("epcis.", "gs1."))
                  and code not in SEEN) == []
