"""``tracenet credit update|show|rebuild``: the quality credit grading from the command line."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ledger import credit
from ledger.credit.engine import catch_up, rebuild
from web.cli.context import with_ledger
from web.cli.terminal import print_json
from web.runtime import Runtime

__all__ = ["credit_command"]


@click.group("credit")
def credit_command() -> None:
    """Quality credit grades (企业质量信用)."""


@credit_command.command("update")
@with_ledger
def update(runtime: Runtime, session: Session) -> None:
    """Grade the entries appended since the grading last ran; append the changes."""
    result = catch_up(session, runtime.ledger, runtime.vault)
    session.commit()
    click.echo(f"read {result.read} entries; {len(result.changes)} grade changes appended")
    for change in result.changes:
        click.echo(f"  {change.enterprise}: {change.previous} -> {change.grade} "
                   f"(score {change.payload()['score']})")


@credit_command.command("show")
@click.argument("uscc", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_ledger
def show(runtime: Runtime, session: Session, uscc: str | None, as_json: bool) -> None:
    """Every enterprise's grade, or one enterprise's grade and history."""
    if uscc is None:
        standings = credit.current_grades(session)
        if as_json:
            print_json({key: {"grade": s.grade, "since": s.since.isoformat(),
                              "exempt_until": s.exempt_until.isoformat()
                              if s.exempt_until else None, "seq": s.seq}
                        for key, s in standings.items()})
            return
        for key, standing in standings.items():
            click.echo(f"{key}  {standing.grade}  since {standing.since.isoformat()}")
        return
    found = credit.standing_of(session, uscc)
    if found is None:
        raise click.ClickException(f"enterprise {uscc} is not registered")
    history = credit.grade_history(session, uscc)
    if as_json:
        print_json({"grade": found.grade, "since": found.since.isoformat(),
                    "history": [{"seq": c.seq, "previous": c.previous, "grade": c.grade,
                                 "evidence": list(c.evidence), "reason_zh": c.reason_zh,
                                 "reason_en": c.reason_en} for c in history]})
        return
    click.echo(f"{uscc}: {found.grade} since {found.since.isoformat()}")
    for change in history:
        click.echo(f"  seq {change.seq}: {change.previous} -> {change.grade}  {change.reason_en}")


@credit_command.command("rebuild")
@with_ledger
def rebuild_command(runtime: Runtime, session: Session) -> None:
    """Recompute the grading's state from the whole ledger and check it decides the grade
    changes the ledger records (exit 1 if not)."""
    result = rebuild(session)
    session.commit()
    click.echo(f"read {result.read} entries: {len(result.changes)} grade changes agree")
    if result.disagreements or result.missing:
        raise click.ClickException(
            f"grade entries the grading would not decide: {result.disagreements}; changes "
            f"not on the ledger yet: {len(result.missing)} (`tracenet credit update` appends "
            "them)")
