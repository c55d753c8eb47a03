"""Console accounts: people who sign in to the web console on behalf of one enterprise.

Accounts are deliberately *not* ledger entries: a password hash is a secret that must be
replaceable and erasable, and who typed a record matters less than which enterprise signed it
(the entry's signature says that). So ``users`` is an ordinary table, outside the projections
that ``rebuild`` recomputes.

Passwords are hashed with scrypt (memory-hard, in the standard library) under a random salt,
and stored as a self-describing string ``scrypt$n$r$p$salt$hash`` (salt and hash in base64),
so the cost parameters can be raised later without invalidating the hashes already stored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ledger.accounts.models import UserRow
from ledger.accounts.roles import ADMIN, REGULATOR, ROLES
from ledger.errors import LedgerError
from ledger.log.identity import OPERATOR
from ledger.log.storage import EnterpriseRow

__all__ = ["AccountError", "authenticate", "check_district", "create_user", "hash_password",
           "verify_password"]

# 2**14 * 8 * 128 bytes = 16 MiB and ~50 ms per hash: OWASP's scrypt minimum, cheap enough
# for a sign-in, costly enough to make an offline guess at a leaked hash expensive.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _HASH_BYTES = 16, 32
_MIN_PASSWORD = 8
_MAX_DISTRICT = 100
_USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,60}")


class AccountError(LedgerError):
    """An account cannot be created as asked (bad username, role, password or enterprise)."""

    code = "invalid_account"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must cover 128 * n * r bytes (plus slack) or OpenSSL refuses larger parameters.
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_HASH_BYTES,
                          maxmem=256 * n * r + 1024 * 1024)


def hash_password(password: str) -> str:
    """Hash ``password`` under a fresh random salt; returns ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash; False for a wrong password or a
    malformed stored string (never raises, so a corrupt row cannot be used to probe)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:  # wrong field count, bad base64 or bad parameters
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    # Hashing a password for an unknown username too keeps sign-in time the same whether or
    # not the account exists, so response times do not reveal which usernames are taken.
    # Made on first use rather than at import, so the CLI does not pay for it on every run.
    return hash_password(secrets.token_urlsafe(16))


def check_district(role: str, district: str) -> str:
    """The district an account or token of ``role`` is scoped to, stripped: only a regulator
    has one (empty: the city bureau). AccountError (field ``district``) otherwise."""
    district = district.strip()
    if district and role != REGULATOR:
        raise AccountError(f"only a regulator is scoped to a district, not a {role}",
                           field="district")
    if len(district) > _MAX_DISTRICT:
        raise AccountError(f"a district has at most {_MAX_DISTRICT} characters",
                           field="district")
    return district


def create_user(session: Session, *, username: str, password: str, enterprise: str, role: str,
                now: datetime | None = None, district: str = "") -> None:
    """Add a console account for ``enterprise`` (a registered USCC; ``operator`` for admins);
    a regulator's ``district`` scopes what it sees (ledger/accounts/scope.py).

    Raises AccountError naming the field at fault. The caller commits.
    """
    if not _USERNAME.fullmatch(username):
        raise AccountError("a username has 3-60 characters of A-Z a-z 0-9 . _ @ -",
                           field="username")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    district = check_district(role, district)
    if len(password) < _MIN_PASSWORD:
        raise AccountError(f"a password needs at least {_MIN_PASSWORD} characters",
                           field="password")
    operator_admin = enterprise == OPERATOR and role == ADMIN
    if not operator_admin and session.get(EnterpriseRow, enterprise) is None:
        raise AccountError(f"enterprise {enterprise} is not registered on the ledger",
                           field="enterprise")
    if session.get(UserRow, username) is not None:
        raise AccountError(f"username {username!r} is taken", field="username")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    session.add(UserRow(username=username, password_hash=hash_password(password),
                        enterprise=enterprise, role=role, district=district,
                        created_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ")))
    session.flush()


def authenticate(session: Session, username: str, password: str) -> UserRow | None:
    """The account when ``password`` is right for ``username``, else None.

    Takes as long for an unknown username as for a wrong password (see ``_dummy_hash``).
    """
    user = session.get(UserRow, username)
    if user is None:
        verify_password(password, _dummy_hash())
        return None
    return user if verify_password(password, user.password_hash) else None
