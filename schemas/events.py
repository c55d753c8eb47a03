"""API bodies for ledger events: the statement envelope and each type's payload."""

from __future__ import annotations

import base64
import binascii
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ledger.accounts.roles import ROLES
from ledger.log.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED, KEY_REVOKED, OPERATOR
from schemas.codes import validate_sc_licence
from schemas.identifiers import validate_rfc3339, validate_uscc
from schemas.records import RECORD_SCHEMAS

__all__ = ["PAYLOAD_SCHEMAS", "EntrySchema", "EventSchema", "SignedEntryTimestampSchema",
           "load_payload"]

def _base64_bytes(length: int | None) -> validate.Validator:
    def check(value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):  # ValueError: a character outside ASCII
            raise ValidationError("expected standard base64") from None
        if length is not None and len(raw) != length:
            raise ValidationError(f"expected {length} bytes, got {len(raw)}")
        return value

    return check  # type: ignore[return-value]


def _licences(licences: dict[str, str]) -> None:
    if "SC" in licences:
        try:
            validate_sc_licence(licences["SC"])
        except ValidationError as exc:
            raise ValidationError({"SC": exc.messages}) from None


class EnterpriseRegisteredSchema(Schema):
    uscc = fields.String(required=True, validate=validate_uscc, metadata={
        "description": "统一社会信用代码", "example": "91350100M000100Y43"})
    name = fields.String(required=True, validate=validate.Length(1, 200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1))
    district = fields.String(required=True, validate=validate.Length(1, 100),
                             metadata={"example": "福州市鼓楼区"})
    licences = fields.Dict(keys=fields.String(validate=validate.Length(1, 60)),
                           values=fields.String(validate=validate.Length(1, 100)),
                           load_default=dict, validate=_licences, metadata={
                               "description": "licence kind -> number; an SC food production "
                                              "licence (key \"SC\") is checked",
                               "example": {"SC": "SC10635010200015"}})


def _enterprise_id(value: str) -> str:
    return value if value == OPERATOR else validate_uscc(value)


class KeyRegisteredSchema(Schema):
    enterprise = fields.String(required=True, validate=_enterprise_id)
    key_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{16}$"))
    public_key = fields.String(required=True, validate=_base64_bytes(32),
                               metadata={"description": "raw Ed25519 public key, base64"})


class KeyRevokedSchema(Schema):
    key_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{16}$"))
    reason = fields.String(required=True, validate=validate.Length(1, 500))


PAYLOAD_SCHEMAS: dict[str, type[Schema]] = {
    ENTERPRISE_REGISTERED: EnterpriseRegisteredSchema,
    KEY_REGISTERED: KeyRegisteredSchema,
    KEY_REVOKED: KeyRevokedSchema,
    **RECORD_SCHEMAS,
}


class EventSchema(Schema):
    """One event as posted: a statement, signed by the client or to be signed custodially."""

    type = fields.String(required=True, validate=validate.OneOf(sorted(PAYLOAD_SCHEMAS)))
    enterprise = fields.String(load_default=None,
                               metadata={"description": "defaults to the token's enterprise"})
    key_id = fields.String(load_default=None, metadata={
        "description": "signing key; defaults to the enterprise's custodial key"})
    event_time = fields.String(required=True, validate=validate_rfc3339,
                               metadata={"example": "2026-11-26T08:30:00+08:00"})
    payload = fields.Dict(required=True)
    signature = fields.String(load_default=None, validate=_base64_bytes(64), metadata={
        "description": "Ed25519 signature over the statement's signing bytes, base64; "
                       "omit to have the server sign with the custodial key"})

    @validates_schema
    def _signed_events_name_their_key(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("signature") and not data.get("key_id"):
            raise ValidationError({"key_id": ["a signed event must name its key_id"]})

    @post_load
    def _payload_fits_type(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """Validate the payload with its type's schema; what that loads is what is stored."""
        data["payload"] = load_payload(data["type"], data["payload"],
                                       signed=bool(data.get("signature")))
        return data


@cache
def _payload_schema(type_: str) -> Schema:
    """One instance per payload schema: building a marshmallow schema deep-copies its fields
    (about 100 µs), and a loaded instance keeps no state between loads."""
    return PAYLOAD_SCHEMAS[type_]()


def load_payload(type_: str, payload: dict[str, Any], *, signed: bool,
                 path: tuple[str | int, ...] = ("payload",)) -> dict[str, Any]:
    """Validate and normalise a payload of ``type_``; errors are nested under ``path``.

    A signed payload must already be in normal form: the signature covers it as sent.
    """
    def nested(messages: Any) -> dict[str, Any]:
        for name in reversed(path):
            messages = {name: messages}
        return messages  # type: ignore[no-any-return]

    try:
        loaded: dict[str, Any] = _payload_schema(type_).load(payload)
    except ValidationError as exc:
        raise ValidationError(nested(exc.messages)) from None
    if signed and loaded != payload:
        field = next((name for name in sorted(set(loaded) | set(payload))
                      if loaded.get(name) != payload.get(name)), "")
        raise ValidationError(nested({field: [
            f"a signed payload must be in normal form: expected {loaded.get(field)!r}, "
            f"got {payload.get(field)!r} (`tracenet sign` normalises for you)"]}))
    return loaded


class SignedEntryTimestampSchema(Schema):
    """The operator's signed promise to include an entry (see ``ledger.log.timestamp``)."""

    origin = fields.String()
    seq = fields.Integer()
    leaf_hash = fields.String(metadata={"description": "the entry's leaf hash, base64"})
    integrated_time = fields.String(metadata={"description": "recorded_at, RFC 3339 UTC"})
    key_id = fields.String(metadata={"description": "the operator key that signed"})
    signature = fields.String(metadata={"description": (
        "Ed25519, base64, over 'tracenet signed entry timestamp v1\\n' origin '\\n' seq '\\n' "
        "base64(leaf_hash) '\\n' integrated_time '\\n'")})


class EntrySchema(Schema):
    """A sequenced entry as served by the API."""

    v = fields.Integer()
    seq = fields.Integer()
    type = fields.String()
    enterprise = fields.String()
    key_id = fields.String()
    event_time = fields.String()
    recorded_at = fields.String()
    payload = fields.Dict()
    prev = fields.String(metadata={"description": "previous entry's leaf hash, hex"})
    signature = fields.String()
    leaf_hash = fields.String(metadata={"description": "SHA-256(0x00 || canonical), hex"})
    notices = fields.List(fields.Dict(), metadata={
        "description": "warnings and notices the rules attached (standard warnings …)"})
    signed_entry_timestamp = fields.Nested(SignedEntryTimestampSchema, metadata={
        "description": "the operator's signed promise to include the entry (on append)"})
    checkpoint = fields.String(allow_none=True, metadata={"description": (
        "with ?wait=checkpoint: a signed checkpoint (C2SP note) covering the entry, or null "
        "when none came within the timeout")})
