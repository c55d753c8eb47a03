"""Storage: SQLAlchemy 2.0 typed models.

``entries`` and ``merkle_nodes`` are the ledger itself and are only ever inserted into (the
migration adds database triggers that refuse UPDATE and DELETE). Every other table is a
projection that replaying the entries recomputes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiToken",
    "Base",
    "CheckpointRow",
    "CustodialKey",
    "EnterpriseRow",
    "EntryRow",
    "KeyRow",
    "LedgerHead",
    "MerkleNode",
]


class Base(DeclarativeBase):
    pass


class EntryRow(Base):
    """One ledger entry: its canonical bytes are the truth, the other columns index them."""

    __tablename__ = "entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    event_time: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class MerkleNode(Base):
    """A perfect subtree of level >= 1 (leaves live in ``entries``), keyed by ``node_id``."""

    __tablename__ = "merkle_nodes"

    node_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    """The single row every append locks: it sequences writers across processes."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    last_leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_recorded_at: Mapped[str] = mapped_column(String(40))


class CheckpointRow(Base):
    """A signed checkpoint (C2SP signed note) the ledger issued at ``size``."""

    __tablename__ = "checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)


class EnterpriseRow(Base):
    """Projection: a registered enterprise."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(100))
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class KeyRow(Base):
    """Projection: a registered signing key and when it stopped being valid."""

    __tablename__ = "keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    registered_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CustodialKey(Base):
    """A private key the server holds for an enterprise, encrypted at rest."""

    __tablename__ = "custodial_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ApiToken(Base):
    """An API bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


# --- Supervision-record projections: recomputed from the entries by `tracenet rebuild`. ---


class ProductRow(Base):
    """A registered product (GTIN) and the category rules it falls under."""

    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(8), index=True)
    standard: Mapped[str] = mapped_column(String(60))
    spec: Mapped[str] = mapped_column(String(200))
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class LotRow(Base):
    """A lot (GTIN + lot code): where it came from and its inspection status."""

    __tablename__ = "lots"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    origin: Mapped[str] = mapped_column(String(40), index=True)
    origin_type: Mapped[str] = mapped_column(String(40))
    origin_seq: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))
    produced_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    expiry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    inspection: Mapped[str] = mapped_column(String(10))  # none / pass / fail
    inspection_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    intake_rejected: Mapped[bool] = mapped_column(default=False)


class StockRow(Base):
    """How much of a lot an enterprise holds, in the lot's base unit (kg, L, pcs, case)."""

    __tablename__ = "stock"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))


class LotInputRow(Base):
    """An edge of the lot graph: ``input`` lot went into ``output`` lot."""

    __tablename__ = "lot_inputs"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    output_gtin: Mapped[str] = mapped_column(String(14), index=True)
    output_lot: Mapped[str] = mapped_column(String(20))
    input_gtin: Mapped[str] = mapped_column(String(14), index=True)
    input_lot: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))


class RecordRow(Base):
    """Every supervision record by seq, with what a listing needs (and whether superseded)."""

    __tablename__ = "records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40), index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    counterparty: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    quantity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(8), nullable=True)
    document_no: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str | None] = mapped_column(String(100), nullable=True)
    received: Mapped[str | None] = mapped_column(String(40), nullable=True)
    event_time: Mapped[str] = mapped_column(String(40))
    superseded_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AdditiveFilingRow(Base):
    """A live food-additive filing for a product."""

    __tablename__ = "additive_filings"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    additive: Mapped[str] = mapped_column(String(100), primary_key=True)
    ins: Mapped[str | None] = mapped_column(String(20), nullable=True)
    level: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(BigInteger)


class UnitRow(Base):
    """A serialised unit code, or a logistic unit that aggregates others."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    parent: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class NoticeRow(Base):
    """A warning or notice a rule attached to an entry when it was appended."""

    __tablename__ = "notices"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)


# --- Console accounts: not a projection (see ledger/accounts.py), so `rebuild` leaves them. ---


class UserRow(Base):
    """A console account that acts for one enterprise; only a scrypt hash of its password."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[str] = mapped_column(String(40))


class IdempotentResponse(Base):
    """The response to a POST made with an ``Idempotency-Key``, replayed when it is retried."""

    __tablename__ = "idempotent_responses"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))
