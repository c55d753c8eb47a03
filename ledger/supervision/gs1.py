"""Rules for the GS1 keys an enterprise holds: its company prefixes and GLNs.

They say which enterprise an EPCIS event's location belongs to (``ledger.epcis.owners``).
Only the ledger operator registers them (``gs1_keys_registered``, signed by the operator key,
naming the enterprise), for a registered enterprise; a key held by another enterprise, or a
company prefix that overlaps another's (one begins the other), is refused.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ledger.errors import LedgerError
from ledger.log.identity import OPERATOR
from ledger.log.storage import EnterpriseRow
from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.context import RecordContext
from ledger.supervision.models import EnterpriseGs1KeyRow
from ledger.supervision.rules import RuleViolation

__all__ = ["GLN", "PREFIX", "check_gln", "check_prefix", "gs1_keys_registered"]

PREFIX = "prefix"
GLN = "gln"
_PREFIX = re.compile(r"[0-9]{6,12}")
_GLN = re.compile(r"[0-9]{13}")


def check_prefix(value: object) -> str | None:
    """What is wrong with ``value`` as a GS1 company prefix (6-12 digits), or None."""
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        return f"a GS1 company prefix is 6 to 12 digits, got {value!r}"
    return None


def check_gln(value: object) -> str | None:
    """What is wrong with ``value`` as a GLN (13 digits, GS1 check digit), or None."""
    if not isinstance(value, str) or not _GLN.fullmatch(value):
        return f"a GLN is 13 digits, got {value!r}"
    if gs1_check_digit(value[:-1]) != value[-1]:
        return f"GLN {value} has a wrong check digit (expected {gs1_check_digit(value[:-1])})"
    return None


def gs1_keys_registered(a: RecordContext) -> None:
    """Give an enterprise GS1 company prefixes and GLNs (each once, and a key twice to the
    same enterprise is no change)."""
    if a.enterprise != OPERATOR:
        raise RuleViolation("gs1.operator_only", a.field("enterprise"), enterprise=a.enterprise)
    enterprise = a.text("enterprise")
    a.rows.flush()  # an enterprise registered earlier in the batch (or the replay) is pending
    if a.session.get(EnterpriseRow, enterprise) is None:
        raise RuleViolation("gs1.unknown_enterprise", a.field("enterprise"),
                            enterprise=enterprise)
    for kind, name, check in ((PREFIX, "gs1_prefixes", check_prefix),
                              (GLN, "glns", check_gln)):
        values = a.payload.get(name, [])
        if not isinstance(values, list):
            raise LedgerError(f"payload.{name} must be a list", field=a.field(name))
        for index, value in enumerate(values):
            problem = check(value)
            if problem is not None:
                raise LedgerError(problem, field=a.field(name, index))
            held = a.rows.get(EnterpriseGs1KeyRow, (kind, value))
            if held is None and kind == PREFIX:
                held = _overlapping_prefix(a, value, enterprise)
            if held is not None and held.enterprise != enterprise:
                raise RuleViolation("gs1.taken", a.field(name, index), kind=kind,
                                    value=held.value, owner=held.enterprise)
            if a.rows.get(EnterpriseGs1KeyRow, (kind, value)) is None:
                a.rows.add(EnterpriseGs1KeyRow(kind=kind, value=value, enterprise=enterprise,
                                               seq=a.entry.seq))


def _overlapping_prefix(a: RecordContext, value: str,
                        enterprise: str) -> EnterpriseGs1KeyRow | None:
    """Another enterprise's prefix that begins ``value``, or that ``value`` begins."""
    a.rows.flush()  # prefixes registered earlier in this batch must be found
    shorter = [value[:length] for length in range(6, len(value))]
    found = a.session.scalars(select(EnterpriseGs1KeyRow).where(
        EnterpriseGs1KeyRow.kind == PREFIX, EnterpriseGs1KeyRow.enterprise != enterprise,
        EnterpriseGs1KeyRow.value.in_(shorter) | EnterpriseGs1KeyRow.value.startswith(value)
    ).limit(1)).first()
    return found
