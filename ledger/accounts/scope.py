"""Which enterprises an account or token may see: the regulator's district scope.

A producer sees its own enterprise (and, in listings of records, the records that name it:
that is the listings' business, see ``ledger.supervision.queries``). A regulator has a
``district``: empty for the city bureau (市局), which sees every enterprise, or the name of a
district (区/县局), whose bureau sees only the enterprises registered in it and their lots,
records, recalls and alerts. An administrator sees everything.

A regulator's district matches an enterprise's registered district as a prefix, so a bureau
scoped to ``厦门市`` sees ``厦门市湖里区`` and ``厦门市思明区`` alike, and one scoped to
``厦门市湖里区`` sees only that district.

Everything that lists or shows enterprises' data filters with :func:`visible_enterprises`
(``None`` = no filter), or with :func:`viewer_for`, its form for the record listings, which
take one enterprise, a set of them, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.roles import ADMIN, PRODUCER, REGULATOR
from ledger.errors import ForbiddenError, NotFoundError
from ledger.log.storage import EnterpriseRow

__all__ = [
    "Scoped",
    "Viewer",
    "check_may_grant",
    "check_may_manage",
    "check_may_register",
    "district_enterprises",
    "in_district",
    "may_see",
    "require_manager",
    "scope_label",
    "viewer_for",
    "visible_enterprises",
]

#: whose data a caller may read: one enterprise (a producer), a set of them (a district
#: bureau), or None (everything: the city bureau, an administrator)
Viewer = str | frozenset[str] | None


class Scoped(Protocol):
    """Anything that acts for an enterprise in a role, with a district: a console account
    (``UserRow``), an API token (``ApiToken``) or the web layer's principal."""

    @property
    def enterprise(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def district(self) -> str: ...


def in_district(enterprise_district: str, district: str) -> bool:
    """Whether an enterprise registered in ``enterprise_district`` lies in ``district``
    (empty: the whole city, so always)."""
    return enterprise_district.startswith(district)


def district_enterprises(session: Session, district: str) -> set[str]:
    """The USCCs of the enterprises registered in ``district`` (every one when empty)."""
    query = select(EnterpriseRow.uscc)
    if district:
        # startswith escapes LIKE's wildcards, so a district named with % or _ matches itself
        query = query.where(EnterpriseRow.district.startswith(district, autoescape=True))
    return set(session.scalars(query))


def visible_enterprises(session: Session, user: Scoped) -> set[str] | None:
    """The enterprises ``user`` may see, or None for all of them.

    Administrators and the city bureau (a regulator with no district): None. A district
    bureau: the enterprises registered in its district (possibly none). A producer, or a role
    this module does not know (nothing is shown that no rule grants): its own enterprise.
    """
    if user.role == ADMIN or (user.role == REGULATOR and not user.district):
        return None
    if user.role == REGULATOR:
        return district_enterprises(session, user.district)
    return {user.enterprise}


def viewer_for(session: Session, user: Scoped) -> Viewer:
    """The viewer the record listings take for ``user``: its enterprise for a producer (who
    also sees what names it), the district's enterprises and the bureau itself for a district
    bureau, None for everyone who sees all."""
    if user.role == PRODUCER:
        return user.enterprise
    visible = visible_enterprises(session, user)
    if visible is None:
        return None
    if user.role == REGULATOR:
        # and its own bureau's records (the recalls it ordered, its spot checks), wherever
        # the bureau itself happens to be registered
        return frozenset(visible | {user.enterprise})
    return user.enterprise


def may_see(session: Session, user: Scoped, enterprise: str) -> bool:
    """Whether ``user`` may see ``enterprise`` and its data."""
    visible = visible_enterprises(session, user)
    return visible is None or enterprise in visible


def require_manager(user: Scoped) -> None:
    """Only a bureau (regulator) or an administrator onboards enterprises and manages their
    tokens and accounts: ForbiddenError for anyone else."""
    if user.role not in (REGULATOR, ADMIN):
        raise ForbiddenError("only a regulator or an administrator manages enterprises",
                             field="role")


def check_may_manage(session: Session, user: Scoped, enterprise: str) -> EnterpriseRow:
    """The registered ``enterprise`` when ``user`` may issue and revoke its tokens and console
    accounts: NotFoundError when it is not registered or lies outside the user's district (a
    district bureau is not told what exists elsewhere), ForbiddenError for a producer."""
    require_manager(user)
    # what no USCC looks like is not looked up (PostgreSQL refuses a NUL in a query)
    row = (session.get(EnterpriseRow, enterprise)
           if len(enterprise) <= 40 and enterprise.isprintable() else None)
    if row is None or not may_see(session, user, enterprise):
        raise NotFoundError(f"no enterprise {enterprise} in your scope", field="enterprise")
    return row


def check_may_register(user: Scoped, district: str, roles: Sequence[str]) -> None:
    """Whether ``user`` may register an enterprise in ``district`` with ``roles``: a district
    bureau registers producers of its own district only; the city bureau and administrators
    any. ForbiddenError naming the field otherwise."""
    require_manager(user)
    if user.role == REGULATOR and user.district:
        if not in_district(district, user.district):
            raise ForbiddenError(f"a bureau of {user.district} registers enterprises of its "
                                 f"own district, not of {district}", field="district")
        if any(role != PRODUCER for role in roles):
            raise ForbiddenError("a district bureau registers producers only", field="roles")


def check_may_grant(user: Scoped, row: EnterpriseRow, role: str, district: str) -> None:
    """Whether ``user`` may issue a token or account of ``role`` (scoped to ``district``) for
    the enterprise ``row``: the role must be one the enterprise is registered in, and a
    district bureau grants no wider a district than its own. ForbiddenError otherwise."""
    if role not in row.roles.split(","):
        raise ForbiddenError(f"{row.uscc} is registered as {row.roles}, not as {role}",
                             field="role")
    if user.role == REGULATOR and user.district and role == REGULATOR and not (
            district and in_district(district, user.district)):
        raise ForbiddenError(f"a bureau of {user.district} grants regulator access within "
                             "its own district only", field="district")


def scope_label(user: Scoped) -> str:
    """The scope in words for a page's heading: the district, or '' for all / own."""
    return user.district if user.role == REGULATOR else ""
