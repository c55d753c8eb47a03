"""The second factor of regulator and admin console accounts: TOTP (RFC 6238, ``pyotp``).

An account of a role in :data:`SECOND_FACTOR_ROLES` signs in with its password *and* a six-digit
code from an authenticator app. Its secret is made on the server at enrolment, shown once (as a
QR code of the ``otpauth://`` URI, and as text), and kept sealed with a key derived from the
server secret, as custodial keys are (:class:`TotpVault`). Enrolment only counts once the holder
has typed a code the secret produces (``confirmed_at``); until then the account cannot sign in.

A code is accepted within one 30-second step either side of now (clocks drift) and only once:
the step it matched is remembered (``last_step``), and a code of that step or an earlier one is
refused, so a code seen over a shoulder or replayed from a log is worthless.

Bootstrap: an account made by ``tracenet user add`` (or the demo) has no factor; its first
sign-in with the right password leads to the enrolment page, and it is signed in only after the
confirming code. ``tracenet user totp-reset`` forgets a lost factor, so the next sign-in enrols
again.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from ledger.accounts.models import TotpRow, UserRow
from ledger.accounts.roles import ADMIN, REGULATOR
from ledger.errors import LedgerError

__all__ = ["ISSUER", "SECOND_FACTOR_ROLES", "STEP", "Enrolment", "TotpVault", "begin_enrolment",
           "check_code", "confirm_enrolment", "enrolled", "needs_second_factor",
           "reset_second_factor"]

#: roles whose console accounts need a second factor to sign in
SECOND_FACTOR_ROLES = frozenset({REGULATOR, ADMIN})
#: the issuer authenticator apps show beside the account name
ISSUER = "Tracenet"
#: seconds per code (RFC 6238's default, what every authenticator app uses)
STEP = 30
#: steps either side of now a code may come from
_DRIFT = 1


class TotpVault:
    """Seals TOTP secrets with a key derived from the server secret (as ``KeyVault`` does
    custodial keys, under another HKDF label, so neither key opens the other's data)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise LedgerError("a non-empty secret is needed to keep second factors")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"tracenet totp secrets v1").derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, totp_secret: str) -> bytes:
        """The encrypted form of a base32 TOTP secret, for storage."""
        return self._fernet.encrypt(totp_secret.encode())

    def open(self, sealed: bytes) -> str:
        """The base32 secret; LedgerError when another server secret sealed it."""
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise LedgerError("a second factor cannot be opened with this secret key") from None


@dataclass(frozen=True)
class Enrolment:
    """A second factor waiting for its confirming code: the secret and its ``otpauth`` URI."""

    secret: str
    uri: str


def needs_second_factor(user: UserRow) -> bool:
    """Whether ``user``'s role must sign in with a TOTP code as well as a password."""
    return user.role in SECOND_FACTOR_ROLES


def enrolled(session: Session, username: str) -> bool:
    """Whether ``username`` has a confirmed second factor."""
    row = session.get(TotpRow, username)
    return row is not None and row.confirmed_at is not None


def begin_enrolment(session: Session, vault: TotpVault, username: str) -> Enrolment:
    """The unconfirmed secret of ``username`` (made now if there is none yet).

    Refuses (LedgerError) an account whose factor is already confirmed: replacing it takes
    ``reset_second_factor`` by an operator, not a signed-in session. The caller commits.
    """
    row = session.get(TotpRow, username)
    if row is not None and row.confirmed_at is not None:
        raise LedgerError(f"{username} has a second factor already", field="username")
    if row is None:
        row = TotpRow(username=username, sealed_secret=vault.seal(pyotp.random_base32()),
                      confirmed_at=None, last_step=0)
        session.add(row)
        session.flush()
    secret = vault.open(row.sealed_secret)
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=username, issuer_name=ISSUER)
    return Enrolment(secret, uri)


def confirm_enrolment(session: Session, vault: TotpVault, username: str, code: str,
                      now: datetime | None = None) -> bool:
    """Confirm ``username``'s pending factor with a ``code`` it produces; False for a wrong
    code or no pending factor. The caller commits."""
    row = session.get(TotpRow, username)
    if row is None or row.confirmed_at is not None:
        return False
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if not _accept(vault, row, code, moment):
        return False
    row.confirmed_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    session.flush()
    return True


def check_code(session: Session, vault: TotpVault, username: str, code: str,
               now: datetime | None = None) -> bool:
    """Whether ``code`` is a fresh, right code of ``username``'s confirmed factor; an
    accepted code's step is remembered so that it cannot be used again. The caller commits."""
    row = session.get(TotpRow, username)
    if row is None or row.confirmed_at is None:
        return False
    return _accept(vault, row, code, (now or datetime.now(UTC)).astimezone(UTC))


def reset_second_factor(session: Session, username: str) -> bool:
    """Forget ``username``'s factor (a lost phone); the next sign-in enrols again. Whether
    there was one. The caller commits."""
    row = session.get(TotpRow, username)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def _accept(vault: TotpVault, row: TotpRow, code: str, now: datetime) -> bool:
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(vault.open(row.sealed_secret), interval=STEP)
    current = int(now.timestamp()) // STEP
    for step in range(current - _DRIFT, current + _DRIFT + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            if step <= row.last_step:  # this code, or a later one, was used already
                return False
            row.last_step = step
            return True
    return False

