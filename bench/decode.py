"""Decoding benchmark: ``scanners.images.decode_image`` against zxing-cpp alone and zbar alone.

Run ``.venv/bin/python bench/decode.py`` (``make bench``); ``--quick`` runs the same code
paths on a slice of the corpus as a smoke test. Nothing is asserted: the script prints each
figure with its target and exits 0.

Three measurements, every one on the same files for the three readers:

- **the real photographs** of ``$TRACENET_SHARED/scan-photos`` (default ``../shared``): 125
  photos and scans with their expected texts (zxing-cpp's black-box samples). A photo counts
  as read when the expected text is among the codes returned. Per format: the pipeline,
  zxing-cpp alone (``zxingcpp.read_barcodes`` on the picture as Pillow opens it, its defaults
  but our symbologies) and zbar alone (``pyzbar.decode`` on its greyscale). Targets: >= 90 %
  overall, and on every format >= the better of the two alone.
- **the generated corpus** (:mod:`tests.scanners.corpus`): each symbology rendered with
  random content, then distorted (a mild photo, any rotation, scaled down to 1.5-2 px per
  module, perspective, blur, JPEG q10-25, uneven lighting, small in a busy 1280 × 960 picture);
  ``--per-cell`` seeds per symbology and distortion (default 10: 640 pictures). Rates per
  distortion and per symbology for the three readers. Targets: the pipeline >= the better of
  the two on every row, >= 99 % on the mild set.
- **decode time of a 1080p photo** (:func:`decode_time_ratio`): a 1920 × 1080 JPEG scene (a
  label with a code in a busy picture, camera noise) for each of an EAN-13, a GS1 Data Matrix
  and a GS1 Digital Link QR code, plus a real photograph scaled to 1080 lines. Ours is
  ``decode_image(bytes)``; zxing-cpp's is ``zxingcpp.read_barcodes(Image.open(bytes))`` with
  its defaults (every format, its own rotation, downscaling and inversion), so both start
  from the file's bytes and end with the codes. The median of ``--repeat`` alternating runs
  each; the ratio is ours ÷ zxing-cpp's (target <= 1.5). Also printed: zxing-cpp on the
  picture already decoded (the bare reader, which favours it), and zxing-cpp from the bytes
  limited to the symbologies we read (our first pass without the greyscale JPEG decode).
- with ``--zxing-samples PATH`` (a zxing-cpp checkout's ``test/samples``, not part of this
  repository): the rates on its folders of our symbologies (the kind of picture the shared
  photographs were drawn from), and how many of its false-positive pictures each reader
  claims a code on.
"""

# Run as a script, bench/ is sys.path[0] and bench/ledger.py would shadow the ``ledger``
# package; drop that entry and put the repository first (hence the late imports below).
# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import io
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version

import click
import numpy as np
import zxingcpp
from PIL import Image, ImageDraw

from bench.ledger import Figure, cpu_model, heading, load_average, report
from scanners.errors import CodeError
from scanners.images import Decoded, decode_image, read_pyzbar, read_zxing
from tests.scanners import corpus

