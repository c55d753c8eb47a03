"""The EPCIS queries through gunicorn (two workers) and a real HTTP client: URL-encoded hash IDs
and Digital Links in the path (``ni:///`` keeps its three slashes), the Link header followed
as a client would, and workers catching the index up at once without stepping on each other."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from tests.conftest import issue_token, make_app, run_cli
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served

pytestmark = pytest.mark.slow

PRODUCER, CUSTOMER = make_uscc(41), make_uscc(42)
GTIN = "06901234567892"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """gunicorn over a ledger with a product, two lots made and one of them shipped."""
    tmp_path = tmp_path_factory.mktemp("epcis-served")
    # prepared in this process (the CLI in-process is seconds faster than a subprocess each)
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    for uscc, name in ((PRODUCER, "福州乳业"), (CUSTOMER, "超市")):
        assert run_cli(app, "enterprise", "add", "--uscc", uscc, "--name", name,
                       "--district", "福州市").exit_code == 0
    token = issue_token(app, PRODUCER)
    sheets = {
        "product_registered": "gtin,name,category,standard,spec\n"
                              f"{GTIN},全脂纯牛奶 250mL,07,GB 25190-2010,250mL×24\n",
        "production": "gtin,lot,quantity,unit,produced_at,expiry\n"
                      f"{GTIN},P1,4000,pcs,2026-11-26T10:00:00+08:00,2027-05-26\n"
                      f"{GTIN},P2,100,pcs,2026-11-26T11:00:00+08:00,2027-05-26\n",
    }
    for name, text in sheets.items():
        sheet = tmp_path / f"{name}.csv"
        sheet.write_text(text)
        imported = run_cli(app, "import", str(sheet), "--enterprise", PRODUCER)
        assert imported.exit_code == 0, imported.output
    app.extensions["tracenet.runtime"].close()
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "epcis-served-secret", "TRACENET_CODE_SECRET": "test-code-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem")}
    with served(env, tmp_path) as url:
        yield url, token


def _events(response: requests.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    events: list[dict[str, object]] = response.json()["epcisBody"]["queryResults"][
        "resultsBody"]["eventList"]
    return events


def test_workers_catch_up_at_once_and_agree(server: tuple[str, str]) -> None:
    url, token = server
    headers = {"Authorization": f"Bearer {token}"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(f"{url}/epcis/events", headers=headers,
                                                       timeout=60), range(8)))
    ids = [[event["eventID"] for event in _events(answer)] for answer in answers]
    assert len(ids[0]) == 2 and all(found == ids[0] for found in ids)


def test_ids_and_digital_links_in_the_path(server: tuple[str, str]) -> None:
    url, token = server
    headers = {"Authorization": f"Bearer {token}"}
    first = requests.get(f"{url}/epcis/events?perPage=1&orderBy=eventTime", headers=headers,
                         timeout=30)
    [event] = _events(first)
    assert event["ilmd"] == {"cbvmda:lotNumber": "P1", "cbvmda:itemExpirationDate": "2027-05-26"}
    assert first.headers["GS1-EPCIS-Version"] == "2.0.0"
    following = first.links["next"]["url"]
    [second] = _events(requests.get(following, headers=headers, timeout=30))
    assert second["eventID"] != event["eventID"]
    assert "next" not in requests.get(following, headers=headers, timeout=30).links
    one = requests.get(f"{url}/epcis/events/{quote(str(event['eventID']), safe='')}",
                       headers=headers, timeout=30)
    assert one.status_code == 200, one.text
    assert one.json()["eventID"] == event["eventID"]
    lot = f"https://id.gs1.org/01/{GTIN}/10/P1"
    by_lot = requests.get(f"{url}/epcis/epcs/{quote(lot, safe='')}/events", headers=headers,
                          timeout=30)
    assert [e["eventID"] for e in _events(by_lot)] == [event["eventID"]]
    urn = "urn:epc:class:lgtin:6901234.056789.P1"
    by_urn = requests.get(f"{url}/epcis/epcs/{quote(urn, safe='')}/events", headers=headers,
                          timeout=30)
    assert [e["eventID"] for e in _events(by_urn)] == [event["eventID"]]
    refused = requests.get(f"{url}/epcis/events?MATCH_epcs=x", headers=headers, timeout=30)
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "MATCH_epcs"
    assert requests.get(f"{url}/epcis/events", timeout=30).status_code == 401
