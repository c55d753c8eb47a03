"""ledger.log.evidence with a k-of-n cosignature policy: a checkpoint cosigned by Tracenet's
own witness code (ledger.log.cosignature.cosign) verifies, and a forged cosignature, one by an
unpinned key, one counted twice or too few of them fail. ``cosigned_cases`` is shared with
the node test of web/static/verify.js (tests/web/test_phone_js.py), so both agree."""

from __future__ import annotations

import base64
import copy
import dataclasses
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.errors import CheckpointError
from ledger.log.checkpoint import parse_note
from ledger.log.cosignature import CosignerKey, cosign, parse_cosigner_key
from ledger.log.evidence import verify_evidence
from ledger.log.keys import generate_private_key
from tests.ledger.conftest import Producer, append
from tests.ledger.test_evidence import build_evidence

_T0 = 1_795_000_000


def _flip(line: str) -> str:
    """The cosignature line with one bit of its signature flipped (key ID and time kept)."""
    prefix, blob = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    return f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def cosigned_cases(evidence: dict[str, Any]) -> dict[str, Any]:
    """Cases over ``evidence``: each {evidence, witnesses (pinned vkeys), k, ok, cosigners}
    with its checkpoint cosigned (or not) by witnesses made here."""
    keys = {name: generate_private_key() for name in ("w1.test", "w2.test", "w3.test")}
    vkeys = {name: CosignerKey.of(name, key).vkey for name, key in keys.items()}
    note: str = evidence["checkpoint"]
    text = parse_note(note).text
    line = {name: cosign(text, name=name, private_key=key, timestamp=_T0 + i)
            for i, (name, key) in enumerate(keys.items())}
    other_text = text.replace("\n", "\nx\n", 1)  # another checkpoint body, same key ID
    stale = cosign(other_text, name="w1.test", private_key=keys["w1.test"], timestamp=_T0)
    pinned = [vkeys["w1.test"], vkeys["w2.test"]]

    def case(lines: list[str], k: int, ok: bool, cosigners: list[str] | None = None,
             witnesses: list[str] | None = None) -> dict[str, Any]:
        served = copy.deepcopy(evidence)
        served["checkpoint"] = note + "".join(lines)
        return {"evidence": served, "witnesses": pinned if witnesses is None else witnesses,
                "k": k, "ok": ok, "cosigners": cosigners or []}

    return {
        "two_of_two": case([line["w1.test"], line["w2.test"]], 2, True, ["w1.test", "w2.test"]),
        "one_of_two": case([line["w2.test"]], 1, True, ["w2.test"]),
        "unpinned_lines_ignored": case([line["w3.test"], line["w1.test"]], 1, True,
                                       ["w1.test"]),
        "k_not_reached": case([line["w1.test"]], 2, False),
        "none_cosigned": case([], 1, False),
        "unpinned_key": case([line["w1.test"], line["w3.test"]], 2, False),
        "counted_once": case([line["w1.test"], line["w1.test"]], 2, False),
        "forged": case([_flip(line["w1.test"]), line["w2.test"]], 1, False),
        "other_checkpoint": case([stale, line["w2.test"]], 1, False),
        "same_key_twice_pinned": case([line["w1.test"]], 2, False,
                                      witnesses=[vkeys["w1.test"], vkeys["w1.test"]]),
    }


@pytest.fixture
def cases(session: Session, ledger: log.Ledger, producer: Producer) -> dict[str, Any]:
    ledger = dataclasses.replace(ledger, checkpoint_interval=0)
    appended = append(session, ledger, [producer.signed(lot=f"RM00{i}") for i in range(3)])
    session.commit()
    seqs = [a.entry.seq for a in appended]
    return cosigned_cases(build_evidence(session, ledger, seqs[:1], seqs[1:]))


def _check(case: dict[str, Any]) -> tuple[str, ...]:
    witnesses = [parse_cosigner_key(v) for v in case["witnesses"]]
    report = verify_evidence(case["evidence"],
                             verifier_key=case["evidence"]["operator_key"]["verifier_key"],
                             witnesses=witnesses, min_cosignatures=case["k"])
    return tuple(sorted(w.name for w in report.cosigners))


def test_cosigned_evidence_verifies_and_names_its_witnesses(cases: dict[str, Any]) -> None:
    for name, case in cases.items():
        if case["ok"]:
            assert _check(case) == tuple(case["cosigners"]), name


@pytest.mark.parametrize("name", ["k_not_reached", "none_cosigned", "unpinned_key",
                                  "counted_once", "forged", "other_checkpoint",
                                  "same_key_twice_pinned"])
def test_too_few_or_bad_cosignatures_fail(cases: dict[str, Any], name: str) -> None:
    case = cases[name]
    assert not case["ok"]
    with pytest.raises(CheckpointError) as failed:
        _check(case)
    if name in ("k_not_reached", "unpinned_key", "counted_once"):
        assert failed.value.message.startswith(f"only 1 of {case['k']} witnesses cosigned")
    if name == "none_cosigned":
        assert failed.value.message.startswith("only 0 of 1 witnesses cosigned")


def test_without_a_policy_the_cosignatures_are_not_required(cases: dict[str, Any]) -> None:
    case = cases["none_cosigned"]
    report = verify_evidence(case["evidence"],
                             verifier_key=case["evidence"]["operator_key"]["verifier_key"])
    assert report.cosigners == ()
