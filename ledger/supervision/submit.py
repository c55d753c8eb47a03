"""The one door through which records reach the ledger.

The API, the console's forms, spreadsheet import, EPCIS capture and the demo all call
:func:`submit`: statements the client signed are taken as they are, the rest are signed with
the enterprise's custodial key, and the batch is appended through the supervision rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault, sign_custodially
from ledger.log import Ledger, append
from ledger.log.entry import Entry, SignedStatement, Statement
from ledger.supervision.admission import RecordAdmission
from ledger.supervision.rules import Notice

__all__ = ["Appended", "submit"]


@dataclass(frozen=True)
class Appended:
    """An entry the ledger accepted, with the notices its rules attached."""

    entry: Entry
    notices: list[Notice]


def submit(session: Session, ledger: Ledger, vault: KeyVault,
           statements: Sequence[Statement | SignedStatement]) -> list[Appended]:
    """Append ``statements`` as one atomic batch; the caller commits (or rolls back).

    A :class:`SignedStatement` is appended as signed; a bare :class:`Statement` is signed
    custodially first (IdentityError when its enterprise holds no custodial key). A rule
    that refuses an item raises with ``item`` set to its position in ``statements``.
    """
    custodial = iter(sign_custodially(session, ledger, vault, [
        s for s in statements if not isinstance(s, SignedStatement)]))
    batch = [s if isinstance(s, SignedStatement) else next(custodial) for s in statements]
    admission = RecordAdmission(session)
    entries = append(session, ledger, batch, admission)
    return [Appended(entry, admission.notices.get(entry.seq, [])) for entry in entries]
