"""Witnesses end to end: the witness's HTTP protocol, the log submitting its checkpoints and
publishing the cosigned note, k-of-n clients, and the split-view attack over real HTTP.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from ledger import log
from ledger.errors import CheckpointError
from ledger.log.checkpoint import Checkpoint, verifier_key
from ledger.log.cosignature import CosignerKey, find_cosignatures, open_cosigned_checkpoint
from ledger.log.cosigning import Cosigner, Reply, WitnessEndpoint, http_post, parse_witnesses
from ledger.log.keys import load_or_create_private_key
from ledger.log.witness import encode_add_checkpoint
from tests.conftest import free_port, make_app, run_cli
from tests.ledger.conftest import Producer, append, enrol
from tests.processes import TRACENET, tracenet_env
from web.db import get_ledger, get_runtime, get_session
from web.runtime import Runtime
from web.witness import create_witness_app, get_witness


@pytest.fixture(autouse=True)
def _checkpoint_every_append(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare checkpoints with the head: sign one at every append, in this
    process and in the servers and commands it starts (the cadence's interval of 0)."""
    monkeypatch.setenv("TRACENET_CHECKPOINT_INTERVAL", "0")


def log_vkey(app: Flask) -> str:
    with app.app_context():
        ledger = get_ledger()
        return verifier_key(ledger.origin, ledger.signing_key.public_key())


def witness_app(app: Flask, tmp_path: Path, name: str) -> Flask:
    return create_witness_app({"NAME": name, "KEY": str(tmp_path / f"{name.replace('/', '_')}.pem"),
                               "LOGS": log_vkey(app),
                               "DATABASE_URL": f"sqlite:///{tmp_path / name.replace('/', '_')}.db"})


def grow(app: Flask, producer: Producer | None, count: int, serial: int = 3) -> Producer:
    with app.app_context():
        session, ledger = get_session(), get_ledger()
        producer = producer or enrol(session, ledger, serial)
        append(session, ledger, [producer.signed(lot=f"G{i}-{time.monotonic_ns()}")
                                 for i in range(count)])
        session.commit()
        log.latest_checkpoint(session, ledger)
        session.commit()
    return producer


def note_of(app: Flask) -> str:
    with app.app_context():
        session = get_session()
        note = log.latest_checkpoint(session, get_ledger())
        session.commit()
        return note


def size_of(note: str) -> int:
    return int(note.split("\n")[1])


def in_process(clients: dict[str, FlaskClient]) -> Callable[..., Reply]:
    """A Sender that hands the request to a witness app's test client by URL."""
    def send(url: str, body: bytes, *, timeout: float) -> Reply:
        base, _, path = url.rpartition("/")
        if base not in clients:
            raise ConnectionRefusedError(f"nothing listens at {base}")
        response = clients[base].post("/" + path, data=body)
        return Reply(response.status_code, response.content_type, response.get_data())
    return send


def cosigner_for(app: Flask, witnesses: list[tuple[Flask, str]],
                 send: Callable[..., Reply] | None = None) -> Cosigner:
    endpoints = [WitnessEndpoint(get_witness(w).key, url) for w, url in witnesses]
    clients = {url: w.test_client() for w, url in witnesses}
    return Cosigner(get_runtime_of(app).sessions, endpoints, send=send or in_process(clients))


def get_runtime_of(app: Flask) -> Runtime:
    with app.app_context():
        return get_runtime()


# ---- the witness's HTTP face ---------------------------------------------------------------

