"""The roles an enterprise, its API tokens and its console accounts act in."""

from __future__ import annotations

__all__ = ["ADMIN", "ASSOCIATION", "PRODUCER", "REGULATOR", "ROLES", "sees_everything"]

PRODUCER = "producer"
REGULATOR = "regulator"
ADMIN = "admin"
#: an industry association (行业协会): pre-reviews quality credit applications
ASSOCIATION = "association"
ROLES = (PRODUCER, REGULATOR, ADMIN, ASSOCIATION)


def sees_everything(role: str) -> bool:
    """Whether the role reads every enterprise's records (regulators and administrators)."""
    return role in (REGULATOR, ADMIN)
