"""Labels for serialised units: a printable A4 sheet (PDF) and a PNG per label.

Each label carries the unit three ways, each with its human-readable text, and its
supervision code:

- a QR Code holding the unit's GS1 Digital Link URI ``https://HOST/01/GTIN/10/LOT/21/SERIAL``
  (``segno``), which a phone's camera opens as a web page;
- a GS1 DataMatrix holding the element string ``(01)GTIN(10)LOT(21)SERIAL`` (zxing-cpp's
  writer in GS1 mode, which puts the FNC1 first and the GS separator after the variable-length
  lot), for scanners in the supply chain;
- a GS1-128 (Code 128 led by FNC1) holding ``(01)GTIN(21)SERIAL``, the pair that identifies
  the unit: with the lot too it would need bars of ~0.12 mm on a 65 mm label, which a 300 dpi
  printer cannot make, and the lot is in both 2D symbols;
- the 20-digit supervision code (电子监管码), printed in groups of four for reading aloud.

Symbols are drawn as vector modules, so they stay sharp at any printer resolution. Pure:
labels in, bytes out; no web framework, no database.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

import numpy as np
import segno
import zxingcpp
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

__all__ = ["MAX_SHEET_LABELS", "SheetLayout", "UnitLabel", "label_pdf", "label_png",
           "label_sheet_pdf", "supervision_code_groups"]

#: the most labels one sheet document holds (a larger lot is printed in several)
MAX_SHEET_LABELS = 1000
#: characters GS1 Digital Link leaves unescaped in a path segment (RFC 3986 unreserved)
_SAFE = "-._~"
_LATIN = "Helvetica"
_LATIN_BOLD = "Helvetica-Bold"
_MONO = "Courier-Bold"
#: a CJK font every PDF reader has (Adobe's Asian font pack), so nothing is embedded
_CJK = "STSong-Light"
#: GS1-128 bars need ~0.15 mm per module to print and scan at 300 dpi: labels narrower than
#: this cannot carry the element string of a 20-character lot
MIN_LABEL_WIDTH_MM = 60.0
#: one dot of a 300 dpi printer, in points
_DOT = 72 / 300


@dataclass(frozen=True)
class UnitLabel:
    """What one unit's label says: its GTIN-14, lot, serial, supervision code and name."""

    gtin: str
    lot: str
    serial: str
    supervision_code: str | None = None
    product_name: str = ""

    def element_string(self) -> str:
        """The GS1 element string in its human-readable form, ``(01)…(10)…(21)…``."""
        return f"(01){self.gtin}(10){self.lot}(21){self.serial}"

    def encoder_input(self) -> str:
        """The DataMatrix's element string as zxing-cpp's GS1 mode reads it (a bracket in a
        value escaped with a backslash)."""
        return f"(01){self.gtin}(10){_escaped(self.lot)}(21){_escaped(self.serial)}"

    def linear_encoder_input(self) -> str:
        """The same for the GS1-128: ``(01)…(21)…``."""
        return f"(01){self.gtin}(21){_escaped(self.serial)}"

    def linear_element_string(self) -> str:
        """What the GS1-128 holds, in its human-readable form: ``(01)…(21)…``."""
        return f"(01){self.gtin}(21){self.serial}"

    def digital_link(self, base: str) -> str:
        """The unit's GS1 Digital Link URI under ``base`` (``https://host``, no path)."""
        return (f"{base.rstrip('/')}/01/{self.gtin}/10/{quote(self.lot, safe=_SAFE)}"
                f"/21/{quote(self.serial, safe=_SAFE)}")


@dataclass(frozen=True)
class SheetLayout:
    """An A4 sheet of ``columns`` × ``rows`` labels inside ``margin_mm``, ``gap_mm`` apart."""

    columns: int = 2
    rows: int = 7
    margin_mm: float = 10.0
    gap_mm: float = 2.0

    def __post_init__(self) -> None:
        if not (1 <= self.columns <= 4 and 1 <= self.rows <= 12):
            raise ValueError("a sheet has 1-4 columns and 1-12 rows of labels")
        if not 0 <= self.margin_mm <= 40 or not 0 <= self.gap_mm <= 20:
            raise ValueError("margins are 0-40 mm and gaps 0-20 mm")
        width, height = self.label_size_mm
        if width < MIN_LABEL_WIDTH_MM:
            raise ValueError(f"labels would be {width:.0f} mm wide; the GS1-128 needs at least "
                             f"{MIN_LABEL_WIDTH_MM:.0f} mm: use fewer columns or margins")
        if height < 30:
            raise ValueError(f"labels would be {height:.0f} mm high; they need at least 30 mm: "
                             "use fewer rows or margins")

    @property
    def per_page(self) -> int:
        """Labels on one page."""
        return self.columns * self.rows

    @property
    def label_size_mm(self) -> tuple[float, float]:
        """Each label's width and height in millimetres."""
        page_w, page_h = A4[0] / mm, A4[1] / mm
        width = (page_w - 2 * self.margin_mm - (self.columns - 1) * self.gap_mm) / self.columns
        height = (page_h - 2 * self.margin_mm - (self.rows - 1) * self.gap_mm) / self.rows
        return width, height