def test_the_witness_speaks_the_protocol(sqlite_app: Flask, tmp_path: Path) -> None:
    producer = grow(sqlite_app, None, 2)
    w = witness_app(sqlite_app, tmp_path, "witness.test/w1")
    client = w.test_client()
    status = client.get("/").get_data(as_text=True)
    assert get_witness(w).key.vkey in status and "tracenet.test/ledger" in status

    first = note_of(sqlite_app)
    size = size_of(first)
    ok = client.post("/add-checkpoint", data=encode_add_checkpoint(0, [], first))
    assert ok.status_code == 200
    assert ok.content_type == "text/plain; charset=utf-8"
    lines = ok.get_data(as_text=True)
    assert lines.startswith("— witness.test/w1 ") and lines.endswith("\n")
    assert find_cosignatures(first + lines, [get_witness(w).key])

    grow(sqlite_app, producer, 3)
    second = note_of(sqlite_app)
    stale = client.post("/add-checkpoint", data=encode_add_checkpoint(0, [], second))
    assert stale.status_code == 409
    assert stale.content_type == "text/x.tlog.size"
    assert stale.get_data(as_text=True) == f"{size}\n"

    with sqlite_app.app_context():
        proof = log.consistency_proof(get_session(), size, size_of(second)).hashes
    bad = client.post("/add-checkpoint",
                      data=encode_add_checkpoint(size, [bytes(32)] * len(proof), second))
    assert bad.status_code == 422
    assert "-- the checkpoint this witness cosigned --" in bad.get_data(as_text=True)
    good = client.post("/add-checkpoint", data=encode_add_checkpoint(size, proof, second))
    assert good.status_code == 200

    assert client.post("/add-checkpoint", data=b"old x\n\n").status_code == 400
    assert client.get("/add-checkpoint").status_code == 405
    assert client.post("/add-checkpoint", data=b"x" * (300 * 1024)).status_code == 413
    other = log.Ledger("elsewhere.test/log", load_or_create_private_key(tmp_path / "o.pem"))
    foreign = other.sign(Checkpoint(other.origin, 1, bytes(32)))
    assert client.post("/add-checkpoint",
                       data=encode_add_checkpoint(0, [], foreign)).status_code == 404
    impostor = log.Ledger("tracenet.test/ledger", load_or_create_private_key(tmp_path / "i.pem"))
    forged = impostor.sign(Checkpoint(impostor.origin, 1, bytes(32)))
    assert client.post("/add-checkpoint",
                       data=encode_add_checkpoint(0, [], forged)).status_code == 403
    [kept] = client.get("/evidence").get_json()["evidence"]
    assert kept["origin"] == "tracenet.test/ledger" and kept["kind"] == "inconsistent"
    assert kept["held_note"] == first
    assert client.get("/evidence?origin=other.test").get_json() == {"evidence": []}


