"""What every operation of the OpenAPI document promises besides its own success shape.

The service answers every error with one envelope, ``{"error": {"code", "message", "field"}}``
(web/errors.py), so the document declares that envelope once (``Error``) and every operation
refers to it for each error status the shared machinery can give: 400 (unreadable or too deeply
nested JSON, a bad parameter), 401 and 403 (tokens, permissions), 404, 405 (with its ``Allow``
header), 409, 413 (the body limit, checked before the body is read), 422 (validation, rules)
and 429 (rate limits). flask-smorest's own error schema (``code``/``status``/``errors``) is not
what the service sends, so it is replaced rather than documented beside ours.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields

__all__ = ["ERROR_STATUSES", "ContractApi", "ContractPlugin", "ErrorSchema", "PageSchema"]

#: the error statuses any operation may answer with, through the shared machinery
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422, 429)

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class ErrorDetailSchema(Schema):
    """The body of an error: a stable code, a message, and the field at fault (or null)."""

    class Meta:
        unknown = INCLUDE  # a rule violation adds ``message_zh``; a batch, ``item``

    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    field = fields.String(required=True, allow_none=True,
                          metadata={"description": "the parameter or body field at fault"})
    item = fields.Integer(metadata={"description": "the position in a batch"})
    message_zh = fields.String(metadata={"description": "the message in Chinese"})


class ErrorSchema(Schema):
    """The one error envelope of the API."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class PageSchema(Schema):
    """A page of a list: its items and the cursor of the next one (null on the last page)."""

    items = fields.List(fields.Dict(), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "pass as ``cursor`` for the next page"})


def _error_response_name(status: int) -> str:
    return f"Error{status}"


class ContractPlugin(BasePlugin):
    """Adds the standard error responses to every operation that does not declare its own."""

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)  # every status is declared: no catch-all
            for status in ERROR_STATUSES:
                # An operation's own 4xx (with its description) is kept; it still points at
                # the envelope, the only error body there is.
                responses.setdefault(str(status), _error_response_name(status))


class ContractApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with our error envelope as the error schema of every operation."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # replaced by the explicit statuses of ContractPlugin

    def __init__(self, app: Any) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [ContractPlugin()]})
        # flask-smorest registers ERROR_SCHEMA as the component "Error".
        for status in ERROR_STATUSES:
            response: dict[str, Any] = {
                "description": HTTPStatus(status).phrase,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            if status == 405:
                response["headers"] = {"Allow": {
                    "description": "the methods the resource answers", "required": True,
                    "schema": {"type": "string"}}}
            if status == 429:
                response["headers"] = {"Retry-After": {
                    "description": "seconds until the limit's window ends",
                    "schema": {"type": "integer"}}}
            self.spec.components.response(_error_response_name(status), response)
