"""``tracenet monitor URL``: follow a remote Tracenet through its checkpoint and tiles only."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ledger.errors import LedgerError, VerificationError
from ledger.log.monitor import Monitor, MonitorError, MonitorState, http_fetch
from web.cli.terminal import fail
from web.cli.witness import parse_witness_keys, witness_keys_option

__all__ = ["monitor"]


@click.command()
@click.argument("url")
@click.option("--state", "state_path", type=click.Path(dir_okay=False),
              default="tracenet-monitor.json", show_default=True,
              help="Where the last verified checkpoint is kept (and FILE.leaves, its leaf "
                   "hashes); made on the first run.")
@click.option("--key", "vkey", default=None, metavar="VKEY",
              help="The operator's verifier key (origin+keyhash+base64). Default: the one the "
                   "log serves at the first run, pinned from then on.")
@witness_keys_option
@click.option("--once", is_flag=True, help="Check once and exit, instead of following.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds between checks when following.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes checking entry signatures.")
def monitor(url: str, state_path: str, vkey: str | None, witness_keys: tuple[str, ...],
            min_cosignatures: int, once: bool, interval: float, jobs: int) -> None:
    """Follow a Tracenet log through /checkpoint and its tiles; exit 1 on a fork or rewrite.

    Every check verifies the checkpoint's signature (and --min-cosignatures of the --witness
    keys), its consistency with the checkpoint verified before, and every new entry (content
    hash, chain, order, signing key, signature). An alert names the first seq that differs.
    """
    witnesses = parse_witness_keys(witness_keys, min_cosignatures)
    path = Path(state_path)
    state = MonitorState.load(path) if path.exists() else None
    try:
        watcher = Monitor(http_fetch(url), state, vkey=vkey, witnesses=witnesses,
                          min_cosignatures=min_cosignatures, jobs=jobs)
    except LedgerError as exc:
        raise click.BadParameter(exc.message, param_hint="URL") from None
    while True:
        started = time.perf_counter()
        try:
            report = watcher.check()
        except VerificationError as exc:
            fail(f"ALERT {exc.where}: {exc.kind}: {exc.detail}")
        except MonitorError as exc:
            if once:
                fail(f"cannot check {url}: {exc.message}")
            click.echo(f"cannot check {url}: {exc.message}; trying again", err=True)
        else:
            assert watcher.state is not None  # noqa: S101 - a check that passed saves its state
            first_run = state is None
            watcher.state.save(path)
            state = watcher.state
            seconds = time.perf_counter() - started
            since = ("pinned the operator key " + state.vkey if first_run
                     else f"consistent with the checkpoint at size {report.old_size}")
            click.echo(f"OK: {report.origin} at size {report.size}, root {report.root.hex()}; "
                       f"verified {report.entries} new entries in {seconds:.2f} s; {since}"
                       + (f"; {report.cosignatures} cosignatures" if witnesses else ""))
        if once:
            return
        time.sleep(interval)
