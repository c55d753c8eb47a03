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
