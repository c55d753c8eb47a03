"""The console's record forms, derived from the payload schemas themselves.

Each form field is read off the marshmallow schema of its record type (required, choices,
example, nested rows), so a form can never drift from :mod:`schemas.records`; what the form
posts is turned into exactly the event body the API takes (``{"type", "event_time",
"payload"}``) and validated by the same :class:`schemas.events.EventSchema`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from marshmallow import fields, validate

from ledger.errors import FieldPath
from ledger.supervision.reference import load_reference
from ledger.supervision.registry import FORM_TYPES
from schemas.codes import RFC3339Field
from schemas.messages import field_messages
from schemas.records import RECORD_SCHEMAS, typed_fields
from schemas.spreadsheet import RECORD_TIME_FIELDS

__all__ = ["FORM_TYPES", "FormField", "errors_by_field", "form_fields", "form_to_event",
           "ledger_error_field", "row_count"]

Widget = Literal["text", "decimal", "select", "bool", "pass", "datetime", "date", "list", "rows"]

#: how many blank rows a fresh form shows for a nested list
_DEFAULT_ROWS = 3
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_LIST_SEPARATOR = re.compile(r"[;；\n]")
_PRESET_WIDGETS = frozenset({"select", "bool", "pass"})
_DATETIME_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class FormField:
    """One input of a record form (or one column of a nested row)."""

    name: str
    widget: Widget
    required: bool
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for selects
    example: str = ""
    columns: tuple[FormField, ...] = field(default=())  # for widget "rows"


def _choices(name: str, f: fields.Field[Any]) -> tuple[tuple[str, str], ...]:
    if name == "category":
        # The 69 categories come from the reference data, the one place that knows them.
        return tuple((c.code, f"{c.code} {c.name_zh} {c.name_en}")
                     for c in load_reference().categories.values())
    for validator in f.validators:
        if isinstance(validator, validate.OneOf):
            return tuple((str(c), str(c)) for c in validator.choices)
    return ()


def _is_date(f: fields.Field[Any]) -> bool:
    return any(isinstance(v, validate.Regexp) and v.regex.pattern == _DATE_PATTERN
               for v in f.validators)


def _form_field(name: str, f: fields.Field[Any]) -> FormField:
    example = f.metadata.get("example", "")
    if isinstance(f, fields.Boolean):
        return FormField(name, "pass" if name == "pass" else "bool", f.required)
    if isinstance(f, RFC3339Field):
        return FormField(name, "datetime", f.required, example=str(example))
    if isinstance(f, fields.List) and isinstance(f.inner, fields.Nested):
        nested = f.inner.schema.fields
        columns = tuple(_form_field(sub.data_key or key, sub) for key, sub in nested.items())
        return FormField(name, "rows", f.required, columns=columns)
    if isinstance(f, fields.List):
        return FormField(name, "list", f.required, example=";".join(map(str, example or [])))
    if _is_date(f):
        return FormField(name, "date", f.required, example=str(example))
    choices = _choices(name, f)
    if choices:
        return FormField(name, "select", f.required, choices=choices)
    widget: Widget = "decimal" if name in ("quantity", "level") else "text"
    return FormField(name, widget, f.required, example=str(example))


def form_fields(record_type: str) -> list[FormField]:
    """The form of ``record_type``: one field per payload field, in the schema's order."""
    schema = RECORD_SCHEMAS[record_type]()
    return [_form_field(name, f) for name, f in typed_fields(schema)]


def row_count(form: Mapping[str, str], group: str) -> int:
    """How many rows of nested list ``group`` the posted form holds (``inputs-2-lot`` ...)."""
    pattern = re.compile(rf"^{re.escape(group)}-(\d+)-")
    indices = [int(m[1]) for key in form for m in [pattern.match(key)] if m]
    return max(indices) + 1 if indices else 0


def _to_rfc3339(text: str, zone: tzinfo) -> str:
    """A ``datetime-local`` value (no offset) read in the user's time zone, as RFC 3339.

    Anything else is passed through for the schema to judge, so a bad value gets the
    schema's own message.
    """
    if not _DATETIME_LOCAL.match(text):
        return text
    local = datetime.fromisoformat(text).replace(tzinfo=zone)
    return local.isoformat(timespec="seconds")


def _value(spec: FormField, text: str, zone: tzinfo) -> Any:
    if spec.widget in ("bool", "pass"):
        return {"true": True, "false": False}.get(text, text)
    if spec.widget == "datetime":
        return _to_rfc3339(text, zone)
    if spec.widget == "list":
        return [part.strip() for part in _LIST_SEPARATOR.split(text) if part.strip()]
    return text


def _rows(spec: FormField, form: Mapping[str, str], zone: tzinfo) -> list[dict[str, Any]]:
    rows = []
    for index in range(row_count(form, spec.name)):
        row = {}
        typed = False
        for column in spec.columns:
            text = form.get(f"{spec.name}-{index}-{column.name}", "").strip()
            if text:
                row[column.name] = _value(column, text, zone)
                # A select always posts its preset (an item's 合格), so only typed-in values
                # tell a row in use from a spare one.
                typed = typed or column.widget not in _PRESET_WIDGETS
        if typed:
            rows.append(row)
    return rows


def form_to_event(record_type: str, form: Mapping[str, str], zone: tzinfo,
                  now: datetime) -> dict[str, Any]:
    """The event body the API would receive for this posted form.

    Blank inputs are left out (so optional fields take their defaults and required ones get
    the schema's "missing" message); the event time is the record's own time field when it
    has one, else ``now`` in the user's time zone.
    """
    payload: dict[str, Any] = {}
    for spec in form_fields(record_type):
        if spec.widget == "rows":
            rows = _rows(spec, form, zone)
            if rows or spec.required:
                payload[spec.name] = rows
            continue
        text = form.get(spec.name, "").strip()
        if text:
            payload[spec.name] = _value(spec, text, zone)
    own_time = RECORD_TIME_FIELDS.get(record_type)
    event_time = payload.get(own_time) if own_time else None
    if not isinstance(event_time, str):
        event_time = now.astimezone(zone).isoformat(timespec="seconds")
    return {"type": record_type, "event_time": event_time, "payload": payload}


def errors_by_field(record_type: str, messages: Any) -> dict[str, list[str]]:
    """marshmallow's messages for an event keyed by form input name (``inputs-0-lot``).

    Errors of the event envelope (its time) land on the record's own time field, which is
    where the form took the time from; anything else lands under ``""`` (the whole form).
    """
    found: dict[str, list[str]] = {}
    own_time = RECORD_TIME_FIELDS.get(record_type)
    for path, texts in field_messages(messages):
        parts = list(path)
        if parts[:1] == ["payload"]:
            parts = parts[1:]
        elif parts[:1] == ["event_time"] and own_time:
            parts = [own_time]
        elif parts[:1] != ["event_time"]:
            parts = []
        found.setdefault("-".join(map(str, parts)), []).extend(texts)
    return found


def ledger_error_field(path: FieldPath | None) -> str:
    """A ledger error's field (``("payload", "inputs", 0, "lot")``) as a form input name
    (``inputs-0-lot``); ``""`` for fields the form does not have (signature, key)."""
    if not path or path[0] != "payload":
        return ""
    return "-".join(map(str, path[1:]))
