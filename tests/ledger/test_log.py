"""Appending, identity rules, proofs and checkpoints against a real database."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger import log
from ledger.errors import IdentityError, NotFoundError, SignatureError
from ledger.log import merkle
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entry import GENESIS_PREV, SignedStatement
from ledger.log.identity import KEY_REGISTERED, KEY_REVOKED, OPERATOR
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes
from ledger.log.storage import EntryRow
from tests.ledger.conftest import ORIGIN, Producer, append, b64, enrol


def test_genesis_registers_the_operator_key(session: Session, ledger: log.Ledger) -> None:
    genesis = log.get_entry(session, 0)
    assert genesis.statement.type == KEY_REGISTERED
    assert genesis.statement.payload["enterprise"] == OPERATOR
    assert genesis.statement.key_id == ledger.key_id
    assert genesis.prev == GENESIS_PREV
    log.initialise(session, ledger)  # idempotent
    assert log.ledger_size(session) == 1


def test_initialise_refuses_another_operator_key(session: Session) -> None:
    with pytest.raises(Exception, match="configured signing key is"):
        log.initialise(session, log.Ledger(ORIGIN, generate_private_key()))


def test_append_chains_and_proves(session: Session, ledger: log.Ledger,
                                  producer: Producer) -> None:
    ledger = dataclasses.replace(ledger, checkpoint_interval=0)  # a checkpoint every append
    entries = [a.entry for a in append(session, ledger,
                                           [producer.signed(lot=f"L{i}") for i in range(5)])]
    session.commit()
    assert [e.seq for e in entries] == [3, 4, 5, 6, 7]
    for earlier, later in zip(entries, entries[1:], strict=False):
        assert later.prev == earlier.leaf_hash
    size = log.ledger_size(session)
    assert size == 8
    note = log.latest_checkpoint(session, ledger)
    checkpoint = open_checkpoint(note, key_name=ORIGIN, public_key=ledger.signing_key.public_key())
    assert checkpoint.size == size
    for seq in range(size):
        proof = log.inclusion_proof(session, seq, size)
        merkle.verify_inclusion(leaf_hash=log.get_entry(session, seq).leaf_hash, index=seq,
                                size=size, proof=proof.hashes, root=checkpoint.root_hash)
    for old in range(1, size + 1):
        proof = log.consistency_proof(session, old, size)
        merkle.verify_consistency(old_size=old, new_size=size, old_root=log.tree_root(session, old),
                                  new_root=checkpoint.root_hash, proof=proof.hashes)


def test_an_interval_of_zero_pins_every_batch(session: Session, ledger: log.Ledger,
                                             producer: Producer) -> None:
    every = dataclasses.replace(ledger, checkpoint_interval=0)
    append(session, every, [producer.signed()])
    session.commit()
    append(session, every, [producer.signed(lot="L2"), producer.signed(lot="L3")])
    session.commit()
    stored = session.execute(text("SELECT size FROM checkpoints ORDER BY size")).scalars().all()
    assert stored[0] == 1 and stored[-2:] == [4, 6]  # genesis, then each batch


def _rejected(session: Session, ledger: log.Ledger, batch: list[SignedStatement],
              error: type[Exception], match: str) -> pytest.ExceptionInfo[Exception]:
    before = log.ledger_size(session)
    with pytest.raises(error, match=match) as info:
        append(session, ledger, batch)
    session.rollback()
    assert log.ledger_size(session) == before
    assert session.scalar(select(EntryRow.seq).order_by(EntryRow.seq.desc())) == before - 1
    return info


def test_forged_signature_is_rejected(session: Session, ledger: log.Ledger,
                                      producer: Producer) -> None:
    good = producer.signed()
    forged = SignedStatement(good.statement, bytes([good.signature[0] ^ 1]) + good.signature[1:])
    _rejected(session, ledger, [forged], SignatureError, "signature does not verify")


def test_unknown_key_is_rejected(session: Session, ledger: log.Ledger,
                                 producer: Producer) -> None:
    stranger = Producer(producer.uscc, generate_private_key())
    _rejected(session, ledger, [stranger.signed()], IdentityError, "unknown key")


def test_key_of_another_enterprise_is_rejected(session: Session, ledger: log.Ledger,
                                               producer: Producer) -> None:
    other = enrol(session, ledger, 2)
    impostor = other.statement()
    impostor = type(impostor)(impostor.type, producer.uscc, other.key_id, impostor.event_time,
                              impostor.payload)
    _rejected(session, ledger, [impostor.sign(other.key)], IdentityError,
              f"belongs to {other.uscc}, not {producer.uscc}")


def test_revoked_key_is_rejected(session: Session, ledger: log.Ledger,
                                 producer: Producer) -> None:
    append(session, ledger, [producer.signed(KEY_REVOKED, key_id=producer.key_id,
                                                 reason="lost laptop")])
    session.commit()
    revoked_at = log.ledger_size(session) - 1
    _rejected(session, ledger, [producer.signed()], IdentityError,
              f"revoked at seq {revoked_at}")


def test_only_the_operator_registers_enterprises(session: Session, ledger: log.Ledger,
                                                 producer: Producer) -> None:
    signed = producer.signed("enterprise_registered", uscc=producer.uscc, name="x")
    _rejected(session, ledger, [signed], IdentityError, "only the ledger operator")


def test_enterprise_registers_its_own_new_key_not_others(session: Session, ledger: log.Ledger,
                                                         producer: Producer) -> None:
    new_key = generate_private_key()
    payload = {"enterprise": producer.uscc, "key_id": key_id_for(new_key),
               "public_key": b64(public_key_bytes(new_key))}
    append(session, ledger, [producer.signed(KEY_REGISTERED, **payload)])
    session.commit()
    rotated = Producer(producer.uscc, new_key)
    append(session, ledger, [rotated.signed()])
    session.commit()
    other = enrol(session, ledger, 3)
    foreign = {**payload, "enterprise": other.uscc}
    newer = generate_private_key()
    foreign.update(key_id=key_id_for(newer), public_key=b64(public_key_bytes(newer)))
    _rejected(session, ledger, [producer.signed(KEY_REGISTERED, **foreign)], IdentityError,
              f"may not register keys for {other.uscc}")
    _rejected(session, ledger, [producer.signed(KEY_REGISTERED, **payload)], IdentityError,
              "already registered")
    bad_id = {**payload, "key_id": "0" * 16}
    _rejected(session, ledger, [producer.signed(KEY_REGISTERED, **bad_id)], IdentityError,
              "expected key_id")


def test_a_bad_item_rejects_the_whole_batch(session: Session, ledger: log.Ledger,
                                            producer: Producer) -> None:
    good = [producer.signed(lot=f"L{i}") for i in range(4)]
    forged = SignedStatement(good[2].statement, bytes(64))
    info = _rejected(session, ledger, [good[0], good[1], forged, good[3]], SignatureError,
                     "does not verify")
    assert info.value.item == 2  # type: ignore[attr-defined]


def test_proof_arguments_are_checked(session: Session) -> None:
    size = log.ledger_size(session)
    with pytest.raises(NotFoundError, match=f"expected a seq in 0..{size - 1}, got {size}"):
        log.inclusion_proof(session, size, size)
    with pytest.raises(NotFoundError, match=f"expected a tree size in 1..{size}, got 99"):
        log.inclusion_proof(session, 0, 99)
    with pytest.raises(NotFoundError, match="expected a first size in 1..1, got 0"):
        log.consistency_proof(session, 0, 1)
    with pytest.raises(NotFoundError, match="no entry at seq 42"):
        log.get_entry(session, 42)


def test_database_refuses_to_rewrite_entries(session: Session, producer: Producer) -> None:
    for statement in ("UPDATE entries SET type = 'x' WHERE seq = 0",
                      "DELETE FROM entries WHERE seq = 0",
                      "DELETE FROM merkle_nodes", "DELETE FROM checkpoints"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