def test_log_keys_given_to_witness_serve(sqlite_app: Flask, tmp_path: Path) -> None:
    from web.cli.witness import _log_line

    vkey = log_vkey(sqlite_app)
    (tmp_path / "log.vkey").write_text(vkey + "\n")
    assert _log_line(str(tmp_path / "log.vkey")) == vkey
    assert _log_line(f"other.test={tmp_path / 'log.vkey'}") == f"other.test {vkey}"
    assert _log_line(vkey) == vkey
    key_file = sqlite_app.config["LEDGER_KEY"]
    assert _log_line(f"tracenet.test/ledger={key_file}") == f"tracenet.test/ledger {vkey}"
    with sqlite_app.app_context():
        public = get_ledger().signing_key.public_key()
    (tmp_path / "pub.pem").write_bytes(public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert _log_line(f"tracenet.test/ledger={tmp_path / 'pub.pem'}") == (
        f"tracenet.test/ledger {vkey}")
    for bad in (key_file, str(tmp_path / "missing"), f"x={tmp_path / 'missing'}"):
        with pytest.raises(click.BadParameter):
            _log_line(bad)


# ---- the log's side ------------------------------------------------------------------------

def test_the_log_submits_checkpoints_and_publishes_cosigned_notes(app: Flask,
                                                                  tmp_path: Path) -> None:
    producer = grow(app, None, 2)
    w1 = witness_app(app, tmp_path, "witness.test/w1")
    w2 = witness_app(app, tmp_path, "witness.test/w2")
    keys = [get_witness(w1).key, get_witness(w2).key]
    cosigner = cosigner_for(app, [(w1, "http://w1.test"), (w2, "http://w2.test")])
    client = app.test_client()
    assert client.get("/api/v1/ledger/checkpoint?min_cosignatures=1").status_code == 404

    outcomes = cosigner.round()
    assert [s.outcome for s in outcomes] == ["cosigned", "cosigned"]
    assert cosigner.round() == []  # nothing new: nobody is asked again
    note = client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    with app.app_context():
        public_key = get_ledger().signing_key.public_key()
    opened = open_cosigned_checkpoint(note, key_name="tracenet.test/ledger",
                                      public_key=public_key, witnesses=keys,
                                      min_cosignatures=2)
    assert {c.witness for c in opened.cosignatures} == set(keys)
    assert client.get("/checkpoint").get_data(as_text=True) == note
    # `tracenet checkpoint --out` saves the cosigned note; verify holds it to 2 of 2.
    saved = tmp_path / "saved.note"
    assert run_cli(app, "checkpoint", "--out", str(saved)).exit_code == 0
    assert saved.read_text() == note
    policy = [arg for key in keys for arg in ("--witness", key.vkey)]
    result = run_cli(app, "verify", "--checkpoint", str(saved), *policy,
                     "--min-cosignatures", "2")
    assert result.exit_code == 0, result.output
    assert "by 2 of 2 witnesses" in result.output

    # New entries: the next round proves the new checkpoint consistent with the old.
    grow(app, producer, 4)
    latest = client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    assert find_cosignatures(latest, keys) == []
    held = client.get("/api/v1/ledger/checkpoint?min_cosignatures=2").get_data(as_text=True)
    assert held == note  # the latest checkpoint two witnesses cosigned is still the old one
    assert [s.outcome for s in cosigner.round()] == ["cosigned", "cosigned"]
    assert get_witness(w1)._store.held("tracenet.test/ledger").size == size_of(latest)  # type: ignore[attr-defined]
    assert len(find_cosignatures(client.get("/checkpoint").get_data(as_text=True), keys)) == 2

    # A log that lost track of a witness (a fresh worker) learns its size from the 409.
    grow(app, producer, 2)
    fresh = cosigner_for(app, [(w1, "http://w1.test")])
    fresh._known.clear()  # noqa: SLF001
    [submission] = fresh.round()
    assert submission.outcome == "cosigned"
    bad_query = client.get("/api/v1/ledger/checkpoint?min_cosignatures=-1")
    assert bad_query.status_code == 422


def test_an_unreachable_witness_does_not_stop_the_others(sqlite_app: Flask,
                                                         tmp_path: Path) -> None:
    grow(sqlite_app, None, 1)
    w1 = witness_app(sqlite_app, tmp_path, "witness.test/w1")
    down = CosignerKey.of("witness.test/down", load_or_create_private_key(tmp_path / "d.pem"))
    cosigner = Cosigner(get_runtime_of(sqlite_app).sessions, [
        WitnessEndpoint(down, "http://down.test"),
        WitnessEndpoint(get_witness(w1).key, "http://w1.test")],
        send=in_process({"http://w1.test": w1.test_client()}))
    assert [s.outcome for s in cosigner.round()] == ["unreachable", "cosigned"]
    # The real sender, against a closed port.
    with pytest.raises(OSError):
        http_post(f"http://127.0.0.1:{free_port()}/add-checkpoint", b"", timeout=2)


def test_witness_configuration() -> None:
    key = CosignerKey(name="w.test/a", public_key=bytes(range(32)))
    [endpoint] = parse_witnesses(f"  {key.vkey}   http://127.0.0.1:8001/ ;\n")
    assert endpoint == WitnessEndpoint(key, "http://127.0.0.1:8001")
    for bad in (key.vkey, f"{key.vkey} ftp://x", "nonsense http://x"):
        with pytest.raises(CheckpointError):
            parse_witnesses(bad)


# ---- split view, over real HTTP --------------------------------------------------------------

@contextmanager
def serve_witness(tmp_path: Path, name: str, log_key_file: Path) -> Iterator[tuple[str, str]]:
    """``tracenet witness serve`` as a real process; its URL and verifier key."""
    key = tmp_path / f"{name.replace('/', '_')}.pem"
    keygen = subprocess.run([TRACENET, "witness", "keygen", "--name", name, "--out", str(key)],
                            capture_output=True, text=True, check=True)
    vkey = keygen.stdout.strip()
    port = free_port()
    log_file = (tmp_path / f"{name.replace('/', '_')}.log").open("w")
    process = subprocess.Popen(
        [TRACENET, "witness", "serve", "--name", name, "--key", str(key),
         "--log", str(log_key_file), "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, Path(log_file.name).read_text()
            assert time.monotonic() < deadline, "the witness did not come up"
            try:
                # Our witness, not another test's server that took the port first.
                if vkey in requests.get(url, timeout=2).text:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        yield url, vkey
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log_file.close()
    assert "Traceback" not in Path(log_file.name).read_text()


def test_split_view_is_refused_and_rejected(database_url: str, tmp_path: Path) -> None:
    """Two ledgers with the same operator key and origin, two trees of the same size: the
    log shows one to each witness. The second witness asked about the other tree refuses, and
    a client requiring 2 of 2 cosignatures accepts neither checkpoint."""
    honest = make_app(database_url, tmp_path)
    forked = make_app(f"sqlite:///{tmp_path / 'forked.db'}", tmp_path)  # the same key file
    try:
        producer_a = grow(honest, None, 3)
        grow(forked, None, 3)
        note_a, note_b = note_of(honest), note_of(forked)
        assert size_of(note_a) == size_of(note_b) and note_a != note_b
        (tmp_path / "log.vkey").write_text(log_vkey(honest))
        assert log_vkey(honest) == log_vkey(forked)

        with serve_witness(tmp_path, "witness.test/w1", tmp_path / "log.vkey") as (url1, k1), \
                serve_witness(tmp_path, "witness.test/w2", tmp_path / "log.vkey") as (url2, k2):
            witnesses = parse_witnesses(f"{k1} {url1}; {k2} {url2}")
            keys = [w.key for w in witnesses]
            honest_log = Cosigner(get_runtime_of(honest).sessions, witnesses[:1])
            forked_log = Cosigner(get_runtime_of(forked).sessions, witnesses[1:])
            assert [s.outcome for s in honest_log.round()] == ["cosigned"]  # w1 sees A
            assert [s.outcome for s in forked_log.round()] == ["cosigned"]  # w2 sees B

            # Each witness, asked second about the other tree, refuses: same size, other root.
            cross_a = Cosigner(get_runtime_of(honest).sessions, witnesses[1:])
            cross_b = Cosigner(get_runtime_of(forked).sessions, witnesses[:1])
            [refused_a] = cross_a.round()
            [refused_b] = cross_b.round()
            assert refused_a.outcome == refused_b.outcome == "refused"
            assert "holds another tree of this size" in refused_a.detail
            raw = requests.post(f"{url2}/add-checkpoint",
                                data=encode_add_checkpoint(size_of(note_a), [], note_a),
                                timeout=10)
            assert raw.status_code == 409
            assert raw.headers["Content-Type"] == "text/x.tlog.size"

            # The client that requires 2 of 2 rejects both views.
            with honest.app_context():
                public_key = get_ledger().signing_key.public_key()
            published = {}
            for name, app in (("A", honest), ("B", forked)):
                published[name] = app.test_client().get("/checkpoint").get_data(as_text=True)
                with pytest.raises(CheckpointError, match=r"has 1 of the 2 witness "
                                                          r"cosignatures required"):
                    open_cosigned_checkpoint(published[name], key_name="tracenet.test/ledger",
                                             public_key=public_key, witnesses=keys,
                                             min_cosignatures=2)
            (tmp_path / "forked.note").write_text(published["B"])
            result = run_cli(honest, "verify", "--checkpoint", str(tmp_path / "forked.note"),
                             "--witness", k1, "--witness", k2, "--min-cosignatures", "2")
            assert result.exit_code == 1
            assert "has 1 of the 2 witness cosignatures required" in result.output
            result = run_cli(honest, "verify", "--witness", k1, "--witness", k2,
                             "--min-cosignatures", "1")
            assert result.exit_code == 0, result.output
            assert "by 1 of 2 witnesses (witness.test/w1+" in result.output
            # One witness given twice is not two of two.
            result = run_cli(honest, "verify", "--witness", k1, "--witness", k1,
                             "--min-cosignatures", "2")
            assert result.exit_code == 2
            assert "a witness key is given twice" in result.output

            # The honest log grows; a forked extension shown to w1 fails its consistency proof.
            grow(forked, None, 2, serial=9)
            [inconsistent] = Cosigner(get_runtime_of(forked).sessions, witnesses[:1]).round()
            assert inconsistent.outcome == "refused"
            assert inconsistent.detail.startswith("HTTP 422")
            assert "is not proved consistent" in inconsistent.detail
            grow(honest, producer_a, 2)
            assert [s.outcome for s in honest_log.round()] == ["cosigned"]
        w1_log = (tmp_path / "witness.test_w1.log").read_text()
        assert "refused a checkpoint of tracenet.test/ledger" in w1_log
    finally:
        for app in (honest, forked):
            app.extensions["tracenet.runtime"].close()


def test_the_worker_submits_to_configured_witnesses(sqlite_url: str, tmp_path: Path) -> None:
    app = make_app(sqlite_url, tmp_path)
    try:
        grow(app, None, 2)
        (tmp_path / "log.vkey").write_text(log_vkey(app))
        with serve_witness(tmp_path, "witness.test/w1", tmp_path / "log.vkey") as (url, vkey):
            env = tracenet_env(sqlite_url, tmp_path)
            env["TRACENET_WITNESSES"] = f"{vkey} {url}"
            worker = subprocess.Popen([TRACENET, "worker", "--poll", "0.2"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
            try:
                client = app.test_client()
                deadline = time.monotonic() + 30
                while client.get("/api/v1/ledger/checkpoint?min_cosignatures=1"
                                 ).status_code != 200:
                    assert time.monotonic() < deadline, "the worker never got a cosignature"
                    time.sleep(0.2)
                note = client.get("/checkpoint").get_data(as_text=True)
                assert find_cosignatures(note, [parse_witnesses(f"{vkey} {url}")[0].key])
            finally:
                worker.send_signal(signal.SIGTERM)
                output, _ = worker.communicate(timeout=30)
            assert worker.returncode == 0, output
            assert "submitting checkpoints to witness.test/w1+" in output
    finally:
        app.extensions["tracenet.runtime"].close()


def test_refusals_and_silence_are_not_hammered(sqlite_app: Flask, tmp_path: Path) -> None:
    """A witness that refused a checkpoint is not asked about it again (only about the next
    one); one that does not answer is asked again after a doubling delay."""
    producer = grow(sqlite_app, None, 1)
    now = [1000.0]
    answers: list[str] = []

    def send(url: str, body: bytes, *, timeout: float) -> Reply:
        answers.append(url)
        if url.startswith("http://down.test"):
            raise ConnectionRefusedError("down")
        return Reply(422, "text/plain", b"inconsistent")

    keys = [CosignerKey.of(f"witness.test/{name}", load_or_create_private_key(
        tmp_path / f"{name}.pem")) for name in ("down", "refusing")]
    cosigner = Cosigner(get_runtime_of(sqlite_app).sessions, [
        WitnessEndpoint(keys[0], "http://down.test"),
        WitnessEndpoint(keys[1], "http://refusing.test")], send=send, clock=lambda: now[0])
    assert [s.outcome for s in cosigner.round()] == ["unreachable", "refused"]
    assert cosigner.round() == []  # neither is due: one refused this checkpoint, one is resting
    now[0] += 1.5
    assert [s.outcome for s in cosigner.round()] == ["unreachable"]
    now[0] += 1.5  # the delay doubled to 2 s
    assert cosigner.round() == []
    now[0] += 1.0
    assert [s.outcome for s in cosigner.round()] == ["unreachable"]
    grow(sqlite_app, producer, 1)  # a new checkpoint: the refusing witness is asked again
    assert [s.witness for s in cosigner.round()] == [str(keys[1])]
    assert len(answers) == 5
