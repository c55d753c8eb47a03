"""Checkpoint cadence over HTTP: signed entry timestamps, ?wait=checkpoint, covering checkpoints,
proofs against the newest signed checkpoint, and ``tracenet verify-timestamp``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger import log
from ledger.log import merkle
from ledger.log.checkpoint import open_checkpoint, parse_verifier_key
from ledger.log.timestamp import SignedEntryTimestamp
from tests.conftest import make_app, run_cli
from tests.web.test_api import add_enterprise, bearer, error, new_key_event
from web.db import get_session

INTERVAL = 0.5


@pytest.fixture
def cadence_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, CHECKPOINT_INTERVAL=INTERVAL)
    assert app.extensions["tracenet.runtime"].ledger.checkpoint_interval == INTERVAL
    yield app
    app.extensions["tracenet.runtime"].close()


@pytest.fixture
def http(cadence_app: Flask) -> FlaskClient:
    return cadence_app.test_client()


def operator(client: FlaskClient) -> tuple[str, Any]:
    return parse_verifier_key(client.get("/api/v1/ledger/key").text.strip())


def post(client: FlaskClient, token: str, body: Any, query: str = "",
         **headers: str) -> Any:
    return client.post(f"/api/v1/events{query}", json=body,
                       headers={**bearer(token), **headers})


def test_appends_answer_with_signed_entry_timestamps(cadence_app: Flask, http: FlaskClient,
                                                    tmp_path: Path) -> None:
    uscc, token = add_enterprise(cadence_app, 1)
    response = post(http, token, [new_key_event(uscc), new_key_event(uscc)])
    assert response.status_code == 201, response.get_json()
    entries = response.get_json()
    origin, public_key = operator(http)
    for entry in entries:
        stamp = SignedEntryTimestamp.from_json(entry["signed_entry_timestamp"])
        stamp.verify(public_key, origin=origin)
        assert (stamp.seq, stamp.leaf_hash.hex(), stamp.integrated_time) == (
            entry["seq"], entry["leaf_hash"], entry["recorded_at"])
        assert "checkpoint" not in entry  # nobody asked to wait
        # Reading the entry back gives the same timestamp, byte for byte.
        fetched = http.get(f"/api/v1/events/{entry['seq']}", headers=bearer(token)).get_json()
        assert fetched["signed_entry_timestamp"] == entry["signed_entry_timestamp"]

    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(entries))
    result = run_cli(cadence_app, "verify-timestamp", str(answer))
    assert result.exit_code == 0, result.output
    assert result.output.count("(entry matches)") == 2
    vkey = http.get("/api/v1/ledger/key").text.strip()
    result = run_cli(cadence_app, "verify-timestamp", "--key", vkey, str(answer))
    assert result.exit_code == 0, result.output

    # A tampered timestamp, or one moved to another entry, fails.
    forged = [dict(entries[0])]
    forged[0]["signed_entry_timestamp"] = {**entries[0]["signed_entry_timestamp"],
                                           "seq": entries[0]["seq"] + 1}
    answer.write_text(json.dumps(forged))
    result = run_cli(cadence_app, "verify-timestamp", str(answer))
    assert result.exit_code == 1
    assert "the timestamp's seq is" in result.output
    answer.write_text(json.dumps(forged[0]["signed_entry_timestamp"]))
    result = run_cli(cadence_app, "verify-timestamp", str(answer))
    assert result.exit_code == 1 and "signature does not verify" in result.output
    moved = {**entries[1], "signed_entry_timestamp": entries[0]["signed_entry_timestamp"]}
    answer.write_text(json.dumps(moved))
    result = run_cli(cadence_app, "verify-timestamp", str(answer))
    assert result.exit_code == 1 and "the timestamp's seq is" in result.output


def test_an_idempotent_retry_replays_the_same_timestamps(cadence_app: Flask,
                                                         http: FlaskClient) -> None:
    uscc, token = add_enterprise(cadence_app, 2)
    body = [new_key_event(uscc)]
    first = post(http, token, body, **{"Idempotency-Key": "k-1"})
    again = post(http, token, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert "signed_entry_timestamp" in again.get_json()[0]


def test_wait_checkpoint_answers_with_a_covering_checkpoint(cadence_app: Flask,
                                                            http: FlaskClient) -> None:
    uscc, token = add_enterprise(cadence_app, 3)
    post(http, token, [new_key_event(uscc)])  # the checkpoint due now covers this one
    started = time.monotonic()
    response = post(http, token, [new_key_event(uscc), new_key_event(uscc)],
                    "?wait=checkpoint&timeout=5")
    took = time.monotonic() - started
    assert response.status_code == 201, response.get_json()
    entries = response.get_json()
    origin, public_key = operator(http)
    notes = {entry["checkpoint"] for entry in entries}
    assert len(notes) == 1
    checkpoint = open_checkpoint(notes.pop(), key_name=origin, public_key=public_key)
    last = entries[-1]["seq"]
    assert checkpoint.size > last
    assert took < 5  # it waited for the cadence, not for the timeout
    # The inclusion proof by default is against the newest signed checkpoint.
    proof = http.get(f"/api/v1/ledger/proof/inclusion?seq={last}").get_json()
    assert proof["size"] == checkpoint.size
    merkle.verify_inclusion(leaf_hash=bytes.fromhex(entries[-1]["leaf_hash"]), index=last,
                            size=checkpoint.size, proof=[_b64(h) for h in proof["proof"]],
                            root=checkpoint.root_hash)


@pytest.fixture
def slow_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An interval long enough that a slow machine still asks before the checkpoint is due."""
    app = make_app(database_url, tmp_path, CHECKPOINT_INTERVAL=2)
    yield app
    app.extensions["tracenet.runtime"].close()


