"""Registering an enterprise's GS1 company prefixes and GLNs (the operator's entry), and
reading them back: what ``tracenet enterprise add --gs1-prefix P --gln G``, the API and the
bureau's onboarding call."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.log import Ledger
from ledger.supervision.gs1 import PREFIX
from ledger.supervision.models import EnterpriseGs1KeyRow
from ledger.supervision.names import GS1_KEYS_REGISTERED
from ledger.supervision.submit import Appended, submit

__all__ = ["gs1_keys_of", "register_gs1_keys"]


def register_gs1_keys(session: Session, ledger: Ledger, vault: KeyVault, enterprise: str, *,
                      prefixes: Sequence[str] = (), glns: Sequence[str] = ()) -> Appended:
    """Record, as the ledger operator, that ``enterprise`` holds these GS1 company prefixes
    and GLNs (one ``gs1_keys_registered`` entry through ``submit``); the caller commits.

    Raises RuleViolation (``gs1.taken``, ``gs1.unknown_enterprise``) or LedgerError (a
    malformed prefix or GLN); the caller's rollback then leaves the ledger as it was.
    """
    statement = ledger.operator_statement(GS1_KEYS_REGISTERED, {
        "enterprise": enterprise, "gs1_prefixes": list(prefixes), "glns": list(glns)})
    [appended] = submit(session, ledger, vault, [statement])
    return appended


def gs1_keys_of(session: Session, enterprise: str) -> dict[str, list[str]]:
    """An enterprise's registered company prefixes and GLNs."""
    rows = session.scalars(select(EnterpriseGs1KeyRow).where(
        EnterpriseGs1KeyRow.enterprise == enterprise).order_by(EnterpriseGs1KeyRow.value))
    keys: dict[str, list[str]] = {"gs1_prefixes": [], "glns": []}
    for row in rows:
        keys["gs1_prefixes" if row.kind == PREFIX else "glns"].append(row.value)
    return keys
