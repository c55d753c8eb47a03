"""The white paper's charts, drawn by matplotlib as PNG (embedded in the HTML as data URIs,
so a downloaded report is one self-contained file and WeasyPrint lays the same images into
the PDF).

Why matplotlib and PNG: the report is a document, not a dashboard, so a static chart that
reads the same in a browser, a PDF reader and on paper is what is wanted; matplotlib draws it
on the server with no browser, and a PNG needs no font on the reader's side (the Chinese labels
are drawn with the server's CJK font, found once below). Only the Agg backend is used, through
``Figure`` objects (never pyplot's global state), so concurrent requests don't share a figure.
"""

from __future__ import annotations

import base64
import functools
import io
import subprocess  # noqa: S404 - fc-list, a fixed command
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["PALETTE", "Chart", "bars", "cjk_font", "grouped_bars", "lines", "stacked_bars"]

#: fonts with Simplified Chinese glyphs, most preferred first (the Makefile's `system` target
#: installs WenQuanYi Micro Hei when the machine has none)
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Noto Sans SC", "Droid Sans Fallback", "AR PL UMing CN")
PALETTE = {"pass": "#1b7f3b", "fail": "#b42318", "brand": "#0b5394", "previous": "#9aa5b1",
           "A": "#1b7f3b", "B": "#0b5394", "C": "#c08a00", "D": "#b42318", "grid": "#d9e2ec",
           "ink": "#1f2933", "muted": "#616e7c"}
#: pixels per inch of the PNGs: a 7-inch chart is 1120 pixels wide, sharp on paper
DPI = 160
WIDTH = 7.0


@dataclass(frozen=True)
class Chart:
    """A drawn chart: its PNG and the text alternative shown to screen readers."""

    png: bytes
    alt: str

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI for an ``<img src>``."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None if there is none."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    known = next((name for name in CJK_FONTS if name in installed), None)
    if known is not None:
        return known
    # Any other font fontconfig says covers Chinese (the Makefile checks for one that way).
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,  # noqa: S607 - fontconfig's own tool, found on PATH like the Makefile finds it
                                text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = (name.strip() for line in listed.splitlines() for name in line.split(","))
    return next((name for name in families if name in installed), None)


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    return figure


def _style(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(colors=PALETTE["ink"], labelsize=9)


def _png(figure: Figure, alt: str) -> Chart:
    buffer = io.BytesIO()
    font = cjk_font()
    with warnings.catch_warnings():
        if font is None:
            # No CJK font on this machine: the Chinese labels draw as boxes, which the
            # report's tables still spell out; don't fail the report over it.
            warnings.simplefilter("ignore", UserWarning)
        figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return Chart(buffer.getvalue(), alt)


def _fonts() -> dict[str, Any]:
    font = cjk_font()
    return {"family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}


def _empty(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", color=PALETTE["muted"],
              transform=axes.transAxes, fontsize=11, **_fonts())
    axes.set_axis_off()


def bars(labels: Sequence[str], rates: Sequence[float | None], notes: Sequence[str], *,
         title: str, alt: str, empty: str, axis: str) -> Chart:
    """Horizontal bars of rates (0-1) per label, each annotated (``99.6% (255/256)``); bars
    under 95 % are drawn in the failure colour."""
    height = 0.8 + 0.32 * max(len(labels), 1)
    figure = _figure(height)
    axes = figure.add_subplot()
    _style(axes)
    axes.set_title(title, loc="left", fontsize=11, color=PALETTE["ink"], **_fonts())
    if not labels:
        _empty(axes, empty)
        return _png(figure, alt)
    values = [100 * (rate or 0) for rate in rates]
    positions = list(range(len(labels)))[::-1]
    colours = [PALETTE["fail"] if rate is not None and rate < 0.95 else PALETTE["pass"]
               for rate in rates]
    axes.barh(positions, values, color=colours, height=0.6)
    axes.set_yticks(positions, labels, fontsize=9, **_fonts())
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 20, 40, 60, 80, 100], ["0", "20", "40", "60", "80", "100%"])
    axes.set_xlabel(axis, fontsize=9, **_fonts())
    axes.xaxis.grid(True, color=PALETTE["grid"])
    axes.set_axisbelow(True)
    for position, value, note in zip(positions, values, notes, strict=True):
        axes.text(value + 1, position, note, va="center", fontsize=8, color=PALETTE["ink"])
    return _png(figure, alt)


