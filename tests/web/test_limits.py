"""Abuse limits: rates per address (429), bodies refused by size before they are read (413),
and JSON nested too deep (400), through the test client and through real gunicorn."""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_app
from tests.web.conftest import served
from web.limits import MAX_JSON_DEPTH, json_depth_exceeds
from web.settings import NAMES


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    os.environ["TRACENET_RATELIMIT_PUBLIC"] = "3 per minute"
    try:
        app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    finally:
        del os.environ["TRACENET_RATELIMIT_PUBLIC"]
    yield app
    app.extensions["tracenet.runtime"].close()


def test_a_public_page_is_limited_per_address(limited_app: Flask) -> None:
    client = limited_app.test_client()
    assert [client.get("/recalls").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/recalls")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_requests" and "3 per 1 minute" in error["message"]
    assert "请求过于频繁" in error["message_zh"]
    assert int(refused.headers["Retry-After"]) > 0
    # another address has its own allowance; the health check is never limited
    other = client.get("/recalls", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_every_endpoint_has_a_ceiling(client: Any) -> None:
    answered = client.get("/api/v1/ledger/checkpoint")
    assert answered.status_code == 200
    assert "X-RateLimit-Limit" in answered.headers


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=2), children, max_size=3), max_leaves=40)


@given(json_values, st.integers(0, 8))
def test_the_depth_check_agrees_with_a_recursive_count(value: Any, bound: int) -> None:
    assert json_depth_exceeds(value, bound) == (_depth(value) > bound)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_json_nested_too_deep_is_a_400(client: Any, depth: int) -> None:
    body = "[" * depth + "]" * depth
    for path in ("/api/v1/events", "/api/v1/webhooks"):
        answered = client.post(path, data=body, content_type="application/json")
        assert answered.status_code == 400, (path, answered.data[:200])
        assert answered.get_json()["error"]["code"] == "json_too_deep"
    nested_object = '{"a":' * depth + "1" + "}" * depth
    answered = client.post("/api/v1/events", data=nested_object,
                           content_type="application/json")
    assert answered.status_code == 400


def test_json_within_the_bound_reaches_the_view(client: Any) -> None:
    body = json.dumps({"type": "x", "payload": [[[[1]]]]})
    answered = client.post("/api/v1/events", data=body, content_type="application/json")
    assert answered.status_code == 401  # the view ran, and asked who is calling


def test_a_body_over_the_limit_is_refused_by_its_length(client: Any) -> None:
    answered = client.post("/api/v1/events", data=b"x" * 10,
                           environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)},
                           content_type="application/json")
    assert answered.status_code == 413
    assert answered.get_json()["error"]["code"] == "body_too_large"


def _send_and_read(url: str, path: str, announced: int, sent: int) -> tuple[bytes, int]:
    """POST announcing ``announced`` bytes, send up to ``sent`` of them while the server lets
    us, and return the answer with how many bytes went out before it came."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {announced}\r\n\r\n".encode())
        connection.settimeout(0.05)
        chunk, gone, answer = b"[" * 65536, 0, b""
        deadline = time.monotonic() + 20
        while gone < sent and time.monotonic() < deadline:
            try:
                answer = connection.recv(65536)
                if answer:
                    break
            except TimeoutError:
                pass
            try:
                gone += connection.send(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
        connection.settimeout(20)
        while b"\r\n\r\n" not in answer:
            more = connection.recv(65536)
            if not more:
                break
            answer += more
        return answer, gone


@pytest.mark.slow
def test_a_100_mb_body_is_refused_by_gunicorn_before_it_is_read(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": str(tmp_path)}
    app.extensions["tracenet.runtime"].close()
    with served(env, tmp_path) as url:
        announced = 100 * 1024 * 1024
        answer, gone = _send_and_read(url, "/api/v1/events", announced, announced)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert gone < announced // 4  # answered long before the body was all sent
        deep = "[" * 100_000 + "]" * 100_000
        answered = requests.post(f"{url}/api/v1/events", data=deep, timeout=30,
                                 headers={"Content-Type": "application/json"})
        assert answered.status_code == 400
        assert answered.json()["error"]["code"] == "json_too_deep"


def test_every_limited_blueprint_exists(client: Any) -> None:
    """Limits are given by blueprint name: a blueprint renamed away would go unlimited."""
    from web.limits import PUBLIC_BLUEPRINTS

    assert set(PUBLIC_BLUEPRINTS) <= set(client.application.blueprints)


def test_only_a_refusal_says_when_to_retry(limited_app: Flask) -> None:
    client = limited_app.test_client()
    answered = client.get("/recalls")
    assert answered.status_code == 200 and "Retry-After" not in answered.headers
    assert answered.headers["X-RateLimit-Remaining"] == "2"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/codes/parse"])
def test_a_chunked_body_over_the_limit_gets_the_same_413(client: Any, path: str) -> None:
    # No Content-Length (chunked, as gunicorn passes it on): the body is cut off as it is read,
    # and answered as one whose length said so, not with Werkzeug's own error.
    client.application.config["MAX_CONTENT_LENGTH"] = 4096
    body = b'{"code": "' + b"1" * 20_000 + b'"}'
    answered = client.post(path, input_stream=io.BytesIO(body), environ_overrides={
        "wsgi.input_terminated": True}, headers={
        "Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    assert answered.status_code == 413, answered.data[:300]
    assert answered.get_json()["error"]["code"] == "body_too_large"
    assert answered.get_json()["error"]["field"] == "body"
