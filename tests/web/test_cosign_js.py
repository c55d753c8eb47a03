"""web/static/verify.js's k-of-n witness cosignature check under node, on the same cases as
ledger.log.evidence's (tests/ledger/test_evidence_cosigned.py), so browser and CLI agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.db import create_ledger_engine, migrate
from ledger.log.keys import generate_private_key
from tests.conftest import REPO
from tests.ledger.conftest import ORIGIN, append, enrol
from tests.ledger.test_evidence import build_evidence
from tests.ledger.test_evidence_cosigned import cosigned_cases

NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is missing (make system installs nodejs)")
def test_verify_js_counts_witness_cosignatures_as_the_ledger_does(sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    engine = create_ledger_engine(sqlite_url)
    migrate(engine)
    ledger = log.Ledger(ORIGIN, generate_private_key(), checkpoint_interval=0)
    with Session(engine) as session:
        log.initialise(session, ledger)
        session.commit()
        producer = enrol(session, ledger, 1)
        appended = append(session, ledger, [producer.signed(lot=f"RM00{i}") for i in range(3)])
        session.commit()
        seqs = [a.entry.seq for a in appended]
        cases = cosigned_cases(build_evidence(session, ledger, seqs[:1], seqs[1:]))
    engine.dispose()
    path = tmp_path / "cosigned.json"
    path.write_text(json.dumps(cases))
    result = subprocess.run([NODE, "--test", "tests/js/cosign.test.mjs"], cwd=REPO,
                            env={"TRACENET_COSIGNED": str(path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and f"# pass {len(cases) + 3}" in result.stdout, \
        result.stdout