def grouped_bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]],
                 *, title: str, alt: str, empty: str, axis: str,
                 percent: bool = False) -> Chart:
    """Vertical bars, one group per category and one bar per series ``(name, values,
    colour)``, with each value written above its bar."""
    figure = _figure(2.4)
    axes = figure.add_subplot()
    _style(axes)
    axes.set_title(title, loc="left", fontsize=11, color=PALETTE["ink"], **_fonts())
    if not categories or not any(any(values) for _, values, _ in series):
        _empty(axes, empty)
        return _png(figure, alt)
    width = 0.8 / len(series)
    for index, (name, values, colour) in enumerate(series):
        offsets = [x - 0.4 + width * (index + 0.5) for x in range(len(categories))]
        drawn = axes.bar(offsets, values, width=width * 0.92, color=colour, label=name)
        axes.bar_label(drawn, labels=[(f"{v:.1f}" if percent else f"{v:g}") for v in values],
                       fontsize=8, padding=2)
    axes.set_xticks(range(len(categories)), categories, fontsize=9, **_fonts())
    axes.set_ylabel(axis, fontsize=9, **_fonts())
    axes.yaxis.grid(True, color=PALETTE["grid"])
    axes.set_axisbelow(True)
    top = max(max(values, default=0) for _, values, _ in series)
    axes.set_ylim(0, top * 1.18 + (0 if percent else 1))
    if not percent:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series) > 1:
        axes.legend(prop={"family": _fonts()["family"], "size": 8}, frameon=False)
    return _png(figure, alt)


def stacked_bars(categories: Sequence[str], passed: Sequence[int], failed: Sequence[int], *,
                 names: tuple[str, str], title: str, alt: str, empty: str,
                 axis: str) -> Chart:
    """Vertical bars of counts, passed below and failed stacked on top."""
    figure = _figure(2.4)
    axes = figure.add_subplot()
    _style(axes)
    axes.set_title(title, loc="left", fontsize=11, color=PALETTE["ink"], **_fonts())
    if not categories or not any(passed) and not any(failed):
        _empty(axes, empty)
        return _png(figure, alt)
    positions = range(len(categories))
    axes.bar(positions, passed, color=PALETTE["pass"], width=0.6, label=names[0])
    top = axes.bar(positions, failed, bottom=passed, color=PALETTE["fail"], width=0.6,
                   label=names[1])
    axes.bar_label(top, labels=[f"{p + f}" + (f" ({f}✗)" if f else "")
                                for p, f in zip(passed, failed, strict=True)],
                   fontsize=8, padding=2)
    axes.set_xticks(list(positions), categories, fontsize=9, **_fonts())
    axes.set_ylabel(axis, fontsize=9, **_fonts())
    axes.yaxis.grid(True, color=PALETTE["grid"])
    axes.set_axisbelow(True)
    axes.set_ylim(0, max(p + f for p, f in zip(passed, failed, strict=True)) * 1.18 + 1)
    axes.legend(prop={"family": _fonts()["family"], "size": 8}, frameon=False)
    return _png(figure, alt)


def lines(months: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], *,
          title: str, alt: str, empty: str, axis: str) -> Chart:
    """Monthly rates (0-1) as lines with markers, one per series; months without a value
    leave a gap."""
    figure = _figure(3.0)
    axes = figure.add_subplot()
    _style(axes)
    axes.set_title(title, loc="left", fontsize=11, color=PALETTE["ink"], **_fonts())
    present = [v for _, values, _ in series for v in values if v is not None]
    if not present:
        _empty(axes, empty)
        return _png(figure, alt)
    for name, values, colour in series:
        points = [float("nan") if v is None else 100 * v for v in values]
        axes.plot(range(len(months)), points, marker="o", color=colour, label=name,
                  linewidth=2)
    low = min(present) * 100
    axes.set_ylim(max(0.0, min(low - 2, 90.0)), 100.8)
    axes.set_xticks(range(len(months)), months, fontsize=9, **_fonts())
    axes.set_ylabel(axis, fontsize=9, **_fonts())
    axes.yaxis.grid(True, color=PALETTE["grid"])
    axes.legend(prop={"family": _fonts()["family"], "size": 8}, frameon=False,
                loc="lower left")
    return _png(figure, alt)
