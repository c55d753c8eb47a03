"""``tracenet worker``: the process that delivers the outbox's notices, beside gunicorn.

Background work never runs in a thread of a gunicorn worker, which dies, or is duplicated,
with it; this process claims due deliveries from the database, so several may run at once.
It also signs each checkpoint the cadence makes due (a thread of its own, so a slow webhook
receiver never delays one): the tail of a log that stops growing is covered all the same.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from ledger.credit.engine import keep_grading
from ledger.log import keep_checkpoints
from ledger.log.cosigning import Cosigner, parse_witnesses, run_cosigner
from ledger.outbox import DEFAULT_SCHEDULE, RetrySchedule, run_worker
from ledger.risk.warning import keep_scanning
from web.runtime import Runtime
from web.settings import Settings

__all__ = ["worker"]


def _start_cosigner(runtime: Runtime, stop: threading.Event, poll: float,
                    timeout: float) -> threading.Thread | None:
    """With witnesses configured (TRACENET_WITNESSES), a thread that submits each new
    checkpoint to them and keeps their cosignatures, until ``stop``."""
    if not runtime.settings.witnesses:
        return None
    witnesses = parse_witnesses(runtime.settings.witnesses)
    click.echo(f"worker {os.getpid()}: submitting checkpoints to "
               f"{', '.join(str(w.key) for w in witnesses)}", err=True)
    cosigner = Cosigner(runtime.sessions, witnesses, timeout=timeout)
    thread = threading.Thread(target=run_cosigner, args=(cosigner,),
                              kwargs={"stop": stop, "poll": poll}, name="cosigner")
    thread.start()
    return thread


def _schedule(_ctx: click.Context, _param: click.Parameter, value: str) -> RetrySchedule:
    try:
        return RetrySchedule.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--poll", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Seconds between looks for due deliveries when idle.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Deliveries sent at once.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds a receiver gets to connect and to answer.")
@click.option("--retries", default=str(DEFAULT_SCHEDULE), show_default=True,
              envvar="TRACENET_WEBHOOK_RETRIES", callback=_schedule,
              help="Delays before each retry, comma-separated; after the last, a delivery is "
                   "dead-lettered. Also TRACENET_WEBHOOK_RETRIES.")
def worker(poll: float, concurrency: int, timeout: float, retries: RetrySchedule) -> None:
    """Deliver queued notices as signed webhooks until stopped (SIGTERM or Ctrl-C)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def stopping(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"worker: {signal.Signals(signum).name}, finishing the sends under way",
                   err=True)
        # Set from another thread: the handler may interrupt this thread inside the event's
        # own lock, which setting it here would wait on forever.
        threading.Thread(target=stop.set).start()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C ends it at once

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    runtime = Runtime(Settings.from_environment())
    click.echo(f"worker {os.getpid()}: delivering notices from {runtime.engine.url!r} "
               f"(timeout {timeout:g} s, retries {retries or 'none'})", err=True)
    cosigning = _start_cosigner(runtime, stop, poll, timeout)
    checkpoints = threading.Thread(
        target=keep_checkpoints, args=(runtime.sessions, runtime.ledger),
        # A new entry after an idle spell is due one interval after the last checkpoint, so
        # look at least four times an interval: the tail waits at most a quarter more.
        kwargs={"stop": stop, "poll": min(poll, max(0.05, runtime.ledger.checkpoint_interval / 4))},
        name="checkpoints", daemon=True)
    checkpoints.start()
    # early-warning alerts (ledger.risk.warning) are scanned for here, not in a web worker
    scanning = threading.Thread(target=keep_scanning, args=(runtime.sessions, runtime.ledger.clock),
                                kwargs={"stop": stop}, name="risk-scan", daemon=True)
    scanning.start()
    # Quality credit: grades follow the entries as they arrive (ledger.credit.engine).
    grading = threading.Thread(
        target=keep_grading, args=(runtime.sessions, runtime.ledger, runtime.vault),
        kwargs={"stop": stop, "poll": poll}, name="credit-grading", daemon=True)
    grading.start()
    try:
        made = run_worker(runtime.sessions, stop=stop, poll=poll, concurrency=concurrency,
                          timeout=timeout, schedule=retries)
    finally:
        stop.set()
        if cosigning is not None:
            cosigning.join()
        checkpoints.join(timeout=10)
        scanning.join(timeout=10)
        grading.join(timeout=10)
        runtime.close()
    click.echo(f"worker {os.getpid()}: stopped after {made} delivery attempts", err=True)
