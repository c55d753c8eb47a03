"""The log stands alone: opaque entries, no personality, nothing of food imported.

Run in a fresh interpreter, because this test process has long imported the supervision
personality; there, ``sys.modules`` shows exactly what the log pulled in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

_SCRIPT = textwrap.dedent("""
    import base64, json, sys
    from sqlalchemy.orm import Session

    from ledger.db import create_ledger_engine, migrate
    from ledger.log import (NO_ADMISSION, Ledger, append, consistency_proof, inclusion_proof,
                            initialise, latest_checkpoint, ledger_size)
    from ledger.log import merkle
    from ledger.log.checkpoint import open_checkpoint
    from ledger.log.entry import Statement
    from ledger.log.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED
    from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes
    from ledger.log.verify import verify

    engine = create_ledger_engine(sys.argv[1])
    migrate(engine)
    ledger = Ledger("opaque.test/log", generate_private_key())
    member = generate_private_key()
    with Session(engine) as session:
        initialise(session, ledger)
        append(session, ledger, [
            ledger.operator_statement(ENTERPRISE_REGISTERED, {"uscc": "member-1"}),
            ledger.operator_statement(KEY_REGISTERED, {
                "enterprise": "member-1", "key_id": key_id_for(member),
                "public_key": base64.b64encode(public_key_bytes(member)).decode()}),
        ], NO_ADMISSION)
        session.commit()
        saved = latest_checkpoint(session, ledger)
        session.commit()
        for batch in range(5):  # opaque statements of a type no personality knows
            append(session, ledger, [
                Statement("note", "member-1", key_id_for(member), "2026-11-28T08:00:00Z",
                          {"text": f"batch {batch} item {item}", "blob": [batch, item]}
                          ).sign(member)
                for item in range(7)], NO_ADMISSION)
            session.commit()
        size = ledger_size(session)
        for seq in (0, 3, size // 2, size - 1):
            proof = inclusion_proof(session, seq)
            merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=seq, size=proof.size,
                                    proof=proof.hashes, root=proof.root)
        old = open_checkpoint(saved, key_name=ledger.origin,
                              public_key=ledger.signing_key.public_key())
        proof = consistency_proof(session, old.size)
        merkle.verify_consistency(old_size=old.size, new_size=proof.new_size,
                                  old_root=old.root_hash, new_root=proof.new_root,
                                  proof=proof.hashes)
        report = verify(session, origin=ledger.origin,
                        operator_key=ledger.signing_key.public_key(),
                        saved_checkpoints=[saved])
    print(json.dumps({"size": size, "verified": report.size, "checkpoints": report.checkpoints,
                      "modules": sorted(sys.modules)}))
""")

#: what a log with no personality must never load
_FORBIDDEN = ("ledger.supervision", "ledger.accounts", "ledger.demo", "schemas", "web",
              "flask", "marshmallow")


def test_the_log_appends_proves_and_verifies_opaque_entries_alone(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, f"sqlite:///{tmp_path / 'opaque.db'}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["size"] == report["verified"] == 1 + 2 + 5 * 7
    # The genesis checkpoint (no earlier one), maybe more as the cadence's second passes,
    # plus the saved one.
    assert report["checkpoints"] >= 2
    loaded = [name for name in report["modules"]
              if any(name == f or name.startswith(f + ".") for f in _FORBIDDEN)]
    assert loaded == []
