"""API bodies for webhook endpoints and the delivery status of notices."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from ledger.outbox import STATUSES

__all__ = ["DeliveryPageSchema", "DeliverySchema", "EndpointBodySchema", "EndpointSchema",
           "EnqueuedSchema", "JSONBoolean"]


class JSONBoolean(fields.Boolean):
    """A JSON true or false, as documented: not the strings and numbers marshmallow also takes."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value

class EndpointBodySchema(Schema):
    """What an enterprise sends to register (or move) its webhook endpoint."""

    # Checked by ledger.outbox.endpoints.check_url (http or https, a host, no credentials),
    # which answers 422 invalid_webhook naming the field.
    url = fields.String(required=True, metadata={
        "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
        "example": "https://erp.example.com/tracenet/webhooks"})
    rotate_secret = JSONBoolean(load_default=False, metadata={
        "description": "make a new secret (shown in this response only); the old one stops "
                       "verifying at once"})


class EndpointSchema(Schema):
    """An enterprise's webhook endpoint."""

    enterprise = fields.String(metadata={"example": "91350100M000100Y43"})
    url = fields.String(metadata={"format": "uri"})
    active = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()
    secret = fields.String(allow_none=True, metadata={
        "description": "the Standard Webhooks signing secret (whsec_...), present only in the "
                       "response that made it: keep it, it is never shown again",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class DeliverySchema(Schema):
    """One notice on its way to one endpoint."""

    id = fields.Integer()
    message_id = fields.String(metadata={
        "description": "the webhook-id header, the same on every retry"})
    key = fields.String(allow_none=True, metadata={
        "description": "what the notice is about, as its sender named it "
                       "(e.g. recall/<seq>/<holder>)"})
    enterprise = fields.String()
    event_type = fields.String(metadata={"example": "recall.initiated"})
    url = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES), "description":
                                     "pending (not tried yet), failed (a retry is scheduled), "
                                     "delivered, dead (given up after the last retry)"})
    attempts = fields.Integer()
    created_at = fields.String()
    next_attempt_at = fields.String(allow_none=True)
    last_attempt_at = fields.String(allow_none=True)
    last_response_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


class RedeliveredSchema(Schema):
    redelivered = fields.Integer(metadata={"description": "dead-lettered deliveries queued again"})


class EnqueuedSchema(Schema):
    message_id = fields.Integer()
