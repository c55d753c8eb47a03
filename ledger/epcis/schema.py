"""EPCIS 2.0 documents and events checked against GS1's EPCIS 2.0 JSON Schema (draft-07).

GS1 publishes the schema under its disclaimer (``DISCLAIMER.txt`` beside it, the same text as
the LICENSE of GS1's EPCIS repository), which grants no licence to copy or redistribute it, so
Tracenet does not ship it: :func:`load_schema` reads it from a path, given or configured with
``TRACENET_EPCIS_SCHEMA`` (in development ``../shared/epcis/gs1/EPCIS-JSON-Schema.json``), and
raises :class:`SchemaUnavailable` saying so when there is none.

Two validators share the schema and the same ``date-time`` (RFC 3339, with a zone) and ``uri``
(RFC 3986 absolute URI) format checks:

- ``fastjsonschema`` compiles it to Python once per process. It is the screen: a valid
  document passes in well under 0.1 ms per event, where ``jsonschema`` takes 1-2 ms (12 ms for
  GS1's all-fields example: the schema checks every property name of every event against an
  ``anyOf``), 10-20 s for the 10,000 events a capture may hold (``bench/epcis_wire.py``).
- ``jsonschema`` (the reference implementation) says what is wrong when the screen refuses:
  every problem, with its field path and a message naming it. It is run on the document with
  its events set aside and on each refused event alone (at most :data:`MAX_DIAGNOSED` of them),
  so a large document with one bad event is diagnosed as fast as a small one.

What the schema does not check, so the capture's own rules must (each tried here, and passed by
the schema): an empty ``epcList``; an AggregationEvent ``ADD``/``DELETE`` without ``parentID``;
negative quantities, or a quantity without ``uom`` (we count items); the syntax of EPC URIs
(``urn:epc:id:sgtin:123`` is a URI) and GS1 check digits in Digital Links; any absolute URI as a
business step or disposition; a ``recordTime`` before the ``eventTime``, event times in the
future, an ``eventTimeZoneOffset`` at odds with the time's own; the same ``eventID`` (or hash
ID) twice; ``set`` and ``unset`` of one persistent disposition together; a business transaction
without ``type``; a read point or business location that is not a location (a GTIN). All seven
OpenEPCIS invalid documents are refused by the schema itself.

Problems are :class:`~ledger.errors.EPCISError` (``code`` ``epcis_<keyword>``, ``message``,
``field`` a path tuple such as ``("epcisBody", "eventList", 0, "action")``); validation raises
the first with all of them in ``problems``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from referencing import Registry
from rfc3339_validator import validate_rfc3339
from rfc3986_validator import validate_rfc3986

from ledger.errors import EPCISError, FieldPath, render_field

__all__ = ["MAX_DIAGNOSED", "SCHEMA_ENV", "EPCISSchema", "SchemaUnavailable", "load_schema"]

#: the environment variable naming the schema file
SCHEMA_ENV = "TRACENET_EPCIS_SCHEMA"
#: refused events diagnosed one by one with ``jsonschema``; the rest get the screen's message
MAX_DIAGNOSED = 50
_MAX_LISTED = 8  # allowed values quoted in an enum message


class SchemaUnavailable(RuntimeError):
    """No EPCIS JSON Schema file to validate against (not shipped: see the module docstring)."""


@lru_cache(maxsize=1 << 16)
def _is_uri(value: str) -> bool:
    return bool(validate_rfc3986(value, rule="URI"))


@lru_cache(maxsize=1 << 16)
def _is_date_time(value: str) -> bool:
    return bool(validate_rfc3339(value.upper()))


def _format(check: Callable[[str], bool]) -> Callable[[object], bool]:
    # cached: property names and vocabulary URIs repeat in every event of a document
    return lambda value: not isinstance(value, str) or check(value)


_FORMATS: dict[str, Callable[[object], bool]] = {"uri": _format(_is_uri),
                                                 "date-time": _format(_is_date_time)}
_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
for _name, _check in _FORMATS.items():
    _FORMAT_CHECKER.checks(_name)(_check)

_DESCRIPTIONS = {"uri": "an absolute URI", "date-time": "an RFC 3339 date-time with a time zone"}


@dataclass(frozen=True)
class _Validators:
    """The screen and the diagnosis for one (sub)schema."""

    screen: Callable[[object], object]
    diagnosis: jsonschema.protocols.Validator
    #: what an empty field path names in a message
    subject: str

    def problems(self, instance: object, prefix: FieldPath = ()) -> list[EPCISError]:
        try:
            self.screen(instance)
            return []
        except fastjsonschema.JsonSchemaValueException as refusal:
            found = _problems(self.diagnosis.iter_errors(instance), prefix, self.subject)
            if found:
                return found
            # the two validators disagree: stay on the side of refusing, saying what the
            # screen saw (a test holds them equal on every fixture)
            return [EPCISError(refusal.message, field=prefix + _screen_path(refusal),
                               code=f"epcis_{_snake(str(refusal.rule))}")]


def _screen_path(refusal: fastjsonschema.JsonSchemaValueException) -> FieldPath:
    """``data.epcisBody.eventList[3].action`` -> ``("epcisBody", "eventList", 3, "action")``."""
    name = (refusal.name or "data").removeprefix("data")
    return tuple(key if key else int(index)
                 for key, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", name))


class EPCISSchema:
    """GS1's EPCIS 2.0 JSON Schema, compiled: documents, standalone events and the events of a
    document's ``eventList``."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        definitions = schema.get("definitions", {})
        self._root = self._validators(dict(schema), "the document")
        # an event inside a document: no @context of its own needed
        # ($ref in allOf: in draft-07 a $ref beside $id would hide the $id)
        self._event = self._validators({"$schema": schema.get("$schema"),
                                        "$id": schema.get("$id", ""),
                                        "allOf": [{"$ref": "#/definitions/EPCIS-Document-Event"}],
                                        "definitions": definitions}, "the event")

    @staticmethod
    def _validators(schema: dict[str, Any], subject: str) -> _Validators:
        return _Validators(
            subject=subject,
            screen=fastjsonschema.compile(_enums_first(schema), formats=_FORMATS,
                                          use_default=False,
                                          handlers={"http": _offline, "https": _offline}),
            # an empty registry: jsonschema's default one would fetch a remote $ref
            diagnosis=jsonschema.Draft7Validator(schema, format_checker=_FORMAT_CHECKER,
                                                 registry=Registry()))

    def problems(self, document: object) -> list[EPCISError]:
        """Every problem of an EPCISDocument, EPCISQueryDocument or standalone event (which
        then carries its own ``@context``), in document order; empty when valid."""
        try:
            self._root.screen(document)
            return []
        except fastjsonschema.JsonSchemaValueException as refusal:
            where = _screen_path(refusal)
        events = _event_list(document)
        if events is None:
            return self._root.problems(document)
        body = document["epcisBody"] if isinstance(document, Mapping) else {}
        shell = {**document, "epcisBody": {**body, "eventList": []}} \
            if isinstance(document, Mapping) else document
        found = self._root.problems(shell)
        # the screen checks the events in order and stopped at the first bad one
        first = where[2] if where[:2] == ("epcisBody", "eventList") and len(where) > 2 \
            and isinstance(where[2], int) else 0
        refused = 0
        for index in range(first, len(events)):
            event = events[index]
            prefix: FieldPath = ("epcisBody", "eventList", index)
            if refused >= MAX_DIAGNOSED:
                try:
                    self._event.screen(event)
                except fastjsonschema.JsonSchemaValueException as refusal:
                    found.append(EPCISError(refusal.message,
                                            field=prefix + _screen_path(refusal),
                                            code=f"epcis_{_snake(str(refusal.rule))}"))
                continue
            event_problems = self._event.problems(event, prefix)
            refused += bool(event_problems)
            found += event_problems
        return found

    def event_problems(self, event: object) -> list[EPCISError]:
        """Every problem of one event as it sits in a document's ``eventList``."""
        return self._event.problems(event)

    def validate(self, document: object) -> None:
        """Raise :class:`EPCISError` (all problems in ``problems``) unless ``document`` is a
        valid EPCIS 2.0 document or standalone event."""
        _raise(self.problems(document))

    def validate_event(self, event: object) -> None:
        """As :meth:`validate`, for one event of a document's ``eventList``."""
        _raise(self.event_problems(event))


