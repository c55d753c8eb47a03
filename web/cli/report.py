"""``tracenet report``: the annual quality white paper (质量状况白皮书) and quarterly district
reports, as HTML or PDF with charts, from the same figures and rendering the console's
download uses (:mod:`ledger.reports`, :mod:`web.reports`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ledger.reports import Period, build_report, scope_of
from web.cli.context import with_ledger
from web.runtime import Runtime

__all__ = ["report"]

_OUT = click.Path(dir_okay=False, writable=True, path_type=Path)
_LANG = click.Choice(["zh-CN", "en"])


@click.group()
def report() -> None:
    """Write the quality white paper or a district report (HTML or PDF)."""


def _write(runtime: Runtime, session: Session, period: Period, district: str | None,
           out: Path, lang: str) -> None:
    from web.reports import render

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("html", "pdf"):
        raise click.BadParameter("the file must end in .pdf or .html", param_hint="--out")
    figures = build_report(session, period, scope_of(session, district),
                           now=datetime.now(UTC))
    out.write_bytes(render(figures, fmt, "zh_CN" if lang == "zh-CN" else "en"))
    click.echo(f"{out}: {period.label_en}, {figures.current.lots.total} lots inspected, "
               f"index {figures.index.value if figures.index.value is not None else '-'}",
               err=True)


@report.command("whitepaper")
@click.option("--year", type=int, required=True, help="The calendar year (China time).")
@click.option("--out", type=_OUT, required=True,
              help="FILE.pdf or FILE.html (the suffix picks the format).")
@click.option("--district", help="Only the enterprises of this district (or under it, e.g. "
                                 "福州市 for all its districts).")
@click.option("--lang", type=_LANG, default="zh-CN", show_default=True)
@with_ledger
def whitepaper(runtime: Runtime, session: Session, year: int, out: Path, district: str | None,
               lang: str) -> None:
    """The annual quality white paper: qualification rates by category and district,
    spot checks, 产值合格率, recalls, credit grades, the trend against the previous year and
    the quality competitiveness index."""
    _write(runtime, session, Period(year), district, out, lang)


@report.command("district")
@click.option("--district", required=True, help="The district (or a prefix, e.g. a city).")
@click.option("--year", type=int, required=True)
@click.option("--quarter", type=click.IntRange(1, 4), required=True)
@click.option("--out", type=_OUT, required=True, help="FILE.pdf or FILE.html.")
@click.option("--lang", type=_LANG, default="zh-CN", show_default=True)
@with_ledger
def district_report(runtime: Runtime, session: Session, district: str, year: int,
                    quarter: int, out: Path, lang: str) -> None:
    """A quarterly district report: the white paper's figures for one district and quarter,
    against the same quarter a year earlier."""
    _write(runtime, session, Period(year, quarter), district, out, lang)
