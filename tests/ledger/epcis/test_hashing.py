"""CBV 2.0 event hash IDs: the vectors in ``vectors/epcis-hash/`` event by event, then the
normalisation rules one by one, then properties (key order, EPC forms, any change shows)."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.epcis.hashing import (
    document_event_hash_ids,
    document_events,
    document_ignore_fields,
    event_hash_id,
    parse_context,
    prehash_string,
)
from ledger.epcis.identifiers import canonical_gs1_uri, dl_encode
from ledger.errors import EPCISError
from ledger.supervision.check_digits import gs1_check_digit
from tests.conftest import SHARED

VECTORS = SHARED / "vectors" / "epcis-hash"
DOCUMENTS = sorted(VECTORS.glob("*.jsonld"))

#: pre-hash lines of the vectors that do not hash to the ID beside them: both are the second
#: line of a two-event file and spell the *first* event again (CustomSchema: with the extension
#: before the business transaction; DefaultSchema: cut short inside the desadv identifier), so
#: they are stale leftovers of the reference generator, not the second event's pre-hash. Its
#: ID (.hashes) is the authority and is met; the pre-hash is compared where the vector agrees
#: with itself.
INCONSISTENT_PREHASHES = {("epcisDocWithCustomSchemaInContext", 1),
                          ("epcisDocWithDefaultSchemaInContext", 1)}


def _ni(prehash: str) -> str:
    return "ni:///sha-256;" + hashlib.sha256(prehash.encode()).hexdigest() + "?ver=CBV2.0"


def _vector_events() -> list[tuple[str, int]]:
    cases = []
    for path in DOCUMENTS:
        for index, _ in enumerate(path.with_suffix(".hashes").read_text().splitlines()):
            cases.append((path.stem, index))
    return cases


def _load(stem: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{stem}.jsonld").read_text(encoding="utf-8"))


def test_every_vector_file_is_read_with_one_id_per_event() -> None:
    assert len(DOCUMENTS) == 18
    for path in DOCUMENTS:
        expected = path.with_suffix(".hashes").read_text().splitlines()
        assert len(document_events(json.loads(path.read_text(encoding="utf-8")))) \
            == len(expected), path.name
    assert len(_vector_events()) == 37


@pytest.mark.parametrize(("stem", "index"), _vector_events(),
                         ids=[f"{stem}#{index}" for stem, index in _vector_events()])
def test_vector_event_hash_id_and_prehash(stem: str, index: int) -> None:
    document = _load(stem)
    expected = (VECTORS / f"{stem}.hashes").read_text().splitlines()[index]
    event = document_events(document)[index]
    context = parse_context(document["@context"])
    ignored = document_ignore_fields(document)
    assert event_hash_id(event, context=context, ignore_fields=ignored) == expected
    assert document_event_hash_ids(document)[index] == expected

    prehashes = VECTORS / f"{stem}.prehashes"
    if not prehashes.exists():  # epcisDocHavingEventWithComment has only its ID
        return
    line = prehashes.read_text(encoding="utf-8").split("\n")[index]
    ours = prehash_string(event, context=context, ignore_fields=ignored)
    assert _ni(ours) == expected
    if (stem, index) in INCONSISTENT_PREHASHES:
        assert _ni(line) != expected, "the vector was fixed: drop it from the pinned list"
    else:
        assert ours == line


def test_ignore_fields_extension_is_what_makes_the_two_events_equal() -> None:
    for stem in ("epcisDocHavingEventWithIgnoreFields", "epcisQueryDocHavingEventWithIgnoreFields"):
        document = _load(stem)
        assert document_ignore_fields(document) == ("repository-x:hash", "example:captureID")
        first, second = document_event_hash_ids(document)
        assert first == second
        context = parse_context(document["@context"])
        assert event_hash_id(document_events(document)[0], context=context) != first


# --- the rules one by one -------------------------------------------------------------------

BASE: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2020-03-04T11:00:30.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
    "action": "OBSERVE",
    "bizStep": "shipping",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
}
BASE_PREHASH = ("eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00"
                "epcListepc=https://id.gs1.org/01/04012345111118/21/9876action=OBSERVE"
                "bizStep=https://ref.gs1.org/cbv/BizStep-shippingreadPointid="
                "https://id.gs1.org/414/4012345000054")


def _with(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(BASE)
    event.update(changes)
    return event


def test_base_event() -> None:
    assert prehash_string(BASE) == BASE_PREHASH


@pytest.mark.parametrize(("written", "hashed"), [
    ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),  # CBV: 4th decimal 5-9 rounds up
    ("2023-01-18T11:04:03.1414999Z", "2023-01-18T11:04:03.141Z"),
    ("2023-12-31T23:59:59.9996+00:00", "2024-01-01T00:00:00.000Z"),  # the carry
    ("2023-01-18T11:04:03-06:30", "2023-01-18T17:34:03.000Z"),
    ("2023-01-18t11:04:03z", "2023-01-18T11:04:03.000Z"),
    ("2023-01-18T11:04:03", "2023-01-18T11:04:03"),  # no zone: hashed as written
])
def test_times_go_to_utc_with_milliseconds(written: str, hashed: str) -> None:
    assert f"eventTime={hashed}eventTimeZoneOffset" in prehash_string(_with(eventTime=written))


def test_recordtime_eventid_errordeclaration_comment_and_null_are_not_hashed() -> None:
    noisy = _with(recordTime="2024-01-01T00:00:00Z", eventID="urn:uuid:1",
                  errorDeclaration={"declarationTime": "2024-01-01T00:00:00Z"},
                  **{"rdfs:comment": "note", "example:gone": None})
    assert prehash_string(noisy) == BASE_PREHASH


@pytest.mark.parametrize(("field", "written", "hashed"), [
    ("bizStep", "urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-shipping"),
    ("bizStep", "cbv:BizStep-shipping", "https://ref.gs1.org/cbv/BizStep-shipping"),
    ("bizStep", "https://ref.gs1.org/cbv/BizStep-shipping",
     "https://ref.gs1.org/cbv/BizStep-shipping"),
    ("disposition", "in_transit", "https://ref.gs1.org/cbv/Disp-in_transit"),
    ("disposition", "urn:epcglobal:cbv:disp:in_transit", "https://ref.gs1.org/cbv/Disp-in_transit"),
])
def test_vocabulary_forms_are_one(field: str, written: str, hashed: str) -> None:
    assert f"{field}={hashed}" in prehash_string(_with(**{field: written}))


@pytest.mark.parametrize(("written", "hashed"), [
    (452.0, "452"), (452, "452"), ("452.0", "452"), ("+0452.50", "452.5"), (0.05, "0.05"),
    (1e-7, "0.0000001"), ("12345678901234567891", "12345678901234567891"), (-0.0, "0"),
    (True, "true"), ("  padded  ", "padded"),
])
def test_numbers_booleans_and_white_space(written: object, hashed: str) -> None:
    event = _with(quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1",
                                 "quantity": written, "uom": "KGM"}])
    assert f"quantity={hashed}uom=KGM" in prehash_string(event)


def test_extensions_expand_their_prefix_and_sort_after_the_standard_fields() -> None:
    context = [{"example": "https://ns.example.com/epcis/"}]
    event = _with(**{"example:b": "2", "example:a": {"example:y": ["3", "1"]},
                     "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0", "example:rp": "x"},
                     "unknown:key": "kept"})
    prehash = prehash_string(event, context=context)
    assert prehash.endswith(
        "readPointid=https://id.gs1.org/414/4012345000054{https://ns.example.com/epcis/}rp=x"
        "unknown:key=kept{https://ns.example.com/epcis/}a{https://ns.example.com/epcis/}y=1"
        "{https://ns.example.com/epcis/}y=3{https://ns.example.com/epcis/}b=2")


def test_typed_lists_put_the_type_first_whatever_the_key_order() -> None:
    ordered = _with(bizTransactionList=[{"type": "po", "bizTransaction": "urn:x:1"}])
    reversed_ = _with(bizTransactionList=[{"bizTransaction": "urn:x:1", "type": "po"}])
    assert prehash_string(ordered) == prehash_string(reversed_)
    assert prehash_string(ordered).endswith(
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:x:1")
    untyped = _with(bizTransactionList=[{"bizTransaction": "urn:x:1"}])
    assert prehash_string(untyped).endswith("bizTransactionListbizTransaction=urn:x:1")


def test_an_events_own_context_adds_to_the_documents() -> None:
    event = _with(**{"@context": [{"ext": "https://ext.example/"}], "ext:f": "v"})
    assert prehash_string(event).endswith("{https://ext.example/}f=v")


def test_ignore_fields_match_by_name_as_written_or_expanded() -> None:
    context = [{"repo": "https://repository-x.example.com/"}]
    event = _with(**{"repo:hash": "ni:///x"})
    for name in ("repo:hash", "{https://repository-x.example.com/}hash"):
        assert prehash_string(event, context=context, ignore_fields=[name]) == BASE_PREHASH


@pytest.mark.parametrize("name", ["bizStep", "epcList", "eventTime"])
def test_ignore_fields_may_not_name_a_standard_field(name: str) -> None:
    with pytest.raises(EPCISError, match=f"extension fields only, not '{name}'") as refused:
        event_hash_id(BASE, ignore_fields=["example:captureID", name])
    assert refused.value.field == ("ignoreFields",)


@pytest.mark.parametrize(("event", "message"), [
    ("not an object", "an EPCIS event is a JSON object"),
    ({"eventTime": "2020-01-01T00:00:00Z"}, "needs its type"),
    ({"type": " "}, "needs its type"),
])
def test_what_is_not_an_event_is_refused(event: Any, message: str) -> None:
    with pytest.raises(EPCISError, match=message) as refused:
        event_hash_id(event)
    assert refused.value.code == "epcis_invalid"


# --- identifiers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "canonical"), [
    ("https://example.com/gtin/09780345418913/lot/A1/ser/765tz?abc=2#frag",
     "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("http://id.gs1.org/01/9780345418913", "https://id.gs1.org/01/09780345418913"),
    ("https://brand.example/some/path/01/09780345418913/22/v2/10/L%2F1",
     "https://id.gs1.org/01/09780345418913/10/L%2F1"),
    ("https://id.gs1.org/01/09780345418913/21/a!b", "https://id.gs1.org/01/09780345418913/21/a%21b"),
    ("https://id.gs1.org/414/4012345000054/254/7", "https://id.gs1.org/414/4012345000054/254/7"),
    ("https://id.gs1.org/00/040123451111111127", "https://id.gs1.org/00/040123451111111127"),
    ("https://id.gs1.org/01/9780345418913", "https://id.gs1.org/01/09780345418913"),  # GTIN-13
    ("urn:epc:idpat:sgtin:4012345.044444.*", "https://id.gs1.org/01/04012345444445"),
    ("urn:epc:idpat:itip:4012345.011111.01.02.*", "https://id.gs1.org/8006/040123451111180102"),
    ("urn:epc:idpat:cpi:0614141.123-A.*", "https://id.gs1.org/8010/0614141123-A"),
    # a value that is also a short name stays a value (found by the property test below)
    ("https://id.gs1.org/01/00000000000000/21/cpid", "https://id.gs1.org/01/00000000000000/21/cpid"),
    ("https://example.com/gtin/09780345418913/ser/gtin", "https://id.gs1.org/01/09780345418913/21/gtin"),
])
def test_digital_link_and_epc_forms_to_the_constrained_canonical_form(written: str,
                                                                       canonical: str) -> None:
    assert canonical_gs1_uri(written) == canonical


@pytest.mark.parametrize("written", [
    "urn:epc:id:sgtin:4012345.01111.9876",  # 12 digits, not 13
    "urn:epc:id:sgtin:4012345.011111.",  # no serial
    "urn:epc:id:sgtin:4012345.011111.%zz",  # a broken escape
    "urn:epc:id:sgtin:4012345.011111." + "9" * 21,  # serial too long
    "urn:epc:id:unknown:4012345.1",
    "https://example.com/products/123",
    "https://id.gs1.org/01/97803454189",  # 11 digits: no GTIN
    "https://id.gs1.org/01/09780345418913/17/250101",  # a data attribute is no qualifier
    "geo:47.506694,11.104301",
])
def test_what_is_no_gs1_identifier_is_left_alone(written: str) -> None:
    assert canonical_gs1_uri(written) is None


# --- properties -----------------------------------------------------------------------------

CS82 = string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_"


def _urn_escape(raw: str) -> str:
    """EPC URI escaping (TDS 2.1 table 6-1): only these seven are escaped."""
    return "".join(f"%{ord(char):02X}" if char in '"%&/<>?' else char for char in raw)


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        items = [_shuffled(item, rng) for item in value]
        rng.shuffle(items)  # list order is not part of an event's meaning either
        return items
    return value


def _rich_event() -> dict[str, Any]:
    document = json.loads((SHARED / "epcis" / "gs1" / "object_event_all_possible_fields.jsonld")
                          .read_text(encoding="utf-8"))
    event: dict[str, Any] = document["epcisBody"]["eventList"][0]
    event["@context"] = document["@context"]
    return event


@settings(deadline=None, max_examples=60)
@given(st.randoms(use_true_random=False))
def test_hash_is_invariant_under_json_key_and_list_order(rng: random.Random) -> None:
    for stem in ("epcisDocWithVariousEventTypes", "ralfsChaosExample",
                 "epcisDocWithSensorDataObjectEvent"):
        document = _load(stem)
        shuffled = copy.deepcopy(document)  # every event shuffled, the events kept in order
        shuffled["epcisBody"]["eventList"] = [_shuffled(event, rng)
                                              for event in document_events(document)]
        assert document_event_hash_ids(shuffled) == document_event_hash_ids(document)
    event = _rich_event()
    assert event_hash_id(_shuffled(event, rng)) == event_hash_id(event)


@st.composite
def sgtins(draw: st.DrawFn) -> tuple[str, str]:
    """The same SGTIN as an EPC URI and as a GS1 Digital Link URI on any host."""
    prefix_length = draw(st.integers(6, 12))
    prefix = draw(st.text("0123456789", min_size=prefix_length, max_size=prefix_length))
    item = draw(st.text("0123456789", min_size=13 - prefix_length, max_size=13 - prefix_length))
    serial = draw(st.text(CS82, min_size=1, max_size=20))
    body = item[0] + prefix + item[1:]
    gtin = body + gs1_check_digit(body)
    host = draw(st.sampled_from(["https://id.gs1.org", "http://example.com/dl",
                                 "https://brand.example"]))
    return (f"urn:epc:id:sgtin:{prefix}.{item}.{_urn_escape(serial)}",
            f"{host}/01/{gtin}/21/{dl_encode(serial)}")


@st.composite
def sglns_and_lgtins(draw: st.DrawFn) -> tuple[tuple[str, str], tuple[str, str]]:
    """The same SGLN (with or without extension) and LGTIN as EPC URIs and Digital Links."""
    prefix_length = draw(st.integers(6, 12))
    digits = draw(st.text("0123456789", min_size=12, max_size=12))
    extension = draw(st.one_of(st.just("0"), st.text(CS82, min_size=1, max_size=20)))
    gln = digits + gs1_check_digit(digits)
    sgln = (f"urn:epc:id:sgln:{digits[:prefix_length]}.{digits[prefix_length:]}."
            f"{_urn_escape(extension)}",
            f"https://id.gs1.org/414/{gln}" + ("" if extension == "0"
                                              else f"/254/{dl_encode(extension)}"))
    item = draw(st.text("0123456789", min_size=13, max_size=13))
    lot = draw(st.text(CS82, min_size=1, max_size=20))
    body = item[prefix_length] + item[:prefix_length] + item[prefix_length + 1:]
    lgtin = (f"urn:epc:class:lgtin:{item[:prefix_length]}.{item[prefix_length:]}."
             f"{_urn_escape(lot)}",
             f"https://example.org/01/{body}{gs1_check_digit(body)}/10/{dl_encode(lot)}")
    return sgln, lgtin


@settings(deadline=None, max_examples=200)
@given(sgtins(), st.integers(6, 12), st.integers(0, 10**16), sglns_and_lgtins())
def test_hash_is_invariant_under_equivalent_epc_forms(
        sgtin: tuple[str, str], prefix_length: int, number: int,
        others: tuple[tuple[str, str], tuple[str, str]]) -> None:
    (sgln_urn, sgln_link), (lgtin_urn, lgtin_link) = others
    urn, link = sgtin
    digits = f"{number:017d}"
    sscc = digits[0] + digits[1:prefix_length + 1] + digits[prefix_length + 1:]
    sscc_urn = f"urn:epc:id:sscc:{digits[1:prefix_length + 1]}.{digits[0]}" \
               f"{digits[prefix_length + 1:]}"
    sscc_link = f"https://id.gs1.org/00/{sscc}{gs1_check_digit(sscc)}"
    as_urns = _with(epcList=[urn], parentID=sscc_urn, readPoint={"id": sgln_urn},
                    quantityList=[{"epcClass": lgtin_urn, "quantity": 2}])
    as_links = _with(epcList=[link], parentID=sscc_link, readPoint={"id": sgln_link},
                     quantityList=[{"epcClass": lgtin_link, "quantity": 2.0}])
    for one, other in ((urn, link), (sgln_urn, sgln_link), (lgtin_urn, lgtin_link)):
        assert canonical_gs1_uri(one) == canonical_gs1_uri(other) is not None
    assert event_hash_id(as_urns) == event_hash_id(as_links)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every scalar's path in a JSON value."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _paths(item, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in _paths(item, (*path, index))]
    return [path]


_NOT_HASHED = {"eventID", "recordTime", "errorDeclaration", "@context", "type"}


@settings(deadline=None, max_examples=150)
@given(st.data())
def test_hash_changes_when_any_hashed_field_changes(data: st.DataObject) -> None:
    event = _rich_event()
    paths = [path for path in _paths(event) if path[0] not in _NOT_HASHED]
    path = data.draw(st.sampled_from(paths))
    changed = copy.deepcopy(event)
    holder = changed
    for part in path[:-1]:
        holder = holder[part]
    old = holder[path[-1]]
    if isinstance(old, bool):
        new: Any = not old
    elif isinstance(old, int | float):
        new = old + data.draw(st.sampled_from([1, 0.5, -3]))
    elif path[-1] in ("eventTime", "time", "startTime", "endTime"):  # another instant
        new = (old[:-1] if old.endswith("Z") else old[:-6]) + (
            "+11:00" if old.endswith("-11:00") else "-11:00")
    elif old.startswith(("urn:epc:", "https://", "http://")):
        new = old + "7"
    else:
        new = old + data.draw(st.sampled_from(["x", "1", " y"]))
    holder[path[-1]] = new
    assert event_hash_id(changed) != event_hash_id(event), (path, old, new)
    assert event_hash_id(changed) == event_hash_id(copy.deepcopy(changed))


def test_an_event_nested_past_the_interpreter_is_refused_not_crashed() -> None:
    deep: Any = "x"
    for _ in range(5_000):
        deep = {"ex:n": deep}
    with pytest.raises(EPCISError, match="nests too deeply"):
        event_hash_id(_with(**{"ex:n": deep}))


def test_adding_or_removing_a_field_changes_the_hash() -> None:
    assert event_hash_id(_with(disposition="in_transit")) != event_hash_id(BASE)
    without = copy.deepcopy(BASE)
    del without["readPoint"]
    assert event_hash_id(without) != event_hash_id(BASE)


def test_bench_generator_events_all_differ() -> None:
    from bench.epcis_wire import capture_document

    document = capture_document(2_000)
    ids = document_event_hash_ids(document)
    assert len(set(ids)) == len(ids) == 2_000
    assert all(id_.startswith("ni:///sha-256;") and id_.endswith("?ver=CBV2.0") for id_ in ids)


def test_hash_ids_of_the_capture_fixtures_do_not_drift() -> None:
    """Hash IDs are stored with entries and looked up later: they must never change.

    ``hash_ids.json`` holds ours for every event of the OpenEPCIS valid documents and GS1's
    examples. The reference generator (RalphTro/epcis-event-hash-generator at 5d2f1c3), run on
    the same documents outside this suite, writes the same pre-hash for every event it can read,
    except a boolean (``True``, where we write ``true``) and a ``cbv:`` CURIE its context did
    not declare (left unexpanded, where CBV expands it); it fails on three documents (a
    business transaction without a type, a protected term redefined). The ``ni:`` event IDs
    these documents carry are placeholders copied between examples, not their hash IDs.
    """
    expected = json.loads((Path(__file__).parent / "hash_ids.json").read_text())
    assert len(expected) == 24
    for name, ids in expected.items():
        document = json.loads((SHARED / "epcis" / name.replace("valid/", "openepcis/valid/"))
                              .read_text(encoding="utf-8"))
        assert document_event_hash_ids(document) == ids, name
