"""Commands on the log itself: init, verify, checkpoint, prove, consistency, rebuild."""

from __future__ import annotations

import time
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ledger import log
from ledger.credit.engine import rebuild as rebuild_grading
from ledger.db import migrate
from ledger.epcis import index as epcis_index
from ledger.errors import ProofError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import open_checkpoint, verifier_key
from ledger.log.cosigning import published_checkpoint
from ledger.log.verify import default_jobs, verify, verify_since
from ledger.supervision.admission import rebuild as rebuild_projections
from web.cli.context import with_ledger
from web.cli.terminal import fail, print_json, progress_bar
from web.cli.witness import require_cosignatures, witness_keys_option
from web.runtime import Runtime

__all__ = ["LEAVES_SUFFIX", "checkpoint", "consistency", "init", "prove", "rebuild",
           "verify_command"]

#: beside a saved checkpoint FILE, FILE.leaves holds its tree's leaf hashes
LEAVES_SUFFIX = ".leaves"


@click.command()
@with_ledger
def init(runtime: Runtime, session: Session) -> None:
    """Create or upgrade the database, the ledger key and the genesis entry."""
    migrate(runtime.engine)
    ledger = runtime.ledger
    log.initialise(session, ledger)
    session.commit()
    click.echo(f"ledger {ledger.origin} ready: {log.ledger_size(session)} entries, "
               f"operator key {ledger.key_id}")
    click.echo(f"checkpoint verifier key: "
               f"{verifier_key(ledger.origin, ledger.signing_key.public_key())}")


@click.command("verify")
@click.option("--checkpoint", "saved", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint saved earlier; the ledger must still match it.")
@click.option("--since", type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint saved earlier and trusted: prove it consistent with the "
                   "current tree, then verify only the entries after it. Its leaf hashes "
                   "(FILE.leaves, from `tracenet checkpoint --out FILE`) name the first entry "
                   "that differs if history was rewritten.")
@click.option("--leaves", "leaves_file", type=click.Path(exists=True, dir_okay=False),
              help="The saved tree's leaf hashes, if not beside the --since file as FILE.leaves "
                   "(say, a witness-cosigned note of the same size saved elsewhere).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes checking signatures [default: one per core].")
@witness_keys_option
@with_ledger
def verify_command(runtime: Runtime, session: Session, saved: tuple[str, ...],
                   since: str | None, leaves_file: str | None, jobs: int | None,
                   witness_keys: tuple[str, ...], min_cosignatures: int) -> None:
    """Recompute chain, tree, signatures and checkpoints; exit 1 naming the first bad seq.

    With --witness keys and --min-cosignatures K, every --checkpoint and the ledger's latest
    checkpoint cosigned by K of them must carry K valid cosignatures (C2SP tlog-cosignature).
    """
    ledger = runtime.ledger
    jobs = jobs or default_jobs()
    saved_notes = {path: Path(path).read_text() for path in saved}
    notes = [*saved_notes.values()]
    if witness_keys or min_cosignatures:
        # The --since checkpoint, trusted as the start, is held to the same k of n.
        held = {**saved_notes, since: Path(since).read_text()} if since else saved_notes
        try:
            notes += require_cosignatures(session, ledger, held, witness_keys,
                                          min_cosignatures)
        except SystemExit:
            # A rewrite re-signed by the operator also breaks the cosignatures on the
            # ledger's checkpoints: still name the first entry that differs, if one does.
            if since is not None:
                _name_the_first_difference(runtime, session, since, leaves_file, notes, jobs)
            raise
    size = log.ledger_size(session)
    started = time.perf_counter()
    if since is not None:
        note = Path(since).read_text()
        leaves_path = Path(leaves_file or f"{since}{LEAVES_SUFFIX}")
        leaves = leaves_path.read_bytes() if leaves_path.is_file() else None
        with progress_bar(max(0, size - _note_size(note)), "verifying new entries") as progress:
            try:
                report = verify_since(session, origin=ledger.origin,
                                      operator_key=ledger.signing_key.public_key(),
                                      saved_note=note, saved_leaves=leaves,
                                      saved_checkpoints=notes, progress=progress, jobs=jobs)
            except VerificationError as exc:
                fail(f"FAILED {exc.where}: {exc.kind}: {exc.detail}")
        elapsed = time.perf_counter() - started
        click.echo(f"OK: {report.size} entries, root {report.root.hex()}, "
                   f"{report.checkpoints} checkpoints match")
        per_entry = f", {elapsed / report.entries * 1e6:.0f} µs per entry" if report.entries else ""
        click.echo(f"consistent with the saved checkpoint at size {report.since}; verified the "
                   f"{report.entries} entries after it in {elapsed:.3f} s{per_entry} "
                   f"({jobs} jobs; {report.setup_seconds:.3f} s of it the consistency proof and "
                   f"the key ring at the saved size)")
        return
    with progress_bar(size, "verifying") as progress:
        try:
            full = verify(session, origin=ledger.origin,
                          operator_key=ledger.signing_key.public_key(),
                          saved_checkpoints=notes, progress=progress, jobs=jobs)
        except VerificationError as exc:
            fail(f"FAILED {exc.where}: {exc.kind}: {exc.detail}")
    click.echo(f"OK: {full.size} entries, root {full.root.hex()}, "
               f"{full.checkpoints} checkpoints match")


def _name_the_first_difference(runtime: Runtime, session: Session, since: str,
                               leaves_file: str | None, notes: list[str], jobs: int) -> None:
    """Exit 1 naming the first bad or rewritten seq after the --since checkpoint, if any."""
    ledger = runtime.ledger
    leaves_path = Path(leaves_file or f"{since}{LEAVES_SUFFIX}")
    try:
        verify_since(session, origin=ledger.origin, operator_key=ledger.signing_key.public_key(),
                     saved_note=Path(since).read_text(),
                     saved_leaves=leaves_path.read_bytes() if leaves_path.is_file() else None,
                     saved_checkpoints=notes, jobs=jobs)
    except VerificationError as exc:
        fail(f"FAILED {exc.where}: {exc.kind}: {exc.detail}")


def _note_size(note: str) -> int:
    """The tree size a checkpoint note claims (its second line), for the progress bar only;
    0 when it has none (verify_since then says what is wrong with it)."""
    lines = note.split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0


@click.command()
@with_ledger
def rebuild(runtime: Runtime, session: Session) -> None:
    """Recompute every projection (lots, stock, products …) by replaying the ledger."""
    with progress_bar(log.ledger_size(session), "replaying") as progress:
        replayed = rebuild_projections(session, progress)
        progress(replayed)
    # the EPCIS index is a reader's projection of the same entries: rebuilt from them too
    epcis_index.rebuild(session)
    graded = rebuild_grading(session)
    session.commit()
    click.echo(f"rebuilt the projections from {replayed} entries")
    click.echo(f"quality credit: {len(graded.changes)} grade changes decided again, as the "
               f"ledger records them" if not graded.disagreements else
               f"quality credit: the grading would not decide the grade entries at seq "
               f"{', '.join(map(str, graded.disagreements))} (the ledger's grades stand)")


@click.command()
@click.option("--out", type=click.Path(dir_okay=False),
              help="Also write the note to this file, and its tree's leaf hashes to FILE.leaves "
                   "(for `tracenet verify --since FILE`).")
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for a checkpoint covering every entry there is now "
                   "(checkpoints come at a cadence: by default one a second).")
