"""GS1's own known answers (../shared/vectors/gs1-syntax, from the GS1 Barcode Syntax Engine's
tests), every case through ``GET /api/v1/codes/parse``.

Cases that hold only under a non-default engine option (``options`` in the case) are not the
service's business, which follows GS1's defaults: they run against the parser with the same
option switched on (:class:`scanners.gs1.Options`), here too. The README of the vectors says
how each kind is compared; this file follows it to the letter and skips nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from scanners.codes import ParsedCode, parse_code
from scanners.errors import CodeError
from scanners.gs1 import Options
from tests.conftest import SHARED, _disposed, make_app

VECTORS = SHARED / "vectors" / "gs1-syntax" / "vectors.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]
DEFAULT_CASES = [c for c in CASES if not c.get("options")]
OPTION_CASES = [c for c in CASES if c.get("options")]


def test_the_vectors_are_all_here() -> None:
    assert len(CASES) == 506
    assert len(DEFAULT_CASES) + len(OPTION_CASES) == 506


@pytest.fixture(scope="module")
def vector_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    # one app for the 478 requests: the endpoint reads no database
    instance: Path = tmp_path_factory.mktemp("codes")
    app: Flask = make_app(f"sqlite:///{instance / 'tracenet.db'}", instance)
    for disposable in _disposed(app):
        yield disposable.test_client()


def _path_and_query(uri: str) -> tuple[list[str], list[tuple[str, str]]]:
    parts = urlsplit(uri)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    return segments, sorted(parse_qsl(parts.query, keep_blank_values=True))


def _same_dl(got: str, want: str) -> bool:
    """Same path segments (the service's own stem may come first) and the same query."""
    got_path, got_query = _path_and_query(got)
    want_path, want_query = _path_and_query(want)
    return got_path[len(got_path) - len(want_path):] == want_path and got_query == want_query


def _check_accepted(case: dict[str, Any], ais: list[list[str]], element_string: str | None,
                    digital_link: str | None) -> None:
    expect = case["expect"]
    if "ais" in expect:
        assert sorted(map(tuple, ais)) == sorted(map(tuple, expect["ais"]))
    if "element_string" in expect:
        assert element_string == expect["element_string"]
    if "dl_uri" in expect:
        assert digital_link is not None and _same_dl(digital_link, expect["dl_uri"]), \
            (digital_link, expect["dl_uri"])


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=[c["id"] for c in DEFAULT_CASES])
def test_vector_through_the_endpoint(vector_client: FlaskClient, case: dict[str, Any]) -> None:
    response = vector_client.get("/api/v1/codes/parse", query_string={"code": case["input"]})
    assert response.status_code in (200, 400, 422), response.get_data(as_text=True)
    body = response.get_json()
    accepted = response.status_code == 200
    if accepted:
        assert set(body) >= {"kind", "ais", "element_string", "digital_link"}
    else:
        assert set(body["error"]) >= {"code", "message", "field"}
    if "plain_data" in case["expect"]:
        # non-GS1 data in a plain-data symbology: the README leaves the answer to the
        # service; it must still be a clean answer, which the status check above holds
        return
    if case["kind"] == "ai_to_dl" and not case["expect_ok"]:
        # no valid Digital Link can be made: a 4xx, or the data accepted without one
        assert not accepted or body["digital_link"] is None
        return
    if case.get("reference_rejects") and not accepted:
        return  # the service may reject what GS1's engine rejects by default
    assert accepted == case["expect_ok"], body
    if accepted:
        _check_accepted(case, body["ais"], body["element_string"], body["digital_link"])


def _options(case: dict[str, Any]) -> Options:
    given = case["options"]
    return Options(
        permit_unknown_ais=given.get("permit_unknown_ais", False),
        permit_zero_suppressed_gtin=given.get("permit_zero_suppressed_gtin_in_dl_uris", False),
        permit_convenience_alphas=given.get("permit_convenience_alphas", False),
        unknown_ai_not_dl_attr=given.get("unknown_ai_not_dl_attr_validation", True),
        validate_requisites=given.get("requisite_ais_validation", True))


@pytest.mark.parametrize("case", OPTION_CASES, ids=[c["id"] for c in OPTION_CASES])
def test_vector_with_its_engine_option(case: dict[str, Any]) -> None:
    options = _options(case)
    try:
        parsed: ParsedCode | None = parse_code(case["input"], options)
    except CodeError:
        parsed = None
    if case["kind"] == "ai_to_dl":
        link = None
        if parsed is not None:
            try:
                link = parsed.digital_link("https://example.com")
            except CodeError:
                link = None
        assert (link is not None) == case["expect_ok"]
        if parsed is not None and link is not None:
            _check_accepted(case, [list(p) for p in parsed.ais], parsed.element_string(), link)
        return
    assert (parsed is not None) == case["expect_ok"]
    if parsed is not None:
        _check_accepted(case, [list(p) for p in parsed.ais], parsed.element_string(),
                        None)


def test_the_option_cases_fail_under_the_defaults_where_the_option_matters() -> None:
    """Each option case that the option lets through is refused without it (so the options
    are real switches, and the service's defaults are GS1's)."""
    refused = 0
    for case in OPTION_CASES:
        if not case["expect_ok"]:
            continue
        try:
            parsed = parse_code(case["input"])
            parsed.digital_link("https://example.com")
        except CodeError:
            refused += 1
    assert refused == sum(1 for c in OPTION_CASES if c["expect_ok"])


@pytest.mark.parametrize("case", [c for c in CASES if "ignored_query_params" in c["expect"]],
                         ids=lambda c: c["id"])
def test_ignored_query_parameters(case: dict[str, Any]) -> None:
    parsed = parse_code(case["input"])
    assert list(parsed.ignored_query_params) == case["expect"]["ignored_query_params"]


@pytest.mark.parametrize("case", [c for c in CASES if "symbology" in c["expect"]
                                  and "ais" in c["expect"]], ids=lambda c: c["id"])
def test_symbology_is_reported(case: dict[str, Any]) -> None:
    parsed = parse_code(case["input"])
    assert parsed.kind == "scan_data" and parsed.symbology