def test_covering_checkpoint_waits_or_says_pending(slow_app: Flask) -> None:
    cadence_app, http = slow_app, slow_app.test_client()
    uscc, token = add_enterprise(cadence_app, 4)
    with cadence_app.app_context():  # sign what is due, so the next append starts an interval
        log.latest_checkpoint(get_session(), cadence_app.extensions["tracenet.runtime"].ledger)
        get_session().commit()
    (entry,) = post(http, token, [new_key_event(uscc)]).get_json()
    seq = entry["seq"]
    pending = http.get(f"/api/v1/ledger/checkpoint?covering={seq}")
    assert pending.status_code == 404
    assert error(pending)["code"] == "checkpoint_pending"
    assert error(pending)["field"] == "covering"
    assert int(pending.headers["Retry-After"]) >= 1  # the rate limiter may say later
    waited = http.get(f"/api/v1/ledger/checkpoint?covering={seq}&wait=5")
    assert waited.status_code == 200
    origin, public_key = operator(http)
    assert open_checkpoint(waited.text, key_name=origin, public_key=public_key).size > seq
    # Bad input: a 4xx naming the parameter, never a hang.
    beyond = http.get(f"/api/v1/ledger/checkpoint?covering={seq + 100}&wait=5")
    assert beyond.status_code == 404 and error(beyond)["field"] == "covering"
    for query, field in (("covering=-1", "covering"), ("covering=x", "covering"),
                         ("covering=1&wait=11", "wait"), ("covering=1&wait=nan", "wait")):
        response = http.get(f"/api/v1/ledger/checkpoint?{query}")
        assert response.status_code == 422, query
        assert error(response)["field"] == field, query
    bad_wait = post(http, token, [new_key_event(uscc)], "?wait=forever")
    assert bad_wait.status_code == 422 and error(bad_wait)["field"] == "wait"
    too_long = post(http, token, [new_key_event(uscc)], "?wait=checkpoint&timeout=60")
    assert too_long.status_code == 422 and error(too_long)["field"] == "timeout"


def test_the_latest_checkpoint_lags_by_at_most_the_interval(cadence_app: Flask,
                                                            http: FlaskClient) -> None:
    uscc, token = add_enterprise(cadence_app, 5)
    entries = post(http, token, [new_key_event(uscc)]).get_json()
    time.sleep(INTERVAL)
    note = http.get("/api/v1/ledger/checkpoint").text  # due now: the reader signs it
    origin, public_key = operator(http)
    assert open_checkpoint(note, key_name=origin, public_key=public_key).size == \
        entries[-1]["seq"] + 1


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_tracenet_checkpoint_waits_for_one_covering_every_entry(slow_app: Flask,
                                                                tmp_path: Path) -> None:
    uscc, token = add_enterprise(slow_app, 6)
    client = slow_app.test_client()
    (entry,) = post(client, token, [new_key_event(uscc)]).get_json()
    assert run_cli(slow_app, "checkpoint").exit_code == 0  # may lag by up to the interval
    saved = tmp_path / "covering.note"
    waited = run_cli(slow_app, "checkpoint", "--wait", "5", "--out", str(saved))
    assert waited.exit_code == 0, waited.output
    assert int(saved.read_text().splitlines()[1]) == entry["seq"] + 1