@with_ledger
def checkpoint(runtime: Runtime, session: Session, out: str | None, wait: float) -> None:
    """Print the latest signed checkpoint (C2SP signed note).

    With the cosignature lines its witnesses returned so far (C2SP tlog-cosignature), so a
    saved copy can be held to a k-of-n policy later (``verify --witness``). Checkpoints are
    signed at a cadence, so the latest may lag the newest entries by up to the interval;
    ``--wait`` waits for one that covers them.
    """
    size = log.ledger_size(session)
    session.commit()
    if wait and size and log.await_checkpoint(runtime.sessions, runtime.ledger, size - 1,
                                              wait) is None:
        click.echo(f"no checkpoint covers the {size} entries yet; the latest follows", err=True)
    note = published_checkpoint(session, lambda: log.latest_checkpoint(session, runtime.ledger))
    session.commit()
    if out:
        Path(out).write_text(note)
        Path(f"{out}{LEAVES_SUFFIX}").write_bytes(log.leaf_hashes(session, _note_size(note)))
    click.echo(note, nl=False)


@click.command()
@click.argument("seq", type=int)
@click.option("--size", type=int, help="Tree size (default: current).")
@with_ledger
def prove(runtime: Runtime, session: Session, seq: int, size: int | None) -> None:
    """Print the inclusion proof of entry SEQ, after checking it."""
    proof = log.inclusion_proof(session, seq, size)
    merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=proof.seq, size=proof.size,
                            proof=proof.hashes, root=proof.root)
    print_json(proof.as_json(bytes.hex))


@click.command()
@click.argument("old")
@click.argument("new", required=False)
@with_ledger
def consistency(runtime: Runtime, session: Session, old: str, new: str | None) -> None:
    """Prove tree OLD is a prefix of tree NEW (default: current).

    OLD and NEW are tree sizes, or files holding signed checkpoints saved earlier; a saved
    checkpoint that the ledger can no longer prove consistent means history was rewritten.
    """
    old_size, old_root = _tree_point(runtime, old)
    new_size, new_root = (_tree_point(runtime, new) if new
                          else (log.ledger_size(session), None))
    proof = log.consistency_proof(session, old_size, new_size)
    try:
        merkle.verify_consistency(old_size=old_size, new_size=new_size,
                                  old_root=old_root or proof.old_root,
                                  new_root=new_root or proof.new_root, proof=proof.hashes)
    except ProofError as exc:
        fail(f"INCONSISTENT: tree {old_size} -> {new_size}: {exc}")
    print_json(proof.as_json(bytes.hex))


def _tree_point(runtime: Runtime, arg: str) -> tuple[int, bytes | None]:
    """A size given as a number, or (size, root) read from a signed checkpoint file."""
    if arg.isdigit():
        return int(arg), None
    ledger = runtime.ledger
    saved = open_checkpoint(Path(arg).read_text(), key_name=ledger.origin,
                            public_key=ledger.signing_key.public_key(), origin=ledger.origin)
    return saved.size, saved.root_hash
