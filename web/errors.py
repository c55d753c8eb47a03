"""The one place that turns errors into HTTP responses.

Every error body is ``{"error": {"code", "message", "field"}}`` (plus ``item`` for the
position in a batch). Views never catch domain errors themselves.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException

from ledger.accounts.users import AccountError
from ledger.db import missing_migrations
from ledger.errors import (
    CheckpointError,
    ConflictError,
    EntryError,
    ForbiddenError,
    IdentityError,
    LedgerError,
    NotFoundError,
    ProofError,
    SignatureError,
    WebhookError,
    render_field,
)
from ledger.supervision.rules import RuleViolation
from scanners.errors import CodeError
from schemas.messages import field_messages
from web.db import get_engine

__all__ = ["ApiError", "error_response", "init_app"]

_STATUS: dict[type[LedgerError], int] = {
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 409,
    AccountError: 422,
    EntryError: 422,
    SignatureError: 422,
    IdentityError: 422,
    ProofError: 422,
    CheckpointError: 422,
    RuleViolation: 422,
    WebhookError: 422,
}


class ApiError(Exception):
    """An error the web layer raises itself (authentication, permissions, bad parameters)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None,
                   item: int | None = None, message_zh: str | None = None
                   ) -> tuple[Response, int]:
    """Build the JSON error body."""
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if item is not None:
        error["item"] = item
    if message_zh is not None:
        error["message_zh"] = message_zh
    return jsonify(error=error), status


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(LedgerError, _ledger_error)
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(CodeError, _code_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(ProgrammingError, _database_error)


def _api_error(exc: ApiError) -> tuple[Response, int]:
    return error_response(exc.status, exc.code, exc.message, exc.field)


def _ledger_error(exc: LedgerError) -> tuple[Response, int]:
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    # Rule violations carry their message in Chinese too.
    return error_response(status, exc.code, exc.message, render_field(exc.field), exc.item,
                          getattr(exc, "message_zh", None))


#: CodeErrors answered otherwise than 400: a photo too large, in a format not read, or read in
#: vain (truncated, or no code on it)
_CODE_STATUS = {"image.too_large": 413, "image.unsupported": 415, "image.unreadable": 422,
                "image.no_code": 422}


def _code_error(exc: CodeError) -> tuple[Response, int]:
    # A code or image that cannot be read is the client's to fix: a 4xx naming the problem.
    return error_response(_CODE_STATUS.get(exc.code, 400), exc.code, exc.message, exc.field)


def _validation_error(exc: ValidationError) -> tuple[Response, int]:
    field, message = _first_message(exc.messages)
    return error_response(422, "validation_error", message, field)


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    # webargs (behind flask-smorest) aborts with the marshmallow messages attached.
    messages = getattr(exc, "data", {}).get("messages")
    if messages:
        locations = messages if isinstance(messages, dict) else {"": messages}
        _location, per_field = next(iter(locations.items()))
        field, message = _first_message(per_field)
        return error_response(status, "validation_error", message, field)
    code = (exc.name or "error").lower().replace(" ", "_")
    response, status = error_response(status, code, exc.description or code)
    # Keep what the exception says in its headers (a 405's Allow, a 401's WWW-Authenticate),
    # over a JSON body rather than Werkzeug's HTML one.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def _database_error(exc: DBAPIError) -> tuple[Response, int]:
    """A database the code cannot use yet: not upgraded by ``tracenet init``, or unreachable.

    Both are the operator's to fix, not a fault of the request, so they answer 503 with what to
    do instead of a bare 500; any other database error is a bug and stays a 500.
    """
    try:
        missing = missing_migrations(get_engine())
    except DBAPIError:  # not even the migrations table can be read: unreachable
        missing = []
    if missing:
        return error_response(503, "database_not_migrated",
                              "the database is older than this release (missing migrations "
                              f"{', '.join(missing)}): run `tracenet init`")
    if isinstance(exc, OperationalError):
        response, status = error_response(503, "database_unavailable",
                                          "the database cannot be reached; try again shortly")
        response.headers["Retry-After"] = "1"
        return response, status
    raise exc


def _first_message(messages: Any) -> tuple[str | None, str]:
    """The first (field path, message) in marshmallow's nested messages."""
    for path, texts in field_messages(messages):
        return render_field(path), texts[0]
    return None, str(messages)