def _enums_first(node: Any) -> Any:
    """The schema with each ``anyOf``'s plain enumerations tried first: the same verdicts (an
    ``anyOf`` does not depend on its order), but a standard field name or CBV word no longer
    fails a URI branch first, and each failed branch costs the compiled screen an exception
    (GS1's schema asks this of every property name of every event): ~40 % of the screen."""
    if isinstance(node, list):
        return [_enums_first(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _enums_first(value) for key, value in node.items()}
    if isinstance(copied.get("anyOf"), list):
        copied["anyOf"] = sorted(copied["anyOf"], key=lambda branch: not (
            isinstance(branch, dict) and "enum" in branch and set(branch) <= {"type", "enum"}))
    return copied


def _offline(uri: str) -> Any:
    """Nothing is fetched while compiling: the schema must be whole (GS1's is inlined)."""
    raise SchemaUnavailable(f"the EPCIS JSON Schema refers to {uri}, which is not fetched")


def _event_list(document: object) -> list[object] | None:
    if not isinstance(document, Mapping) or document.get("type") != "EPCISDocument":
        return None
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    return events if isinstance(events, list) else None


def _raise(problems: list[EPCISError]) -> None:
    if problems:
        first = problems[0]
        raise EPCISError(first.message, field=first.field, code=first.code,
                         problems=tuple(problems))


def load_schema(path: str | os.PathLike[str] | None = None) -> EPCISSchema:
    """The EPCIS 2.0 JSON Schema at ``path`` (default: ``$TRACENET_EPCIS_SCHEMA``), compiled
    once per process and file."""
    where = path if path is not None else os.environ.get(SCHEMA_ENV)
    if not where:
        raise SchemaUnavailable(
            "no EPCIS 2.0 JSON Schema: GS1's licence (its disclaimer) grants no right to "
            f"redistribute it, so Tracenet does not ship it; set {SCHEMA_ENV} to the path of "
            "EPCIS-JSON-Schema.json (GS1's EPCIS repository, or ../shared/epcis/gs1/)")
    resolved = Path(where).resolve()
    if not resolved.is_file():
        raise SchemaUnavailable(f"no EPCIS 2.0 JSON Schema at {resolved} ({SCHEMA_ENV})")
    return _compiled(str(resolved), resolved.stat().st_mtime_ns)


@cache
def _compiled(path: str, _mtime: int) -> EPCISSchema:
    with open(path, encoding="utf-8") as source:
        return EPCISSchema(json.load(source))


# --- jsonschema errors -> EPCISError ---------------------------------------------------------

def _snake(keyword: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower()


def _path_key(problem: EPCISError) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, part)
                 for part in problem.field or ())


