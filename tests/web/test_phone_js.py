"""The shopper's phone scripts under node: web/static/verify.js, the in-browser ledger check,
on proofs Tracenet made, and web/static/scan.js, where a code read leads.

verify.js must agree with ``ledger.log``: every inclusion proof and signed checkpoint the
ledger issues verifies, and every tampered copy (tests/js/verify.test.mjs) fails.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.db import create_ledger_engine, migrate
from ledger.log import merkle
from ledger.log.checkpoint import verifier_key
from ledger.log.keys import generate_private_key
from tests.conftest import REPO
from tests.ledger.conftest import ORIGIN, Producer, append, enrol
from tests.ledger.test_evidence import build_evidence

NODE = shutil.which("node")


class _Nodes:
    """Every perfect subtree of a list of leaf hashes, for merkle.inclusion_proof."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes = {(0, i): h for i, h in enumerate(leaves)}
        level, row = 0, leaves
        while len(row) > 1:
            row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
            level += 1
            self.nodes.update({(level, i): h for i, h in enumerate(row)})

    def read_nodes(self, keys: object) -> dict[tuple[int, int], bytes]:
        return self.nodes


def proof_vectors() -> list[dict[str, object]]:
    """Inclusion proofs from ledger.log.merkle over many tree shapes (hex, as the CLI prints)."""
    rng = random.Random(6962)  # noqa: S311 - tree shapes, not secrets
    vectors: list[dict[str, object]] = []
    for size in [*range(1, 34), 63, 64, 65, 100, 255, 1000]:
        leaves = [merkle.leaf_hash(rng.randbytes(8)) for _ in range(size)]
        nodes = _Nodes(leaves)
        root = merkle.root_from_leaf_hashes(leaves)
        for index in sorted({0, size - 1, rng.randrange(size), size // 2}):
            path = merkle.inclusion_proof(nodes, index, size)
            vectors.append({"index": index, "size": size, "leaf_hash": leaves[index].hex(),
                            "root": root.hex(), "proof": [h.hex() for h in path]})
    return vectors


def _fixture(session: Session, ledger: log.Ledger, producer: Producer) -> dict[str, object]:
    appended = append(session, ledger, [producer.signed(lot=f"RM00{i}") for i in range(3)])
    session.commit()
    public = [appended[0].entry.seq, appended[2].entry.seq]
    private = [appended[1].entry.seq, 1]  # an intake kept private, and an identity entry
    return {
        "evidence": build_evidence(session, ledger, public, private),
        "key": verifier_key(ledger.origin, ledger.signing_key.public_key()),
        "other_key": verifier_key(ledger.origin, generate_private_key().public_key()),
        "facts": [{"seq": appended[2].entry.seq, "field": "payload.lot", "value": "RM002"},
                  {"seq": appended[0].entry.seq, "field": "type", "value": "material_intake"}],
        "vectors": proof_vectors(),
    }


@pytest.mark.skipif(NODE is None, reason="node is missing (make system installs nodejs)")
def test_verify_js_agrees_with_the_ledger(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_ledger_engine(sqlite_url)
    migrate(engine)
    # A checkpoint every append (no cadence): the latest is at the ledger's size.
    ledger = log.Ledger(ORIGIN, generate_private_key(), checkpoint_interval=0)
    with Session(engine) as session:
        log.initialise(session, ledger)
        session.commit()
        producer = enrol(session, ledger, 1)
        fixture = _fixture(session, ledger, producer)
    engine.dispose()
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(fixture))
    result = subprocess.run([NODE, "--test", "tests/js/verify.test.mjs"], cwd=REPO,
                            env={"TRACENET_EVIDENCE": str(path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 14" in result.stdout, result.stdout


@pytest.mark.skipif(NODE is None, reason="node is missing (make system installs nodejs)")
def test_scan_js_sends_each_code_to_its_resolver_page() -> None:
    result = subprocess.run([NODE, "--test", "tests/js/scan.test.mjs"], cwd=REPO,
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 4" in result.stdout, result.stdout