SHARED = Path(os.environ.get("TRACENET_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "scan-photos"
READERS = ("pipeline", "zxing-cpp", "zbar")
RATIO_TARGET = 1.5


@dataclass(frozen=True)
class Case:
    groups: tuple[str, ...]
    data: bytes
    expected: str


def _read(decode: Callable[[], list[Decoded]], expected: str) -> bool:
    try:
        return any(decoded.text == expected for decoded in decode())
    except CodeError:
        return False


def readers(data: bytes) -> dict[str, Callable[[], list[Decoded]]]:
    """The pipeline and each decoder alone, on the same bytes."""
    return {
        "pipeline": lambda: decode_image(data, time_budget=30.0),
        "zxing-cpp": lambda: read_zxing(Image.open(io.BytesIO(data))),
        "zbar": lambda: read_pyzbar(Image.open(io.BytesIO(data)).convert("L")),
    }


def rates(cases: Sequence[Case], label: str) -> dict[str, dict[str, int]]:
    """group -> reader -> pictures read, plus "n"."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with click.progressbar(cases, label=f"  {label}", file=sys.stderr) as bar:
        for case in bar:
            outcome = {name: _read(read, case.expected)
                       for name, read in readers(case.data).items()}
            for group in case.groups:
                table[group]["n"] += 1
                for name, read in outcome.items():
                    table[group][name] += read
    return table


def print_table(title: str, table: dict[str, dict[str, int]]) -> list[str]:
    """Print the table as Markdown; return the rows where the pipeline reads fewer than the
    better decoder alone."""
    click.echo(f"\n{title}\n")
    click.echo("| | pictures | pipeline | zxing-cpp alone | zbar alone |")
    click.echo("|---|---:|---:|---:|---:|")
    worse = []
    total: dict[str, int] = defaultdict(int)
    for group, row in table.items():
        n = row["n"]
        cells = [f"{100 * row[name] / n:.1f} % ({row[name]})" for name in READERS]
        flag = ""
        if row["pipeline"] < max(row["zxing-cpp"], row["zbar"]):
            worse.append(group)
            flag = " ⚠"
        click.echo(f"| {group}{flag} | {n} | " + " | ".join(cells) + " |")
        for key, value in row.items():
            total[key] += value
    n = total["n"]
    click.echo(f"| **all** | {n} | " + " | ".join(
        f"**{100 * total[name] / n:.1f} %** ({total[name]})" for name in READERS) + " |")
    return worse


# --- the real photographs -------------------------------------------------------------------

def photo_cases() -> list[Case]:
    lines = (PHOTOS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")][1:]
    return [Case((format_,), (PHOTOS / name).read_bytes(),
                 (PHOTOS / text).read_bytes().decode("utf-8"))
            for name, format_, text, _source in rows]


def bench_photos() -> list[Figure]:
    heading(f"Real photographs ({PHOTOS})")
    cases = photo_cases()
    table = rates(cases, "photographs")
    worse = print_table("Decode rate per format, real photographs", table)
    read = sum(row["pipeline"] for row in table.values())
    better = max(sum(row[name] for row in table.values()) for name in ("zxing-cpp", "zbar"))
    click.echo()
    return [
        report(Figure("photographs read by the pipeline", read / len(cases), 0.90, True,
                      f"{read} of {len(cases)}; the better decoder alone {better}")),
        report(Figure("formats where the pipeline reads fewer than the better decoder",
                      float(len(worse)), 0, False, ", ".join(worse) or "none")),
    ]


# --- zxing-cpp's own sample folders (optional) ---------------------------------------------

#: the sample folders of a zxing-cpp checkout in our symbologies, and its false positives
SAMPLE_FAMILIES = ("qrcode", "ean13", "ean8", "upca", "upce", "datamatrix", "code128", "rss14",
                   "rssexpanded", "rssexpandedstacked")


def bench_zxing_samples(root: Path) -> list[Figure]:
    """Rates on ``root`` (a zxing-cpp checkout's ``test/samples``): per folder family, the
    pictures with an expected ``.txt``; and how many of its false-positive pictures (no code)
    each reader claims to read."""
    heading(f"zxing-cpp's sample folders ({root})")
    cases, negatives = [], []
    for folder in sorted(root.iterdir()):
        family = folder.name.rsplit("-", 1)[0]
        pictures = [f for f in sorted(folder.iterdir())
                    if f.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".gif"}]
        if family == "falsepositives":
            negatives += [f.read_bytes() for f in pictures]
        elif family in SAMPLE_FAMILIES:
            # bytes, not read_text: an expected "\r\n" must stay one
            cases += [Case((family,), f.read_bytes(), f.with_suffix(".txt").read_bytes().decode(
                "utf-8", errors="replace")) for f in pictures if f.with_suffix(".txt").exists()]
    table = rates(cases, "samples")
    worse = print_table("Decode rate per folder family, zxing-cpp's samples", table)
    claimed = {name: 0 for name in READERS}
    for data in negatives:
        for name, read in readers(data).items():
            try:
                claimed[name] += bool(read())
            except CodeError:
                pass
    click.echo(f"\nfalse-positive pictures ({len(negatives)}) read as a code: " + ", ".join(
        f"{name} {count}" for name, count in claimed.items()) + "\n")
    return [report(Figure("sample families where the pipeline reads fewer than the better "
                          "decoder", float(len(worse)), 0, False, ", ".join(worse) or "none")),
            report(Figure("false-positive pictures the pipeline reads a code on",
                          float(claimed["pipeline"]), 0, False, f"of {len(negatives)}"))]


# --- the generated corpus ------------------------------------------------------------------

def bench_corpus(per_cell: int) -> list[Figure]:
    heading(f"Generated corpus ({per_cell} per symbology and distortion)")
    started = time.perf_counter()
    samples = corpus.samples(per_cell, first_seed=1000)  # not the seeds the tests use
    click.echo(f"  {len(samples)} pictures rendered in {time.perf_counter() - started:.1f} s")
    cases = [Case((f"d:{s.distortion}", f"s:{s.symbology}"), s.data, s.expected)
             for s in samples]
    table = rates(cases, "corpus")
    by_distortion = {group[2:]: row for group, row in table.items() if group.startswith("d:")}
    by_symbology = {group[2:]: row for group, row in table.items() if group.startswith("s:")}
    worse = print_table("Decode rate per distortion (every symbology)", by_distortion)
    worse += print_table("Decode rate per symbology (every distortion)", by_symbology)
    mild = by_distortion[corpus.MILD]
    click.echo()
    return [
        report(Figure("mild set read by the pipeline", mild["pipeline"] / mild["n"], 0.99,
                      True, f"{mild['pipeline']} of {mild['n']}")),
        report(Figure("corpus rows where the pipeline reads fewer than the better decoder",
                      float(len(worse)), 0, False, ", ".join(worse) or "none")),
    ]


# --- decode time of a 1080p photo ----------------------------------------------------------

def scene_1080p(symbology: str, seed: int = 1) -> tuple[bytes, str]:
    """A 1920 × 1080 JPEG: a label with the code on a package, in clutter, with noise."""
    rng = random.Random(seed)  # noqa: S311 - a picture, not a secret
    symbol, expected = corpus.SYMBOLOGIES[symbology](rng)
    width, height = 1920, 1080
    scene = Image.new("RGB", (width, height), (rng.randint(60, 120),) * 3)
    draw = ImageDraw.Draw(scene)
    for _ in range(80):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(30, 400), rng.uniform(30, 400)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x, y, x + w, y + h),
                                                                 fill=colour)
    label = Image.new("L", (symbol.width + 80, symbol.height + 80), 240)
    label.paste(symbol, (40, 40))
    # the label about a third of the picture's height, as a shopper frames a code
    label = label.resize((round(label.width * 360 / label.height), 360)
                         if label.height > label.width / 3 else
                         (min(900, label.width * 2), round(label.height * min(
                             900, label.width * 2) / label.width)),
                         Image.Resampling.BICUBIC).rotate(rng.uniform(-12, 12), expand=True,
                                                          resample=Image.Resampling.BICUBIC,
                                                          fillcolor=0)
    mask = label.point([0] + [255] * 255)
    scene.paste(label.convert("RGB"), ((width - label.width) // 2 + rng.randint(-200, 200),
                                       (height - label.height) // 2 + rng.randint(-100, 100)),
                mask)
    pixels = np.asarray(scene, dtype=np.float32)
    pixels += np.random.default_rng(seed).normal(0, 5, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG",
                                                                    quality=88)
    return out.getvalue(), expected


def photo_1080p() -> tuple[bytes, str]:
    """A real photograph of the shared set scaled to 1080 lines (as a phone would take it)."""
    photo = PHOTOS / "qrcode-2__high-res-1.jpg"
    picture = Image.open(photo).convert("RGB")
    picture = picture.resize((round(picture.width * 1080 / picture.height), 1080),
                             Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (1920, 1080), (128, 128, 128))
    canvas.paste(picture, ((1920 - picture.width) // 2, 0))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue(), photo.with_suffix(".txt").read_bytes().decode("utf-8")


def _median_seconds(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass(frozen=True)
class DecodeTime:
    """Median seconds to read one 1080p picture: ours, zxing-cpp's from the same bytes, and
    zxing-cpp's on the picture already decoded."""

    name: str
    ours: float
    zxing: float
    zxing_decoded: float
    zxing_ours: float
    read: bool

    @property
    def ratio(self) -> float:
        return self.ours / self.zxing


def time_1080p(name: str, data: bytes, expected: str, repeat: int) -> DecodeTime:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    read = any(d.text == expected for d in decode_image(data))
    ours: list[float] = []
    theirs: list[float] = []
    bare: list[float] = []
    subset: list[float] = []
    for _ in range(repeat):  # alternating, so a busy moment of the machine hits all four
        ours.append(_median_seconds(lambda: decode_image(data), 1))
        theirs.append(_median_seconds(
            lambda: zxingcpp.read_barcodes(Image.open(io.BytesIO(data))), 1))
        bare.append(_median_seconds(lambda: zxingcpp.read_barcodes(picture), 1))
        subset.append(_median_seconds(lambda: read_zxing(Image.open(io.BytesIO(data))), 1))
    return DecodeTime(name, statistics.median(ours), statistics.median(theirs),
                      statistics.median(bare), statistics.median(subset), read)


def decode_time_ratio(repeat: int = 15) -> tuple[float, list[DecodeTime]]:
    """The decode time of 1080p photos, ours ÷ ``zxingcpp.read_barcodes`` from the same bytes:
    the worst ratio over the pictures, and each picture's times. For bench/lookup.py too."""
    pictures = [(f"1080p scene, {symbology}", *scene_1080p(symbology))
                for symbology in ("EAN13", "DataMatrix (GS1)", "QRCode")]
    pictures.append(("real photograph scaled to 1080p", *photo_1080p()))
    times = [time_1080p(name, data, expected, repeat) for name, data, expected in pictures]
    return max(t.ratio for t in times), times


def bench_time(repeat: int) -> list[Figure]:
    heading("Decode time of a 1080p photo")
    worst, times = decode_time_ratio(repeat)
    click.echo("\n| picture | read | ours (ms) | zxing-cpp from bytes (ms) | ratio | "
               "zxing-cpp on decoded pixels (ms) | zxing-cpp, our symbologies, from bytes "
               "(ms) |")
    click.echo("|---|---|---:|---:|---:|---:|---:|")
    for t in times:
        click.echo(f"| {t.name} | {'yes' if t.read else 'no'} | {t.ours * 1e3:.1f} | "
                   f"{t.zxing * 1e3:.1f} | {t.ratio:.2f} | {t.zxing_decoded * 1e3:.1f} | "
                   f"{t.zxing_ours * 1e3:.1f} |")
    click.echo()
    return [report(Figure("1080p decode time, ours ÷ zxing-cpp read_barcodes (worst picture)",
                          worst, RATIO_TARGET, False,
                          f"median of {repeat} runs each; see the table"))]


@click.command()
@click.option("--quick", is_flag=True, help="A slice of the corpus and fewer timing runs.")
@click.option("--per-cell", type=click.IntRange(min=1), default=10, show_default=True,
              help="Corpus pictures per symbology and distortion.")
@click.option("--repeat", type=click.IntRange(min=1), default=15, show_default=True,
              help="Timed runs of each 1080p picture.")
@click.option("--zxing-samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="A zxing-cpp checkout's test/samples folder: rates on its "
                                 "folders of our symbologies and its false positives too.")
def main(quick: bool, per_cell: int, repeat: int, zxing_samples: Path | None) -> None:
    """Decode rates on real photographs and the generated corpus, and the 1080p decode time."""
    if quick:
        per_cell, repeat = 1, 3
    click.echo(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, load {load_average()}; "
               f"zxing-cpp {version('zxing-cpp')}, pyzbar {version('pyzbar')}, "
               f"Pillow {version('pillow')}")
    figures = bench_photos() + bench_corpus(per_cell) + bench_time(repeat)
    if zxing_samples is not None:
        figures += bench_zxing_samples(zxing_samples)
    heading("Summary")
    for figure in figures:
        report(figure)


if __name__ == "__main__":
    main()
