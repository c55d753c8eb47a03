"""API bodies of enterprise onboarding by a bureau: registering an enterprise, issuing its
tokens and opening its console accounts (web/api/onboarding.py, web/console/enterprises.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ledger.accounts.roles import ROLES
from schemas.events import EnterpriseRegisteredSchema

__all__ = ["AccessTokenSchema", "AuditQuerySchema", "EnterpriseBodySchema",
           "IssuedTokenSchema", "RegisteredSchema", "TokenBodySchema", "UserBodySchema",
           "UserSchema"]

#: printable text: no control characters (PostgreSQL refuses a NUL in text)
_PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="control characters are not allowed")
_GS1_PREFIX = validate.Regexp(r"^[0-9]{6,12}$", error="a GS1 company prefix is 6-12 digits")
_GLN = validate.Regexp(r"^[0-9]{13}$", error="a GLN is 13 digits")
_DISTRICT = fields.String(load_default="", validate=[validate.Length(0, 100), _PRINTABLE],
                          metadata={
    "description": "a regulator's district (empty: the whole city); others have none",
    "example": "厦门市"})


class EnterpriseBodySchema(EnterpriseRegisteredSchema):
    """An enterprise to register: the ``enterprise_registered`` payload (roles default to
    producer) plus the GS1 company prefixes and GLNs it holds."""

    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)),
                        load_default=lambda: ["producer"], validate=validate.Length(1, 3))
    gs1_prefixes = fields.List(fields.String(validate=_GS1_PREFIX), load_default=list,
                               validate=validate.Length(0, 20), metadata={
                                   "example": ["6941234"]})
    glns = fields.List(fields.String(validate=_GLN), load_default=list,
                       validate=validate.Length(0, 50), metadata={
                           "example": ["6941234000011"]})


class RegisteredSchema(Schema):
    """A registered enterprise."""

    uscc = fields.String(required=True)
    name = fields.String(required=True)
    district = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    registered_seq = fields.Integer(required=True)
    key_id = fields.String(required=True, allow_none=True)
    gs1_prefixes = fields.List(fields.String(), required=True)
    glns = fields.List(fields.String(), required=True)


class TokenBodySchema(Schema):
    """A token to issue."""

    role = fields.String(load_default="producer", validate=validate.OneOf(ROLES))
    district = _DISTRICT
    label = fields.String(load_default="", validate=[validate.Length(0, 100), _PRINTABLE],
                          metadata={"example": "ERP 接口"})


class AccessTokenSchema(Schema):
    """A token as listed: never the token itself, only its public id."""

    id = fields.String(required=True, metadata={"description": "first 16 hex digits of the "
                                                "token's SHA-256, by which it is revoked"})
    enterprise = fields.String(required=True)
    role = fields.String(required=True)
    district = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.String(required=True)
    revoked_at = fields.String(required=True, allow_none=True)


class IssuedTokenSchema(AccessTokenSchema):
    """A token just issued, with its secret value: shown this once only."""

    token = fields.String(required=True)


class UserBodySchema(Schema):
    """A console account to open."""

    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._@-]{3,60}$", error="3-60 characters of A-Z a-z 0-9 . _ @ -"))
    password = fields.String(required=True, validate=validate.Length(8, 200),
                             load_only=True)
    role = fields.String(load_default="producer", validate=validate.OneOf(ROLES))
    district = _DISTRICT


class UserSchema(Schema):
    """A console account (never its password)."""

    username = fields.String(required=True)
    enterprise = fields.String(required=True)
    role = fields.String(required=True)
    district = fields.String(required=True)
    created_at = fields.String(required=True)


class AuditQuerySchema(Schema):
    """Filters of the audit trail."""

    actor = fields.String(load_default=None, validate=[validate.Length(1, 100), _PRINTABLE])
    enterprise = fields.String(load_default=None, validate=[validate.Length(1, 40),
                                                            _PRINTABLE])
    action = fields.String(load_default=None, validate=[validate.Length(1, 40), _PRINTABLE])
    since = fields.DateTime(load_default=None, metadata={"example": "2026-11-28T00:00:00Z"})
    until = fields.DateTime(load_default=None, metadata={"example": "2026-11-29T00:00:00Z"})
