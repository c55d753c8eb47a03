"""Accounts' tables: console users, API tokens and custodial keys.

None of them is a projection: a password hash, a token hash and a sealed private key are
secrets that must be replaceable and erasable, so they live beside the ledger, not in it, and
``rebuild`` leaves them alone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = ["ApiToken", "AuditRow", "CustodialKey", "SignInFailure", "TotpRow", "UserRow"]


class UserRow(Base):
    """A console account that acts for one enterprise; only a scrypt hash of its password.

    ``district`` scopes a regulator (ledger/accounts/scope.py): empty for the city bureau,
    which sees every enterprise, else the district whose enterprises it sees."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(100), default="", server_default="")


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
    #: a regulator token's district, as for console accounts (empty: the whole city)
    district: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: what the bureau called the token when it issued it, so it can be told apart and revoked
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")


class TotpRow(Base):
    """A console account's TOTP second factor (RFC 6238): its secret, sealed like custodial
    keys, whether its holder has confirmed it with a code, and the last time step accepted
    (a code is good once: the same code again within its window is refused)."""

    __tablename__ = "user_totp"

    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class SignInFailure(Base):
    """One failed sign-in (wrong password or code) of an account name, known or not: counted
    over the last minute by every worker alike (ledger/accounts/throttle.py)."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)


class AuditRow(Base):
    """One thing a signed-in person or token did or looked at (ledger/accounts/audit.py).

    Append-only: database triggers refuse UPDATE and DELETE, as on the ledger's tables. It is
    not a projection (``rebuild`` leaves it alone): reading leaves no entry on the ledger."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(20))
    district: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(500))
