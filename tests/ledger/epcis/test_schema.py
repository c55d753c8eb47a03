"""EPCIS 2.0 JSON Schema validation: the OpenEPCIS valid and invalid documents, GS1's examples,
the problems' codes, fields and messages, and the screen agreeing with the diagnosis."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.epcis.schema import (
    MAX_DIAGNOSED,
    SCHEMA_ENV,
    EPCISSchema,
    SchemaUnavailable,
    load_schema,
)
from ledger.errors import EPCISError
from tests.conftest import SHARED

EPCIS = SHARED / "epcis"
SCHEMA_FILE = EPCIS / "gs1" / "EPCIS-JSON-Schema.json"
VALID = sorted((EPCIS / "openepcis" / "valid").glob("*.json")) + sorted(
    (EPCIS / "gs1").glob("*.jsonld"))
INVALID = sorted((EPCIS / "openepcis" / "invalid").glob("*.json"))

#: what each invalid document is refused for: (code, field) of every problem, in order
REFUSALS: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {
    "Combination_of_events_with_missing_mandatory_fields.json": [
        ("epcis_required", ("epcisBody", "eventList", 0, "action")),
        ("epcis_required", ("epcisBody", "eventList", 1, "action")),
        ("epcis_required", ("epcisBody", "eventList", 1, "eventTimeZoneOffset"))],
    "EPCISDocument_without_context.json": [("epcis_required", ("@context",))],
    "ObjectEvent_with_invalid_action.json": [
        ("epcis_enum", ("epcisBody", "eventList", 0, "action"))],
    "ObjectEvent_with_invalid_eventTime_format.json": [
        ("epcis_format", ("epcisBody", "eventList", 0, "eventTime"))],
    "ObjectEvent_with_non_standard_bizStep.json": [
        ("epcis_any_of", ("epcisBody", "eventList", 0, "bizStep"))],
    "ObjectEvent_with_quantity_as_text.json": [
        ("epcis_type", ("epcisBody", "eventList", 0, "quantityList", 0, "quantity"))],
    "ObjectEvent_without_action_and_eventTime.json": [
        ("epcis_required", ("epcisBody", "eventList", 0, "action")),
        ("epcis_required", ("epcisBody", "eventList", 0, "eventTime")),
        ("epcis_required", ("epcisBody", "eventList", 0, "eventTimeZoneOffset"))],
}


@pytest.fixture(scope="module")
def schema() -> EPCISSchema:
    try:
        return load_schema(SCHEMA_FILE)
    except SchemaUnavailable as missing:
        pytest.skip(f"GS1's EPCIS JSON Schema is not shipped (licence): {missing}")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_fixtures_are_all_there() -> None:
    assert len(VALID) == 12 + 12
    assert sorted(path.name for path in INVALID) == sorted(REFUSALS)


@pytest.mark.parametrize("path", VALID, ids=[path.name for path in VALID])
def test_valid_documents_pass(schema: EPCISSchema, path: Path) -> None:
    document = _load(path)
    assert schema.problems(document) == []
    schema.validate(document)
    for event in document["epcisBody"]["eventList"]:
        schema.validate_event(event)


@pytest.mark.parametrize("path", INVALID, ids=[path.name for path in INVALID])
def test_invalid_documents_are_refused_naming_the_problem(schema: EPCISSchema,
                                                          path: Path) -> None:
    problems = schema.problems(_load(path))
    assert [(problem.code, problem.field) for problem in problems] == REFUSALS[path.name]
    for problem in problems:
        assert isinstance(problem.field, tuple)
        assert str(problem.field[-1]) in problem.message  # the message names the field
    with pytest.raises(EPCISError, match=re.escape(problems[0].message)) as refused:
        schema.validate(_load(path))
    assert [(p.code, p.field, p.message) for p in refused.value.problems] \
        == [(p.code, p.field, p.message) for p in problems]
    assert (refused.value.code, refused.value.field) == (problems[0].code, problems[0].field)


@pytest.mark.parametrize(("change", "code", "field", "message"), [
    ({"bizStep": "transforming"}, "epcis_any_of", ("bizStep",),
     r"bizStep: 'transforming' matches none of the allowed forms: 'transforming' is not an "
     r"absolute URI; or 'transforming' is not one of the allowed values \(accepting, "),
    ({"eventTime": "2024-05-01T12:00:00"}, "epcis_format", ("eventTime",),
     r"eventTime: '2024-05-01T12:00:00' is not an RFC 3339 date-time with a time zone"),
    ({"epcList": ["not a uri"]}, "epcis_format", ("epcList", 0),
     r"epcList\[0\]: 'not a uri' is not an absolute URI"),
    ({"myField": "x"}, "epcis_field_name", ("myField",),
     r"myField: 'myField' is neither a field of this EPCIS structure nor an extension"),
    ({"eventTimeZoneOffset": "+25:00"}, "epcis_pattern", ("eventTimeZoneOffset",),
     r"eventTimeZoneOffset: '\+25:00' does not match"),
    ({"epcList": None}, "epcis_type", ("epcList",), r"epcList: None is not of type array"),
    ({"action": "ADD", "epcList": "drop"}, "epcis_any_of", (),
     r"^the event: it matches none of the allowed forms: it needs 'epcList'; "
     r"or it needs 'quantityList'; or it needs 'sensorElementList'$"),
    ({"ilmd": {"cbvmda:lotNumber": "L1"}}, "epcis_any_of", (),
     r"^the event: it matches none of the allowed forms: ilmd is not allowed; "
     r"or ilmd is not allowed and action: 'OBSERVE' does not match '\^DELETE\$'; "
     r"or action: 'OBSERVE' does not match"),
])
def test_problems_of_one_event(schema: EPCISSchema, change: dict[str, Any], code: str,
                               field: tuple[str | int, ...], message: str) -> None:
    event = _load(EPCIS / "openepcis" / "valid" / "ObjectEvent.json")["epcisBody"]["eventList"][0]
    event.update(change)
    if event.get("epcList") == "drop":
        del event["epcList"]
    with pytest.raises(EPCISError, match=message) as refused:
        schema.validate_event(event)
    assert (refused.value.code, refused.value.field or ()) == (code, field)


def test_a_standalone_event_carries_its_context(schema: EPCISSchema) -> None:
    document = _load(EPCIS / "openepcis" / "valid" / "ObjectEvent.json")
    event = copy.deepcopy(document["epcisBody"]["eventList"][0])
    with pytest.raises(EPCISError, match="the document lacks the required field '@context'"):
        schema.validate(event)
    schema.validate({**event, "@context": document["@context"]})


def test_a_large_document_is_diagnosed_from_its_first_bad_event(schema: EPCISSchema) -> None:
    from bench.epcis_wire import capture_document

    document = capture_document(1_200)
    assert schema.problems(document) == []
    events = document["epcisBody"]["eventList"]
    bad = [7, 500, 1_199]
    for index in bad:
        events[index]["eventTime"] = "yesterday"
    assert [(problem.code, problem.field) for problem in schema.problems(document)] == [
        ("epcis_format", ("epcisBody", "eventList", index, "eventTime")) for index in bad]


def test_past_the_diagnosed_events_the_screen_names_each_bad_one(schema: EPCISSchema) -> None:
    from bench.epcis_wire import capture_document

    document = capture_document(MAX_DIAGNOSED + 10)
    for event in document["epcisBody"]["eventList"]:
        event["action"] = "CREATE"
        event["type"] = "ObjectEvent"
    problems = schema.problems(document)
    assert len({problem.field[:3] for problem in problems if problem.field}) == MAX_DIAGNOSED + 10
    last = problems[-1]
    assert last.field == ("epcisBody", "eventList", MAX_DIAGNOSED + 9, "action")
    assert "must be one of ['OBSERVE', 'ADD', 'DELETE']" in last.message


def test_screen_and_diagnosis_agree_on_every_fixture_and_event(schema: EPCISSchema) -> None:
    """The compiled screen decides; jsonschema explains: they must agree, or a document could
    pass that jsonschema refuses (or be refused with no reason)."""
    documents = [_load(path) for path in [*VALID, *INVALID]]
    for document in documents:
        verdicts = []
        for validators in (schema._root,):
            try:
                validators.screen(document)
                screened = True
            except Exception:  # noqa: BLE001 -- fastjsonschema's refusal, any kind
                screened = False
            verdicts.append((screened, next(validators.diagnosis.iter_errors(document), None)
                             is None))
        assert all(screened == diagnosed for screened, diagnosed in verdicts), document
        for event in document.get("epcisBody", {}).get("eventList", []):
            try:
                schema._event.screen(event)
                screened = True
            except Exception:  # noqa: BLE001
                screened = False
            assert screened == (next(schema._event.diagnosis.iter_errors(event), None) is None)


def test_without_a_schema_file_it_says_why(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv(SCHEMA_ENV, raising=False)
    with pytest.raises(SchemaUnavailable, match="grants no right to redistribute it"):
        load_schema()
    with pytest.raises(SchemaUnavailable, match="no EPCIS 2.0 JSON Schema at"):
        load_schema(tmp_path / "missing.json")


def test_the_schema_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    if not SCHEMA_FILE.is_file():
        pytest.skip("GS1's EPCIS JSON Schema is not shipped (licence) and not in shared/")
    monkeypatch.setenv(SCHEMA_ENV, str(SCHEMA_FILE))
    assert load_schema() is load_schema(SCHEMA_FILE)


def test_a_remote_reference_is_never_fetched(tmp_path: Path) -> None:
    remote = {"$schema": "http://json-schema.org/draft-07/schema#",
              "$ref": "https://schemas.example.com/elsewhere.json"}
    path = tmp_path / "remote.json"
    path.write_text(json.dumps(remote))
    with pytest.raises(SchemaUnavailable, match="not fetched"):
        load_schema(path)
