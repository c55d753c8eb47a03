"""The GS1 Digital Link resolver, the shopper's page, the scan page and the public evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.recall import start_recall
from scanners import supervision_code
from tests.ledger.consumer.conftest import MILK, SERIALS, VAULT, World, build, gtin

LINKSET = "application/linkset+json"
GS1 = "https://gs1.org/voc/"
UNKNOWN = gtin(99)


@pytest.fixture
def world(sqlite_app: Flask) -> Iterator[World]:
    runtime = sqlite_app.extensions["tracenet.runtime"]
    with runtime.sessions() as session:
        yield build(session, runtime.ledger)


@pytest.fixture
def client(sqlite_app: Flask, world: World) -> FlaskClient:
    return sqlite_app.test_client()


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()["error"]
    return body


# --- the linkset, checked by the rules of GS1's linkset JSON schema -------------------------
# (GS1-Conformant Resolver 1.2, https://ref.gs1.org/standards/resolver/linkset-schema; the file
# is not in /work/shared, so its rules are written out here from the standard's text)

_URL = re.compile(r"^https?://[a-zA-Z0-9./]+")
_RELATION = re.compile(r"^([a-z-]+)$|^(https?://[a-zA-Z0-9./]+)$")
_LANG = re.compile(r"(^\w{2}$)|(^\w{2}-\w{2}$)")
_MEDIA = re.compile(r"\w+/[-+.\w]+")


def check_linkset(body: Any) -> dict[str, Any]:
    """Every rule of GS1's linkset schema, and RFC 9264's shape; the one context object."""
    assert isinstance(body, dict) and set(body) == {"linkset"}
    assert isinstance(body["linkset"], list) and len(body["linkset"]) == 1
    for context in body["linkset"]:
        assert isinstance(context, dict)
        assert isinstance(context["anchor"], str) and _URL.match(context["anchor"])
        for name in ("itemDescription", "description"):
            assert isinstance(context.get(name, ""), str)
        for relation, targets in context.items():
            if relation in ("anchor", "itemDescription", "description"):
                continue
            assert _RELATION.match(relation), relation
            assert isinstance(targets, list) and targets
            for target in targets:
                assert isinstance(target, dict)
                assert isinstance(target["href"], str) and _URL.match(target["href"])
                assert isinstance(target.get("title", ""), str)
                for lang in target.get("hreflang", []):
                    assert isinstance(lang, str) and _LANG.search(lang)
                if "type" in target:
                    assert _MEDIA.search(target["type"])
        assert len(context[GS1 + "defaultLink"]) == 1
    result: dict[str, Any] = body["linkset"][0]
    return result


def test_the_rules_catch_a_bad_linkset() -> None:
    good = {"linkset": [{"anchor": "https://x.test/01/1", GS1 + "defaultLink": [
        {"href": "https://x.test/p", "title": "t", "hreflang": ["zh-CN"]}]}]}
    check_linkset(good)
    for bad in ({"linkset": [{"anchor": "ftp://x"}]},
                {"linkset": [{**good["linkset"][0], "Bad Rel": [{"href": "https://x.test"}]}]},
                {"linkset": [{**good["linkset"][0], GS1 + "pip": [{"href": "/relative"}]}]},
                {"linkset": [{**good["linkset"][0], GS1 + "pip": [
                    {"href": "https://x.test", "hreflang": ["chinese"]}]}]}):
        with pytest.raises((AssertionError, KeyError)):
            check_linkset(bad)


# --- the resolver ----------------------------------------------------------------------------


def test_the_description_file(client: FlaskClient) -> None:
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["resolverRoot"] == "http://localhost"
    assert body["supportedPrimaryKeys"] == ["01"]
    assert body["supportedLinkType"] == [{"namespace": GS1, "prefix": "gs1:"}]
    assert isinstance(body["linkTypeDefaultCanBeLinkset"], bool)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", [
    f"/01/{MILK}", f"/01/{MILK}/10/L1", f"/01/{MILK}/10/L1/21/{SERIALS[0]}",
    f"/01/{MILK}/21/{SERIALS[0]}"])
def test_a_307_to_the_shoppers_page_with_the_query_passed_on(client: FlaskClient,
                                                              path: str) -> None:
    response = client.get(path + "?utm=qr&x=1")
    assert response.status_code == 307
    location = urlsplit(response.headers["Location"])
    assert location.path == "/p" + path
    assert location.query == "utm=qr&x=1"
    assert response.headers["Link"] == (f'<http://localhost{path}?linkType=linkset>; '
                                        f'rel="linkset"; type="{LINKSET}"')
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_gtin_13_and_its_14_digit_form_resolve_alike(client: FlaskClient) -> None:
    short = client.get(f"/01/{MILK[1:]}/10/L1")
    full = client.get(f"/01/{MILK}/10/L1")
    assert short.status_code == full.status_code == 307
    assert short.headers["Location"] == full.headers["Location"]
    assert client.get(f"/01/{MILK[1:]}?linkType=linkset").get_json()["linkset"][0][
        "anchor"] == f"http://localhost/01/{MILK}"


@pytest.mark.parametrize(("path", "code", "field"), [
    (f"/01/{MILK[:-1]}{(int(MILK[-1]) + 1) % 10}", "code.check_digit", "ai.01"),
    ("/01/12345", "code.gtin.format", "ai.01"),
    ("/01/abcdefghijklm", "code.gtin.format", "ai.01"),
    (f"/01/{MILK}/10", "resolver.malformed_path", "path"),
    (f"/01/{MILK}/17/261231", "resolver.malformed_path", "path"),
    (f"/01/{MILK}/21/S1/10/L1", "resolver.malformed_path", "10"),
    (f"/01/{MILK}/10/L1/10/L2", "resolver.malformed_path", "10"),
    (f"/01/{MILK}/10/{'x' * 21}", "resolver.malformed_path", "10"),
    (f"/01/{MILK}/10/L%201", "resolver.malformed_path", "10"),
    ("/01/", "resolver.malformed_path", "01"),
    ("/c/12345", "code.supervision.format", "code"),
])
def test_a_bad_check_digit_or_a_malformed_path_is_400(client: FlaskClient, path: str,
                                                      code: str, field: str) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert (error(response)["code"], error(response)["field"]) == (code, field)


def test_a_consumer_product_variant_is_read_and_left_out(client: FlaskClient) -> None:
    response = client.get(f"/01/{MILK}/22/V1/10/L1")
    assert response.status_code == 307
    assert urlsplit(response.headers["Location"]).path == f"/p/01/{MILK}/10/L1"
    assert client.get(f"/01/{MILK}/10/L1/22/V1").status_code == 400  # out of order


def test_an_unknown_gtin_is_404(client: FlaskClient) -> None:
    response = client.get(f"/01/{UNKNOWN}/10/L1")
    assert response.status_code == 404
    assert error(response)["code"] == "resolver.unknown_item"


def test_an_unknown_lot_walks_up_to_the_product(client: FlaskClient) -> None:
    response = client.get(f"/01/{MILK}/10/NOPE/21/X1?a=b")
    assert response.status_code == 307
    assert response.headers["Location"] == f"http://localhost/p/01/{MILK}?a=b"
    links = check_linkset(client.get(f"/01/{MILK}/10/NOPE?linkType=all").get_json())
    assert links["anchor"] == f"http://localhost/01/{MILK}/10/NOPE"
    assert GS1 + "recallStatus" not in links
    assert client.get(f"/01/{MILK}/10/NOPE?linkType=gs1:recallStatus").status_code == 404


def test_a_serial_never_issued_resolves_as_an_issued_one(client: FlaskClient) -> None:
    issued = client.get(f"/01/{MILK}/10/L1/21/{SERIALS[0]}?linkType=linkset").get_json()
    fake = client.get(f"/01/{MILK}/10/L1/21/ZZ999?linkType=linkset").get_json()
    assert set(check_linkset(issued)) == set(check_linkset(fake))
    assert client.get(f"/01/{MILK}/10/L1/21/ZZ999").status_code == 307


@pytest.mark.parametrize("link_type", ["linkset", "all"])
def test_link_type_linkset_and_all_answer_the_linkset(client: FlaskClient,
                                                      link_type: str) -> None:
    response = client.get(f"/01/{MILK}/10/L1?linkType={link_type}")
    assert response.status_code == 200
    assert response.mimetype == LINKSET
    links = check_linkset(response.get_json())
    assert links["anchor"] == f"http://localhost/01/{MILK}/10/L1"
    assert links["description"] == "全脂纯牛奶 250mL"
    assert links[GS1 + "defaultLink"][0]["href"] == f"http://localhost/p/01/{MILK}/10/L1"
    assert links[GS1 + "pip"][0]["href"] == f"http://localhost/p/01/{MILK}/10/L1"
    assert links[GS1 + "recallStatus"][0]["href"] == (
        f"http://localhost/api/v1/lots/{MILK}/L1/status")
    assert links[GS1 + "traceability"][0]["href"].startswith(
        "http://localhost/api/v1/public/evidence?")
    assert links[GS1 + "certificationInfo"][0]["href"].endswith("#inspections")
    assert response.headers["Link"].startswith("<http://localhost/01/")


def test_accept_linkset_json_negotiates_the_linkset(client: FlaskClient) -> None:
    response = client.get(f"/01/{MILK}", headers={"Accept": LINKSET})
    assert response.status_code == 200 and response.mimetype == LINKSET
    assert "Accept" in response.headers["Vary"]
    check_linkset(response.get_json())
    browser = client.get(f"/01/{MILK}", headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert browser.status_code == 307


@pytest.mark.parametrize(("link_type", "target"), [
    ("gs1:pip", f"/p/01/{MILK}/10/L1"),
    (f"{GS1}pip", f"/p/01/{MILK}/10/L1"),
    ("gs1:recallStatus", f"/api/v1/lots/{MILK}/L1/status"),
    ("gs1:traceability", "/api/v1/public/evidence"),
    ("gs1:certificationInfo", f"/p/01/{MILK}/10/L1"),
    ("gs1:defaultLink", f"/p/01/{MILK}/10/L1"),
])
def test_a_link_type_redirects_to_its_link(client: FlaskClient, link_type: str,
                                           target: str) -> None:
    response = client.get(f"/01/{MILK}/10/L1?linkType={link_type}&k=v")
    assert response.status_code == 307
    location = urlsplit(response.headers["Location"])
    assert location.path == target
    assert "k=v" in location.query and "linkType" not in location.query
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200


@pytest.mark.parametrize("link_type", ["gs1:epil", "gs1:recallStatus", "nonsense", "gs1:"])
def test_an_unavailable_link_type_is_404(client: FlaskClient, link_type: str) -> None:
    # the product level has no recall status (lots do), and nothing has an ePIL
    response = client.get(f"/01/{MILK}?linkType={link_type}")
    assert response.status_code == 404
    assert error(response)["code"] == "resolver.link_type_unavailable"


def test_head_and_options(client: FlaskClient) -> None:
    head = client.head(f"/01/{MILK}/10/L1")
    assert head.status_code == 307 and head.headers["Location"].endswith(f"/p/01/{MILK}/10/L1")
    assert head.get_data() == b""
    options = client.options(f"/01/{MILK}/10/L1", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "GET"})
    assert options.status_code == 200
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in options.headers["Access-Control-Allow-Methods"]
    assert "HEAD" in options.headers["Allow"]


def test_supervision_codes_resolve_to_their_page(client: FlaskClient) -> None:
    code = supervision_code.mint(b"whatever", 12, 345)
    response = client.get(f"/c/{code}?linkType=linkset")
    links = check_linkset(response.get_json())
    assert links["anchor"] == f"http://localhost/c/{code}"
    redirect = client.get(f"/c/{code}")
    assert redirect.status_code == 307
    assert redirect.headers["Location"] == f"http://localhost/p/c/{code}"
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert client.get(f"/c/{wrong}").status_code == 400


# --- the shopper's page -------------------------------------------------------------------


def page(client: FlaskClient, path: str, **options: Any) -> str:
    response = client.get(path, **options)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_the_page_shows_product_maker_lot_and_inspections(client: FlaskClient,
                                                          world: World) -> None:
    html = page(client, f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}")
    for shown in ("全脂纯牛奶 250mL", "乳制品", "闽榕乳业", "SC10535012100053", "L1",
                  "福建省产品质量检验研究院", "第三方检验", "合格", "您是第一次查询此码"):
        assert shown in html, shown
    for hidden in (world.shop, "永辉超市", "4817", "DN-SECRET-77"):
        assert hidden not in html
    assert 'id="verification"' in html and 'data-evidence="/api/v1/public/evidence?' in html
    assert f'data-ledger-seq="{world.seqs["inspection"]}"' in html
    again = page(client, f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}?lang=en")
    assert "Genuine code" in again  # a language switch is not another query
    third = page(client, f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}")
    assert "checked 2 times" in third  # the session keeps the language chosen


def test_a_fake_serial_and_a_forged_code_warn(client: FlaskClient) -> None:
    html = page(client, f"/p/01/{MILK}/10/L1/21/FAKE1")
    assert 'id="counterfeit-warning"' in html and "此码从未发放" in html
    forged = supervision_code.mint(b"not-the-secret", 1, 1)
    assert "不是真码" in page(client, f"/p/c/{forged}")


def test_a_recalled_lot_shows_the_banner(client: FlaskClient, sqlite_app: Flask,
                                         world: World) -> None:
    start_recall(world.session, world.ledger, VAULT, enterprise=world.dairy, kind="voluntary",
                 level=1, reason="检出致病菌", hazard="腹泻", lots=[(MILK, "L1")],
                 event_time="2026-11-27T09:00:00+08:00")
    world.session.commit()
    html = page(client, f"/p/01/{MILK}/10/L1")
    assert 'id="recall-banner"' in html and "检出致病菌" in html
    assert 'id="recall-banner"' in page(client, f"/p/01/{MILK}/10/L1?lang=en")


def test_an_expired_lot_and_an_unknown_product(client: FlaskClient) -> None:
    assert 'id="expired-notice"' in page(client, f"/p/01/{MILK}/10/L2")
    assert client.get(f"/p/01/{UNKNOWN}").status_code == 404


def test_english(client: FlaskClient) -> None:
    html = page(client, f"/p/01/{MILK}/10/L1?lang=en")
    assert "Third-party test" in html and "Dairy products" in html
    assert 'lang="en"' in html


# --- the scan page ------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "target"), [
    (MILK, f"/p/01/{MILK}"),
    (MILK[1:], f"/p/01/{MILK}"),
    (f"(01){MILK}(10)L1(21){SERIALS[0]}", f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}"),
    (f"https://id.example.com/01/{MILK}/10/L1?17=270520", f"/p/01/{MILK}/10/L1"),
])
def test_a_typed_code_goes_to_its_page(client: FlaskClient, typed: str, target: str) -> None:
    response = client.get("/scan", query_string={"code": typed})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == target


def test_a_typed_supervision_code_goes_to_its_page(client: FlaskClient) -> None:
    code = supervision_code.mint(b"x", 3, 4)
    spaced = f"{code[:6]} {code[6:13]} {code[13:]}"
    response = client.get("/scan", query_string={"code": spaced})
    assert urlsplit(response.headers["Location"]).path == f"/p/c/{code}"


@pytest.mark.parametrize("typed", ["hello", f"(01){MILK[:-1]}0", "(00)106141411234567897", ""])
def test_an_unreadable_code_says_so_on_the_page(client: FlaskClient, typed: str) -> None:
    response = client.get("/scan", query_string={"code": typed})
    assert response.status_code == 400
    assert 'id="scan-error"' in response.get_data(as_text=True)


def test_scanner_output_with_group_separators_goes_to_its_page(client: FlaskClient) -> None:
    scanned = f"]d201{MILK}10L1\x1d21{SERIALS[0]}"
    response = client.get("/scan", query_string={"code": scanned})
    assert urlsplit(response.headers["Location"]).path == f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}"


def test_a_photo_goes_to_the_page_of_its_code(client: FlaskClient) -> None:
    import io

    import segno

    image = io.BytesIO()
    segno.make(f"https://id.example.com/01/{MILK}/10/L1/21/{SERIALS[0]}", error="m").save(
        image, kind="png", scale=8, border=4)
    response = client.post("/scan/photo", data={"image": (io.BytesIO(image.getvalue()),
                                                          "label.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert urlsplit(response.headers["Location"]).path == f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}"
    blank = client.post("/scan/photo", data={"image": (io.BytesIO(b"not an image"), "x.png")},
                        content_type="multipart/form-data")
    assert blank.status_code == 400 and 'id="scan-error"' in blank.get_data(as_text=True)


# --- the public JSON ----------------------------------------------------------------------


def test_the_evidence_proves_the_pages_entries(client: FlaskClient, world: World) -> None:
    from base64 import b64decode

    from ledger.log import merkle

    body = client.get("/api/v1/public/evidence",
                      query_string={"gtin": MILK, "lot": "L1", "serial": SERIALS[0]}).get_json()
    assert body["operator_key"]["verifier_key"].startswith("tracenet.test/ledger+")
    assert body["checkpoint"].splitlines()[1] == str(body["size"])
    types = {entry["seq"]: entry for entry in body["entries"]}
    assert types[world.seqs["inspection"]]["entry"] is not None
    assert types[world.seqs["production"]]["entry"] is None  # quantities stay private
    assert types[world.seqs["serialization"]]["entry"] is None  # serials too
    for entry in body["entries"]:
        leaf = b64decode(entry["leaf_hash"])
        if entry["entry"] is not None:
            assert merkle.leaf_hash(b64decode(entry["entry"])) == leaf
        merkle.verify_inclusion(leaf_hash=leaf, index=entry["seq"], size=body["size"],
                                proof=[b64decode(h) for h in entry["proof"]],
                                root=b64decode(body["root"]))
    # the evidence counts nothing
    assert "第一次" in page(client, f"/p/01/{MILK}/10/L1/21/{SERIALS[0]}")


def test_the_lookup_json_counts_and_answers_in_one_shape(client: FlaskClient) -> None:
    first = client.get("/api/v1/public/lookup",
                       query_string={"gtin": MILK, "serial": SERIALS[1]}).get_json()
    assert (first["queries"]["count"], first["authenticity"]) == (1, "genuine")
    fake = client.get("/api/v1/public/lookup",
                      query_string={"gtin": MILK, "serial": "NOPE"}).get_json()
    assert fake.keys() == first.keys() and fake["counterfeit"]
    bad = client.get("/api/v1/public/lookup", query_string={"lot": "L1"})
    assert bad.status_code == 422
    by_link = client.get("/api/v1/public/lookup", query_string={
        "code": f"https://id.example.com/01/{MILK}/21/{SERIALS[1]}"}).get_json()
    assert by_link["queries"]["count"] == 2
    unreadable = client.get("/api/v1/public/lookup", query_string={"code": "(01)123"})
    assert unreadable.status_code == 400 and error(unreadable)["code"].startswith("code.")


def test_both_languages_have_every_word() -> None:
    from web.consumer_i18n import MESSAGES

    assert set(MESSAGES["zh_CN"]) == set(MESSAGES["en"])


def test_licences_are_named(client: FlaskClient) -> None:
    assert "食品生产许可证" in page(client, f"/p/01/{MILK}")
    assert "Food production licence" in page(client, f"/p/01/{MILK}?lang=en")


def test_an_issued_supervision_code_resolves_to_its_unit(client: FlaskClient,
                                                         world: World) -> None:
    text, serial = next(iter(world.codes.items()))
    assert client.get(f"/c/{text}").headers["Location"] == f"http://localhost/p/c/{text}"
    html = page(client, f"/p/c/{text}")
    assert "正品码" in html and "您是第一次查询此码" in html and serial in html
    typed = client.get("/scan", query_string={"code": f"{text[:6]}-{text[6:13]}-{text[13:]}"})
    assert urlsplit(typed.headers["Location"]).path == f"/p/c/{text}"
    # counted together with the unit's GS1 code
    assert "此码已被查询 2 次" in page(client, f"/p/01/{MILK}/21/{serial}")


def test_the_public_json_is_what_its_openapi_schemas_describe(client: FlaskClient) -> None:
    from schemas.consumer import EvidenceSchema, LookupSchema

    spec = client.get("/api/openapi.json").get_json()
    for path, name in (("/api/v1/public/lookup", "Lookup"),
                       ("/api/v1/public/evidence", "Evidence")):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"]["$ref"].endswith(name)
    for query in ({"gtin": MILK, "lot": "L1", "serial": SERIALS[0]},
                  {"gtin": MILK, "lot": "L1", "serial": "NEVER"}, {"gtin": UNKNOWN},
                  {"code": supervision_code.mint(b"forged", 5, 5)}):
        body = client.get("/api/v1/public/lookup", query_string=query).get_json()
        assert LookupSchema().validate(body) == {}
        assert set(body) == set(LookupSchema().fields)
    evidence = client.get("/api/v1/public/evidence",
                          query_string={"gtin": MILK, "lot": "L1"}).get_json()
    assert EvidenceSchema().validate(evidence) == {}


def test_a_lot_holding_a_slash_resolves_as_digital_link_escapes_it(client: FlaskClient,
                                                                   world: World) -> None:
    # GS1 Digital Link sends a '/' inside a value as %2F; the router decodes it, so the path
    # is split where the client put its slashes, not where the decoded path has them.
    world.submit(world.dairy, "production", {
        "gtin": MILK, "lot": "A/7?1", "quantity": "10", "unit": "pcs",
        "produced_at": "2026-11-22T10:00:00+08:00", "expiry": "2027-05-22", "inputs": []})
    path = f"/01/{MILK}/10/A%2F7%3F1"
    response = client.get(path + "?utm=qr")
    assert response.status_code == 307, response.get_data(as_text=True)
    assert response.headers["Location"] == f"http://localhost/p{path}?utm=qr"
    links = check_linkset(client.get(path + "?linkType=linkset").get_json())
    assert links["anchor"] == f"http://localhost{path}"
    assert GS1 + "recallStatus" in links  # the lot itself, not walked up to the product
    page = client.get(f"/p{path}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "A/7?1" in html and "2027" in html
    assert f'href="/p{path}?lang=en"' in html  # the language switch keeps the escapes
    assert client.get(f"/01/{MILK}/10/A/7").status_code == 400  # unescaped: a malformed path


def test_the_openapi_document_names_the_public_400s(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/public/lookup", "/api/v1/public/evidence"):
        assert "400" in spec["paths"][path]["get"]["responses"], path
        answered = client.get(path, query_string={"gtin": MILK[:-1] + "0"})
        assert answered.status_code == 400
        assert set(error(answered)) >= {"code", "message", "field"}


def test_the_recall_banner_gives_the_default_advice_in_the_pages_language(
        client: FlaskClient, world: World) -> None:
    from ledger.recall import DEFAULT_ADVICE

    start_recall(world.session, world.ledger, VAULT, enterprise=world.dairy, kind="voluntary",
                 level=1, reason="检出致病菌", hazard="腹泻", lots=[(MILK, "L1")],
                 event_time="2026-11-27T09:00:00+08:00")
    world.session.commit()
    chinese = page(client, f"/p/01/{MILK}/10/L1?lang=zh_CN")
    assert DEFAULT_ADVICE[0] in chinese and DEFAULT_ADVICE[1] not in chinese
    english = page(client, f"/p/01/{MILK}/10/L1?lang=en")
    banner = english[english.index('id="recall-banner"'):english.index("</section>")]
    assert DEFAULT_ADVICE[1] in banner and DEFAULT_ADVICE[0] not in banner


@pytest.mark.parametrize("path", [f"/p/01/{MILK[:-1]}{(int(MILK[-1]) + 1) % 10}",
                                  f"/p/01/{MILK}/17/261231", "/p/c/12345"])
def test_a_mistyped_page_address_says_what_is_wrong_on_a_page(client: FlaskClient,
                                                              path: str) -> None:
    # the resolver answers the same path with JSON for machines; a person gets the scan page
    answered = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert answered.status_code == 400
    assert answered.mimetype == "text/html"
    assert "This code cannot be read" in answered.get_data(as_text=True)
    assert client.get(path.removeprefix("/p")).get_json()["error"]["code"]


def test_a_language_switch_keeps_the_count_and_the_copied_code_warning(
        client: FlaskClient) -> None:
    path = f"/p/01/{MILK}/10/L1/21/{SERIALS[1]}"
    for _ in range(11):  # one more than the default threshold of 10
        page(client, path)
    english = page(client, path + "?lang=en")  # not counted, but still suspect
    assert 'id="counterfeit-warning"' in english and "Genuine code" not in english
    assert "This code has been checked 11 times" in english
    chinese = page(client, path + "?lang=zh_CN")
    assert 'id="counterfeit-warning"' in chinese and "此码已被查询 11 次" in chinese
    fresh = f"/p/01/{MILK}/10/L1/21/{SERIALS[2]}"
    unasked = page(client, fresh + "?lang=zh_CN")
    assert "正品码" in unasked and "第一次查询" not in unasked and "已被查询" not in unasked
    assert "您是第一次查询此码" in page(client, fresh)
    assert "您是第一次查询此码" in page(client, fresh + "?lang=zh_CN")  # still the first
