"""What the commands write: JSON on stdout, failures and progress bars on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

__all__ = ["fail", "print_json", "progress_bar"]


@contextmanager
def progress_bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, driven by a callback that reports how many are done."""
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            bar.update(count - done)
            done = count

        yield progress


def fail(message: str) -> NoReturn:
    """Print ``message`` in red on stderr and exit with status 1."""
    click.secho(message, err=True, fg="red")
    sys.exit(1)


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON, non-ASCII characters as they are."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
