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
from flask import Flask, request
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema
from marshmallow import INCLUDE, Schema, fields
from werkzeug.routing import IntegerConverter

from web.auth import require_principal
from web.db import get_session

__all__ = ["ERROR_STATUSES", "ContractApi", "ContractPlugin", "ErrorSchema", "PageSchema",
           "authenticate_first", "register_events"]

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


#: the largest number a path's ``<int:…>`` takes: a seq is a BIGINT in the database
MAX_PATH_INT = 2**63 - 1


class BigintConverter(IntegerConverter):
    """``<int:…>`` bounded to a BIGINT: a larger number matches no route (a 404), rather than
    overflowing the database driver (a 500); the document says ``maximum``."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_PATH_INT)
        super().__init__(map, *args, **kwargs)


class ContractApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with our error envelope as the error schema of every operation."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # replaced by the explicit statuses of ContractPlugin

    def __init__(self, app: Flask) -> None:
        # Before any rule is added: every <int:…> of the app is bounded.
        app.url_map.converters["int"] = BigintConverter
        super().__init__(app, spec_kwargs={"extra_plugins": [ContractPlugin()]})
        self.register_converter(BigintConverter, integerconverter2paramschema)
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


def _title(type_: str) -> str:
    return "".join(word.title() for word in type_.split("_"))


def register_events(api: Api, payload_schemas: dict[str, type[Schema]]) -> None:
    """Each event type as its own schema (``<Type>Event``: the envelope with that type's
    payload), and ``Event`` as their ``oneOf`` with a discriminator on ``type``: a body is
    described as precisely as EventSchema validates it."""
    variants: dict[str, str] = {}
    for type_, payload in payload_schemas.items():
        api.spec.components.schema(_title(type_), schema=payload)
        name = f"{_title(type_)}Event"
        api.spec.components.schema(name, {
            "type": "object",
            "required": ["type", "event_time", "payload"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "enum": [type_]},
                "enterprise": {"type": "string", "nullable": True,
                               "description": "defaults to the token's enterprise"},
                "key_id": {"type": "string", "nullable": True, "description": (
                    "signing key; defaults to the enterprise's custodial key (required "
                    "with a signature)")},
                "event_time": {"type": "string", "format": "date-time",
                               "example": "2026-11-26T08:30:00+08:00"},
                "payload": {"$ref": f"#/components/schemas/{_title(type_)}"},
                "signature": {"type": "string", "nullable": True,
                              "pattern": "^[A-Za-z0-9+/]{86}==$",
                              "description": (
                                  "Ed25519 signature over the statement's signing bytes, "
                                  "base64; omit to have the server sign with the custodial "
                                  "key")},
            },
        })
        variants[type_] = f"#/components/schemas/{name}"
    api.spec.components.schema("Event", {
        "oneOf": [{"$ref": ref} for ref in variants.values()],
        "discriminator": {"propertyName": "type", "mapping": variants},
    })


def authenticate_first(app: Flask) -> None:
    """Operations documented with a bearer token check it before their parameters: a request
    without a valid token is a 401 whatever else is wrong with it (as the document says)."""
    @app.before_request
    def _token_before_parameters() -> None:
        view = app.view_functions.get(request.endpoint or "")
        manual = getattr(view, "_apidoc", {}).get("manual_doc", {})
        if manual.get("security") and request.method != "OPTIONS":
            require_principal(get_session())