def _problems(errors: Iterable[jsonschema.ValidationError], prefix: FieldPath,
              subject: str) -> list[EPCISError]:
    found: dict[tuple[FieldPath | None, str], EPCISError] = {}
    for error in errors:
        problem = _problem(error, prefix, subject)
        found.setdefault((problem.field, problem.message), problem)
    # "none of the alternatives" says little when a plainer problem sits at or under its field
    # (an invalid action also fails the anyOf that ties the action to its fields)
    vague = {"epcis_any_of", "epcis_one_of"}
    kept = [problem for problem in found.values() if problem.code not in vague or not any(
        other.code not in vague and (other.field or ())[:len(problem.field or ())]
        == (problem.field or ()) for other in found.values())]
    return sorted(kept, key=_path_key)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _where(path: FieldPath, subject: str) -> str:
    return render_field(path) or subject


def _reason(error: jsonschema.ValidationError) -> str:
    """What is wrong, without saying where."""
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "enum":
        listed = ", ".join(map(str, value[:_MAX_LISTED])) + (", ..." if len(value) > _MAX_LISTED
                                                             else "")
        return f"{_shown(instance)} is not one of the allowed values ({listed})"
    if keyword == "format":
        return f"{_shown(instance)} is not {_DESCRIPTIONS.get(value, 'a valid ' + str(value))}"
    if keyword == "type":
        return f"{_shown(instance)} is not of type {value}"
    if keyword in ("anyOf", "oneOf") and error.context:
        subject = "it" if isinstance(instance, dict | list) else _shown(instance)
        return f"{subject} matches none of the allowed forms: " + "; or ".join(
            _alternatives(error))
    return str(error.message).replace(repr(instance), _shown(instance))


def _alternatives(error: jsonschema.ValidationError) -> list[str]:
    """One alternative per branch of an ``anyOf``: the conjunction of what failed in it."""
    branches: dict[object, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    return list(dict.fromkeys(" and ".join(dict.fromkeys(_branch(sub) for sub in subs))
                              for subs in branches.values()))


def _branch(sub: jsonschema.ValidationError) -> str:
    """What failed in one branch of an ``anyOf``, said from the branch's instance."""
    where = render_field(tuple(sub.relative_path))
    if sub.validator == "required":
        match = re.match(r"'(.*)' is a required property", str(sub.message))
        missing = match.group(1) if match else str(sub.validator_value)
        return f"{where or 'it'} needs {missing!r}"
    if sub.validator == "not":
        return f"{where or 'it'} is not allowed"
    if sub.validator in ("anyOf", "oneOf") and sub.context:
        reason = "(" + " or ".join(_alternatives(sub)) + ")"
    else:
        reason = _reason(sub)
    return f"{where}: {reason}" if where else reason


def _problem(error: jsonschema.ValidationError, prefix: FieldPath,
             subject: str) -> EPCISError:
    path: FieldPath = prefix + tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        name = str(error.instance)
        return EPCISError(f"{_where(path + (name,), subject)}: {name!r} is neither a field of "
                          "this EPCIS structure nor an extension named by a URI or a CURIE "
                          "(prefix:name)",
                          field=path + (name,), code="epcis_field_name")
    if error.validator == "required":
        match = re.match(r"'(.*)' is a required property", error.message)
        missing = match.group(1) if match else str(error.validator_value)
        return EPCISError(f"{_where(path, subject)} lacks the required field {missing!r}",
                          field=path + (missing,), code="epcis_required")
    return EPCISError(f"{_where(path, subject)}: {_reason(error)}", field=path,
                      code=f"epcis_{_snake(str(error.validator))}")
