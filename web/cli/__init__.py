"""The ``tracenet`` command line: a plain click program (``tracenet = "web.cli:main"``).

The commands live in the modules of this package, one per concern, and a command's module is
imported only when that command runs: ``tracenet --help`` lists them from :data:`COMMANDS`
without importing any (nor Flask, SQLAlchemy or the schemas), so it starts at once and writes
nothing. No command builds the Flask app; ``serve`` execs gunicorn, which does. The others open
the ledger through :mod:`web.settings`, which reads the configuration as the app does.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from ledger.errors import LedgerError, render_field

__all__ = ["COMMANDS", "load_command", "main"]

#: command -> ("module:attribute" in this package, the first sentence of its help). ``--help``
#: shows the sentence (shortened as click would); a test holds it equal to the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-lot": ("check:check_lot", "Check a server's evidence for a product, lot or unit "
                                     "against the operator key."),
    "checkpoint": ("ledger:checkpoint",
                   "Print the latest signed checkpoint (C2SP signed note)."),
    "consistency": ("ledger:consistency",
                    "Prove tree OLD is a prefix of tree NEW (default: current)."),
    "credit": ("credit:credit_command", "Quality credit grades (企业质量信用)."),
    "demo": ("demo:demo", "Load the demo supply network: a Fujian dairy chain with a melamine "
                          "incident to trace, and a child-car-seat chain."),
    "enterprise": ("accounts:enterprise", "Manage enterprises."),
    "export": ("export:export", "Export ledger records as a regulator's spreadsheet (FSMA 204) "
                                "or as EPCIS 2.0."),
    "import": ("importing:import_command",
               "Import a CSV or XLSX sheet of one record type as one atomic ledger batch."),
    "init": ("ledger:init",
             "Create or upgrade the database, the ledger key and the genesis entry."),
    "keygen": ("keygen:keygen",
               "Make an Ed25519 key for client-side signing; prints what to register."),
    "labels": ("labels:labels",
               "Write a lot's unit labels as a printable A4 PDF sheet (QR, DataMatrix, GS1-128 "
               "and the supervision code on each)."),
    "monitor": ("monitor:monitor", "Follow a Tracenet log through /checkpoint and its tiles; "
                                   "exit 1 on a fork or rewrite."),
    "prove": ("ledger:prove", "Print the inclusion proof of entry SEQ, after checking it."),
    "rebuild": ("ledger:rebuild", "Recompute every projection (lots, stock, products …) by "
                                  "replaying the ledger."),
    "recall": ("recall:recall", "Start, show and close recalls (缺陷产品召回)."),
    "report": ("report:report", "Write the quality white paper or a district report (HTML "
                                "or PDF)."),
    "risk": ("risk:risk", "Early warning, spot-check draws (双随机抽查) and standards "
                          "warnings."),
    "serialize": ("serialize:serialize",
                  "Give COUNT units of a lot random serials and supervision codes (one "
                  "serialization entry); prints one unit a line: serial, supervision code."),
    "serve": ("serve:serve", "Serve the app with gunicorn."),
    "sign": ("sign:sign",
             "Sign an event client side; prints the JSON body to POST to /api/v1/events."),
    "token": ("accounts:token", "Issue and revoke API tokens."),
    "trace": ("trace:trace",
              "Trace a lot downstream (--down) or upstream (--up), as a tree or as JSON."),
    "user": ("accounts:user", "Manage console accounts."),
    "verify": ("ledger:verify_command", "Recompute chain, tree, signatures and checkpoints; "
                                        "exit 1 naming the first bad seq."),
    "verify-timestamp": ("timestamp:verify_timestamp",
                         "Check signed entry timestamps: the JSON an append answered with (or "
                         "one entry, or one timestamp); exit 1 at the first that fails."),
    "witness": ("witness:witness", "Run a transparency-log witness (C2SP tlog-witness) that "
                                   "cosigns consistent checkpoints."),
    "worker": ("worker:worker",
               "Deliver queued notices as signed webhooks until stopped (SIGTERM or Ctrl-C)."),
}


def load_command(name: str) -> click.Command:
    """Import the command ``name`` of :data:`COMMANDS` from its module."""
    module, _, attribute = COMMANDS[name][0].partition(":")
    command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    return command


class _Tracenet(click.Group):
    """The top-level group: commands loaded on first use, domain errors as one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Stand-ins carrying each command's help sentence, listed by click's own code, so the
        # listing reads as if the commands were loaded.
        listing = click.Group(commands=[click.Command(name, help=help)
                                        for name, (_, help) in COMMANDS.items()])
        listing.format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a domain error becomes a one-line message and exit status 1."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except LedgerError as exc:
            where = f" ({render_field(exc.field)})" if exc.field else ""
            raise click.ClickException(f"{exc.code}{where}: {exc.message}") from None
        except Exception as exc:
            # Imported only once a command has failed: --help and keygen never load marshmallow.
            from marshmallow import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            raise click.ClickException(f"invalid input: {exc.messages}") from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # "tracenet" in usage and error lines however it is started (python -c, a test runner).
        if kwargs.get("prog_name") is None and len(args) < 2:
            kwargs["prog_name"] = "tracenet"
        return super().main(*args, **kwargs)


@click.group("tracenet", cls=_Tracenet)
@click.version_option(package_name="tracenet", prog_name="tracenet")
def main() -> None:
    """Tracenet (质监溯源网) ledger and supervision network."""