def _escaped(value: str) -> str:
    # zxing-cpp (zint) reads "(AI)value" with "\(" and "\)" for brackets inside a value; a
    # backslash itself is not in GS1's character set 82, so nothing else needs escaping.
    return value.replace("(", "\\(").replace(")", "\\)")


def supervision_code_groups(code: str) -> str:
    """The 20-digit code in groups of four, as printed: ``0000 0100 0001 5274 8390``."""
    return " ".join(code[start:start + 4] for start in range(0, len(code), 4))


# -- symbols as module matrices (True = dark) -----------------------------------------------

def _qr_modules(data: str) -> np.ndarray:
    # Mask 4 rather than the best of eight: choosing costs ~8 times the encoding, and any
    # mask reads as well on a clean print (the choice avoids patterns that confuse finder
    # detection in noisy images).
    qr = segno.make(data, error="m", micro=False, mask=4)
    return np.array([[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=4)],
                    dtype=bool)


def _gs1_modules(encoder_input: str, symbology: zxingcpp.BarcodeFormat,
                 **options: bool) -> np.ndarray:
    barcode = zxingcpp.create_barcode(encoder_input, symbology, gs1=True, **options)
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1,
                                                       add_quiet_zones=False))
    return image < 128


def _datamatrix_modules(encoder_input: str) -> np.ndarray:
    # square: short data would otherwise get a thin rectangular symbol (8 × 64 modules)
    return _gs1_modules(encoder_input, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)


def _gs1_128_bars(encoder_input: str) -> np.ndarray:
    """The bars of the GS1-128 symbol, one boolean per module across."""
    modules: np.ndarray = _gs1_modules(encoder_input, zxingcpp.BarcodeFormat.Code128)[0]
    return modules


