"""``tracenet serve``: the one command that serves, by handing the process to gunicorn."""

from __future__ import annotations

import os
import sys

import click

__all__ = ["serve"]


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True)
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn."""
    # gunicorn builds the app, in each worker; this process builds nothing. The factory is
    # named by module (not wsgi.py, which only a source checkout has), so an installed
    # Tracenet serves too.
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:web.gunicorn_config",
            "--bind", bind, "--workers", str(workers), "web.app:create_app()"]
    os.execvp(sys.executable, argv)  # noqa: S606 - our own interpreter, no shell involved
