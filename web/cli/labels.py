"""``tracenet labels``: a lot's unit labels as a printable A4 PDF sheet (and a PNG per
label), the same drawing the API serves (:mod:`scanners.labels`)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.orm import Session

from ledger.supervision.serials import lot_for_labels
from scanners.labels import label_png, label_sheet_pdf
from schemas.codes import GTINField, LotField
from schemas.serials import LabelSheetQuery
from web.api.serials import sheet_layout, unit_labels
from web.cli.context import with_ledger
from web.runtime import Runtime

__all__ = ["labels"]


@click.command("labels")
@click.option("--gtin", required=True, help="The lot's GTIN (8, 12, 13 or 14 digits).")
@click.option("--lot", required=True, help="The lot number.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              required=True, help="The PDF file to write.")
@click.option("--base", required=True, metavar="URL",
              help="The service's public address, e.g. https://tracenet.example: the labels' "
                   "QR Codes link to its GS1 Digital Link resolver.")
@click.option("--columns", type=int, default=2, show_default=True, help="Labels across.")
@click.option("--rows", type=int, default=7, show_default=True, help="Labels down.")
@click.option("--margin", type=float, default=10.0, show_default=True,
              help="Page margin in millimetres.")
@click.option("--gap", type=float, default=2.0, show_default=True,
              help="Space between labels in millimetres.")
@click.option("--first", type=int, default=1, show_default=True,
              help="The first unit to print, in the order they were issued.")
@click.option("--count", type=int, default=1000, show_default=True,
              help="How many units (at most 1,000 a sheet).")
@click.option("--png-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each label as a 300 dpi PNG in this folder (SERIAL.png).")
@with_ledger
def labels(runtime: Runtime, session: Session, gtin: str, lot: str, out: Path, base: str,
           columns: int, rows: int, margin: float, gap: float, first: int, count: int,
           png_dir: Path | None) -> None:
    """Write a lot's unit labels as a printable A4 PDF sheet (QR, DataMatrix, GS1-128 and the
    supervision code on each)."""
    query = LabelSheetQuery().load({"columns": columns, "rows": rows, "margin": margin,
                                    "gap": gap, "first": first, "count": count})
    layout = sheet_layout(query)
    labelled = lot_for_labels(session, enterprise=None,
                              gtin=GTINField().deserialize(gtin, "gtin"),
                              lot=LotField().deserialize(lot, "lot"),
                              offset=query["first"] - 1, limit=query["count"])
    printed = unit_labels(labelled)
    base = base.rstrip("/")
    out.write_bytes(label_sheet_pdf(printed, base=base, layout=layout,
                                    title=f"{labelled.product_name} {gtin}/{lot}"))
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for label in printed:
            (png_dir / f"{label.serial}.png").write_bytes(label_png(label, base=base))
    pages = -(-len(printed) // layout.per_page)
    click.echo(f"wrote {len(printed)} labels of {labelled.total} units of "
               f"{labelled.gtin}/{labelled.lot} ({pages} pages) to {out}")