def _runs(row: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    padded = np.concatenate(([False], row, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        yield int(start), int(end - start)


# -- drawing ---------------------------------------------------------------------------------

@cache
def _fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(_CJK))


def _matrix(canvas: Canvas, modules: np.ndarray, x: float, y: float, size: float) -> None:
    """Draw a square module matrix with its top-left corner at (x, y + size), ``size`` wide,
    as one filled path (no seams between modules)."""
    rows, columns = modules.shape
    unit = size / max(rows, columns)
    canvas.saveState()
    # in module units, so the path is whole numbers (short to write, exact to render)
    canvas.translate(x, y + size)
    canvas.scale(unit, -unit)
    path = canvas.beginPath()
    for index, row in enumerate(modules):
        for start, length in _runs(row):
            path.rect(start, index, length, 1)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _bars(canvas: Canvas, bars: np.ndarray, x: float, y: float, width: float,
          height: float) -> None:
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(width / len(bars), height)
    path = canvas.beginPath()
    for start, length in _runs(bars):
        path.rect(start, 0, length, 1)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The font size at most ``size`` at which ``text`` fits in ``width``."""
    needed = canvas.stringWidth(text, font, size)
    return size if needed <= width else size * width / needed


def _draw_label(canvas: Canvas, label: UnitLabel, base: str, x: float, y: float,
                width: float, height: float) -> None:
    """One label with its bottom-left corner at (x, y)."""
    _fonts()
    pad = 2 * mm
    inner_w = width - 2 * pad
    url = label.digital_link(base)
    # bottom band: GS1-128 with its human-readable text, then the Digital Link line above it
    hri = 2.2 * mm
    linear = label.linear_element_string()
    bars = _gs1_128_bars(label.linear_encoder_input())
    # Each module a whole number of 300 dpi dots (at most 6, 0.51 mm), starting on a dot, so
    # that 300 and 600 dpi printers make every bar of a width the same; 10 modules of quiet
    # zone each side.
    dots = max(1, min(6, int(inner_w / (len(bars) + 20) / _DOT)))
    module = dots * _DOT
    bars_w = (len(bars) + 20) * module
    start = math.ceil((x + (width - bars_w) / 2 + 10 * module) / _DOT) * _DOT
    bar_h = min(9 * mm, height * 0.24)
    canvas.setFont(_LATIN, _fit(canvas, linear, _LATIN, 6.5, inner_w))
    canvas.drawCentredString(x + width / 2, y + pad, linear)
    _bars(canvas, bars, start, y + pad + hri, len(bars) * module, bar_h)
    url_y = y + pad + hri + bar_h + 1.2 * mm
    canvas.setFont(_LATIN, _fit(canvas, url, _LATIN, 5.5, inner_w))
    canvas.drawString(x + pad, url_y, url)
    # top band: the QR Code, the DataMatrix with its text, the unit's details
    band_y = url_y + 2.6 * mm
    band_h = y + height - pad - band_y
    qr = _qr_modules(url)
    qr_size = band_h
    _matrix(canvas, qr, x + pad, band_y, qr_size)  # with its 4-module quiet zone
    dm = _datamatrix_modules(label.encoder_input())
    dm_hri = [f"(01){label.gtin}", f"(10){label.lot}", f"(21){label.serial}"]
    dm_text_h = 3 * 2.1 * mm
    dm_size = min(band_h - dm_text_h - 1 * mm, inner_w * 0.22)
    dm_x = x + pad + qr_size + 1.5 * mm
    _matrix(canvas, dm, dm_x + 1 * mm, y + height - pad - dm_size, dm_size)
    # (drawn with one module of margin inside: DataMatrix needs a 1-module quiet zone)
    column_w = max(dm_size + 2 * mm, max(canvas.stringWidth(t, _LATIN, 5.5) for t in dm_hri))
    canvas.setFont(_LATIN, 5.5)
    for line, text in enumerate(dm_hri):
        canvas.drawString(dm_x, band_y + (2 - line) * 2.1 * mm, text)
    text_x = dm_x + column_w + 2 * mm
    text_w = x + width - pad - text_x
    # six lines spread over the band: name, GTIN, lot, serial, the code's heading, the code
    line_h = band_h / 6
    font = min(7.0, line_h / mm * 2.2)

    def baseline(line: int) -> float:
        return float(y + height - pad - (line + 0.75) * line_h)

    if label.product_name:
        canvas.setFont(_CJK, _fit(canvas, label.product_name, _CJK, font + 0.5, text_w))
        canvas.drawString(text_x, baseline(0), label.product_name)
    details = [("GTIN", label.gtin), ("批号 LOT", label.lot), ("序列号 SN", label.serial)]
    name_w = 11 * mm * font / 7
    for line, (name, value) in enumerate(details, start=1):
        canvas.setFont(_CJK, _fit(canvas, name, _CJK, font * 0.8, name_w))
        canvas.drawString(text_x, baseline(line), name)
        canvas.setFont(_LATIN_BOLD, _fit(canvas, value, _LATIN_BOLD, font, text_w - name_w))
        canvas.drawString(text_x + name_w, baseline(line), value)
    if label.supervision_code:
        heading = "电子监管码 Supervision code"
        canvas.setFont(_CJK, _fit(canvas, heading, _CJK, font * 0.8, text_w))
        canvas.drawString(text_x, baseline(4), heading)
        grouped = supervision_code_groups(label.supervision_code)
        canvas.setFont(_MONO, _fit(canvas, grouped, _MONO, font + 1.5, text_w))
        canvas.drawString(text_x, baseline(5), grouped)


def label_sheet_pdf(labels: Sequence[UnitLabel], *, base: str,
                    layout: SheetLayout | None = None, title: str = "Tracenet labels"
                    ) -> bytes:
    """An A4 PDF of ``labels`` in the layout's grid, left to right, top to bottom.

    Raises ValueError for no labels or more than :data:`MAX_SHEET_LABELS`.
    """
    if not labels:
        raise ValueError("a label sheet needs at least one label")
    if len(labels) > MAX_SHEET_LABELS:
        raise ValueError(f"a sheet holds at most {MAX_SHEET_LABELS} labels, not {len(labels)}")
    layout = layout or SheetLayout()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    width, height = (size * mm for size in layout.label_size_mm)
    margin, gap = layout.margin_mm * mm, layout.gap_mm * mm
    for index, label in enumerate(labels):
        slot = index % layout.per_page
        if index and slot == 0:
            canvas.showPage()
        row, column = divmod(slot, layout.columns)
        x = margin + column * (width + gap)
        y = A4[1] - margin - (row + 1) * height - row * gap
        _draw_label(canvas, label, base, x, y, width, height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def label_pdf(label: UnitLabel, *, base: str, size_mm: tuple[float, float] = (94.0, 38.0)
              ) -> bytes:
    """One label on a page of its own size."""
    width, height = size_mm[0] * mm, size_mm[1] * mm
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
    _draw_label(canvas, label, base, 0, 0, width, height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def label_png(label: UnitLabel, *, base: str, dpi: int = 300,
              size_mm: tuple[float, float] = (94.0, 38.0)) -> bytes:
    """One label as a PNG at ``dpi`` (the PDF label rendered by PDFium, so both look alike)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(label_pdf(label, base=base, size_mm=size_mm))
    try:
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()
