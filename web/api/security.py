"""The API's one security scheme, a bearer token, and how an operation asks for it."""

from __future__ import annotations

__all__ = ["BEARER", "BEARER_SCHEME"]

BEARER_SCHEME = "bearerAuth"

#: ``@blp.doc(security=BEARER)``: the operation reads the caller from its API token
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
