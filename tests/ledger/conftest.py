"""Ledger-level fixtures: a migrated database, the operator identity and a producer."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.db import Base, create_ledger_engine, migrate
from ledger.log.entry import SignedStatement, Statement
from ledger.log.keys import generate_private_key, key_id_for
from ledger.log.storage import IDENTITY_TABLES
from ledger.supervision.models import PROJECTIONS
from ledger.supervision.submit import Appended, submit
from schemas.identifiers import uscc_check_character

ORIGIN = "tracenet.test/ledger"
INTAKE = {"gtin": "06901234567892", "lot": "RM001", "material": "生乳",
          "supplier": "91350100MA0000001P", "quantity": "1000", "unit": "kg",
          "received_at": "2026-11-26T07:00:00+08:00", "accepted": True}


def make_uscc(serial: int) -> str:
    first17 = f"91350100MA{serial:07d}"
    return first17 + uscc_check_character(first17)


@dataclass
class Producer:
    uscc: str
    key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id_for(self.key)

    def statement(self, type_: str = "material_intake", **payload: object) -> Statement:
        defaults = INTAKE if type_ == "material_intake" else {}
        return Statement(type_, self.uscc, self.key_id, "2026-11-26T08:00:00+08:00",
                         {**defaults, **payload})

    def signed(self, type_: str = "material_intake", **payload: object) -> SignedStatement:
        return self.statement(type_, **payload).sign(self.key)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_ledger_engine(database_url)
    migrate(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def ledger() -> log.Ledger:
    return log.Ledger(ORIGIN, generate_private_key())


@pytest.fixture
def session(sessions: sessionmaker[Session], ledger: log.Ledger) -> Iterator[Session]:
    with sessions() as session:
        log.initialise(session, ledger)
        session.commit()
        yield session


def enrol(session: Session, ledger: log.Ledger, serial: int) -> Producer:
    producer = Producer(make_uscc(serial), generate_private_key())
    enrol_enterprise(session, ledger, KeyVault("test"), {
        "uscc": producer.uscc, "name": f"企业{serial}", "roles": ["producer"],
        "district": "福州市"}, producer.key.public_key())
    session.commit()
    return producer


@pytest.fixture
def producer(session: Session, ledger: log.Ledger) -> Producer:
    return enrol(session, ledger, 1)


def append(session: Session, ledger: log.Ledger,
           batch: Sequence[SignedStatement]) -> list[Appended]:
    """Append client-signed statements through the supervision rules (the submit door)."""
    return submit(session, ledger, KeyVault("test"), batch)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def projection_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table, every column, every row, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for model in (*IDENTITY_TABLES, *PROJECTIONS):
        table = Base.metadata.tables[model.__tablename__]
        rows = session.execute(select(*table.columns)
                               .order_by(*table.primary_key.columns))
        tables[table.name] = [tuple(row) for row in rows]
    return tables
