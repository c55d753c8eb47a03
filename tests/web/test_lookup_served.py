"""Query counting through real gunicorn (two workers), on SQLite and PostgreSQL: concurrent
queries of one unit code from many clients all count, and exactly one of them is the first."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import make_app
from tests.ledger.consumer.conftest import MILK, SERIALS, build
from tests.web.conftest import served
from web.settings import NAMES

THREADS, EACH = 8, 20


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> Iterator[str]:
    app: Flask = make_app(database_url, tmp_path)
    runtime = app.extensions["tracenet.runtime"]
    with runtime.sessions() as session:
        build(session, runtime.ledger)
    runtime.close()
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": app.instance_path, "TRACENET_QUERY_WARNING_THRESHOLD": "1000"}
    with served(env, tmp_path) as base:
        yield base


@pytest.mark.slow
def test_concurrent_queries_of_one_code_all_count(url: str) -> None:
    query = {"gtin": MILK, "lot": "L1", "serial": SERIALS[0]}

    def look(_: int) -> list[tuple[int, bool]]:
        answers = []
        with requests.Session() as http:
            for _ in range(EACH):
                response = http.get(f"{url}/api/v1/public/lookup", params=query, timeout=60)
                assert response.status_code == 200, response.text
                body = response.json()
                answers.append((body["queries"]["count"], body["queries"]["first"]))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        answers = [answer for batch in pool.map(look, range(THREADS)) for answer in batch]
    counts = sorted(count for count, _first in answers)
    assert counts == list(range(1, THREADS * EACH + 1))  # none lost, none repeated
    assert [count for count, first in answers if first] == [1]
    page = requests.get(f"{url}/p/01/{MILK}/10/L1/21/{SERIALS[0]}", timeout=60).text
    assert f"此码已被查询 {THREADS * EACH + 1} 次" in page
