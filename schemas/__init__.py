"""marshmallow schemas for API bodies and ledger payloads, with identifier validation."""
