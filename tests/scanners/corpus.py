"""A generated image corpus: each symbology rendered, then distorted the ways phone photos are.

Used by ``tests/scanners/test_images.py`` (a small, seeded slice) and ``bench/decode.py`` (the
whole corpus). Every sample is built from a seed, so a failing one can be rebuilt alone:
``sample(symbology, distortion, seed)``.

Symbols are rendered by zxing-cpp's writer (GS1 Data Matrix, GS1-128, EAN/UPC, DataBar) and
segno (QR codes, GS1 Digital Link URIs among them), with random content of the right shape
(GTINs with their check digits, lots, serials, dates), and the text a scanner would deliver
computed independently of any decoder: GS1 element strings without the leading FNC1, a group
separator (``"\\x1d"``) after every variable-length field but the last, a UPC-A as 13 digits.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import segno
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["DISTORTIONS", "MILD", "SYMBOLOGIES", "Sample", "sample", "samples"]

GS = "\x1d"

#: GS1 Application Identifiers with a fixed length (no separator follows them)
_FIXED = {"01": 16, "11": 8, "13": 8, "15": 8, "17": 8, "3103": 10}


@dataclass(frozen=True)
class Sample:
    """One picture of the corpus and the text it must decode to."""

    symbology: str
    distortion: str
    seed: int
    expected: str
    data: bytes  # the encoded file (PNG, or JPEG for the JPEG distortion)


def _check_digit(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _gtin(rng: random.Random, length: int = 14) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(length - 1))
    if length == 14:
        body = "0" + body[1:]  # indicator digit 0: a trade item, not a case
    return body + _check_digit(body)


def _word(rng: random.Random, length: int, alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
          ) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _date(rng: random.Random) -> str:
    return f"{rng.randint(26, 30):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _element_string(ais: list[tuple[str, str]]) -> tuple[str, str]:
    """(bracketed form for the writer, raw form a scanner delivers)."""
    bracketed = "".join(f"({ai}){value}" for ai, value in ais)
    raw = ""
    for index, (ai, value) in enumerate(ais):
        raw += ai + value
        if ai not in _FIXED and index < len(ais) - 1:
            raw += GS
    return bracketed, raw


def _zxing(content: str, format_: zxingcpp.BarcodeFormat, *, gs1: bool = False,
           scale: int = 4) -> Image.Image:
    barcode = zxingcpp.create_barcode(content, format_, gs1=gs1) if gs1 else \
        zxingcpp.create_barcode(content, format_)
    image = zxingcpp.write_barcode_to_image(barcode, scale=scale)
    return Image.fromarray(np.asarray(image)).convert("L")


def _qr(rng: random.Random) -> tuple[Image.Image, str]:
    if rng.random() < 0.5:  # a GS1 Digital Link URI, as our labels print
        text = (f"https://id.tracenet.example/01/{_gtin(rng)}/10/{_word(rng, 6)}"
                f"/21/{_word(rng, 10)}?17={_date(rng)}")
    else:
        text = f"https://tracenet.example/c/{_word(rng, 20, '0123456789')}"
    qr = segno.make_qr(text, error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=4, border=4)
    return Image.open(io.BytesIO(out.getvalue())).convert("L"), text


def _datamatrix(rng: random.Random) -> tuple[Image.Image, str]:
    ais = [("01", _gtin(rng)), ("17", _date(rng)), ("10", _word(rng, rng.randint(3, 8))),
           ("21", _word(rng, rng.randint(6, 12)))]
    bracketed, raw = _element_string(ais)
    return _zxing(bracketed, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, scale=6), raw


def _gs1_128(rng: random.Random) -> tuple[Image.Image, str]:
    ais = [("01", _gtin(rng)), ("10", _word(rng, rng.randint(3, 6))), ("17", _date(rng))]
    bracketed, raw = _element_string(ais)
    return _zxing(bracketed, zxingcpp.BarcodeFormat.Code128, gs1=True, scale=3), raw


def _ean13(rng: random.Random) -> tuple[Image.Image, str]:
    gtin = _gtin(rng, 13)
    if gtin.startswith("0"):  # that is a UPC-A; keep the rows apart
        gtin = "6" + gtin[1:12] + _check_digit("6" + gtin[1:12])
    return _zxing(gtin, zxingcpp.BarcodeFormat.EAN13), gtin


def _ean8(rng: random.Random) -> tuple[Image.Image, str]:
    gtin = _gtin(rng, 8)
    return _zxing(gtin, zxingcpp.BarcodeFormat.EAN8), gtin


def _upca(rng: random.Random) -> tuple[Image.Image, str]:
    gtin = _gtin(rng, 12)
    return _zxing(gtin, zxingcpp.BarcodeFormat.UPCA), "0" + gtin


def _databar(rng: random.Random) -> tuple[Image.Image, str]:
    gtin = _gtin(rng)
    return _zxing(f"(01){gtin}", zxingcpp.BarcodeFormat.DataBar, scale=3), "01" + gtin


def _databar_expanded(rng: random.Random) -> tuple[Image.Image, str]:
    ais = [("01", _gtin(rng)), ("3103", f"{rng.randint(100, 99999):06d}"),
           ("10", _word(rng, rng.randint(2, 5)))]
    bracketed, raw = _element_string(ais)
    return _zxing(bracketed, zxingcpp.BarcodeFormat.DataBarExpanded, scale=3), raw


#: symbology -> its renderer (image with a quiet zone, expected text)
SYMBOLOGIES: dict[str, Callable[[random.Random], tuple[Image.Image, str]]] = {
    "QRCode": _qr,
    "DataMatrix (GS1)": _datamatrix,
    "EAN13": _ean13,
    "EAN8": _ean8,
    "UPCA": _upca,
    "Code128 (GS1-128)": _gs1_128,
    "DataBar": _databar,
    "DataBarExpanded": _databar_expanded,
}


# --- distortions ---------------------------------------------------------------------------

def _on_paper(symbol: Image.Image, rng: random.Random, margin: float = 0.25) -> Image.Image:
    """The symbol on a slightly off-white label with some margin."""
    pad = int(max(symbol.size) * margin)
    ink, white = rng.randint(10, 40), rng.randint(225, 255)
    paper = Image.new("L", (symbol.width + 2 * pad, symbol.height + 2 * pad), white)
    paper.paste(symbol.point(lambda v: ink if v < 128 else white), (pad, pad))
    return paper


def _scale(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS if factor > 1 else Image.Resampling.BOX)


def _mild(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """A fair photo: a small tilt, a little softness, good JPEG."""
    image = _on_paper(symbol, rng).rotate(rng.uniform(-8, 8), resample=Image.Resampling.BICUBIC,
                                          expand=True, fillcolor=235)
    image = _scale(image, rng.uniform(0.8, 1.2)).filter(ImageFilter.GaussianBlur(0.6))
    return image


def _rotate(symbol: Image.Image, rng: random.Random) -> Image.Image:
    return _on_paper(symbol, rng).rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC,
                                         expand=True, fillcolor=235)


def _scale_down(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """Down to about 1.5-2 pixels per module (the symbols are drawn at 3-6)."""
    return _scale(_on_paper(symbol, rng), rng.uniform(1.5, 2.0) / _module_px(symbol))


def _module_px(symbol: Image.Image) -> int:
    return int(symbol.info.get("module_px", 4))


def _perspective(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """Seen from the side: the corners pulled by up to 20 % of the picture."""
    image = _on_paper(symbol, rng, margin=0.4)
    width, height = image.size
    jitter = 0.2
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    moved = [(x + rng.uniform(-jitter, jitter) * width * 0.5,
              y + rng.uniform(-jitter, jitter) * height * 0.5) for x, y in corners]
    return image.transform(image.size, Image.Transform.PERSPECTIVE,
                           _perspective_coefficients(corners, moved),
                           resample=Image.Resampling.BICUBIC, fillcolor=235)


def _perspective_coefficients(source: list[tuple[float, float]],
                              target: list[tuple[float, float]]) -> tuple[float, ...]:
    """Pillow's 8 coefficients mapping output (target) points to input (source) points."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = np.array([c for point in source for c in point], dtype=np.float64)
    return tuple(np.linalg.solve(np.array(rows, dtype=np.float64), rhs))


def _blur(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """Out of focus by about half a module."""
    return _on_paper(symbol, rng).filter(
        ImageFilter.GaussianBlur(_module_px(symbol) * rng.uniform(0.35, 0.55)))


def _lighting(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """A lamp on one side and a shadow on the other: brightness from ~25 % to 100 %."""
    image = _on_paper(symbol, rng).rotate(rng.uniform(-10, 10), resample=Image.Resampling.BICUBIC,
                                          expand=True, fillcolor=235)
    width, height = image.size
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs / width - 0.5) * math.cos(angle) + (ys / height - 0.5) * math.sin(angle)
    gain = 0.25 + 0.75 * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    hot = np.exp(-(((xs - rng.uniform(0, width)) ** 2 + (ys - rng.uniform(0, height)) ** 2)
                   / (2 * (0.2 * width) ** 2)))
    pixels = np.asarray(image, dtype=np.float32) * gain + 60 * hot
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def _busy(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """Small in a 1280 × 960 photo of clutter: shapes, lines, text-like stripes, noise."""
    width, height = 1280, 960
    canvas = Image.new("L", (width, height), rng.randint(90, 180))
    draw = ImageDraw.Draw(canvas)
    for _ in range(60):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(20, 300), rng.uniform(20, 300)
        shade = rng.randint(0, 255)
        kind = rng.random()
        if kind < 0.4:
            draw.rectangle((x, y, x + w, y + h), fill=shade)
        elif kind < 0.7:
            draw.ellipse((x, y, x + w, y + h), fill=shade)
        else:
            draw.line((x, y, x + w, y + h), fill=shade, width=rng.randint(1, 8))
    for _ in range(8):  # lines of "text"
        x, y = rng.uniform(0, width - 300), rng.uniform(0, height - 20)
        for _ in range(rng.randint(10, 30)):
            step = rng.randint(3, 9)
            draw.rectangle((x, y, x + step - 2, y + rng.randint(8, 14)), fill=rng.randint(0, 60))
            x += step + rng.randint(0, 3)
    label = _on_paper(symbol, rng, margin=0.15)
    # the label takes 15-25 % of the picture's width, at no less than 2 px per module
    target = rng.uniform(0.15, 0.25) * width / label.width
    label = _scale(label, max(target, 2.2 / _module_px(symbol)))
    label = label.rotate(rng.uniform(-20, 20), resample=Image.Resampling.BICUBIC, expand=True,
                         fillcolor=0)
    mask = _on_mask(label)
    x = rng.randint(0, max(0, width - label.width))
    y = rng.randint(0, max(0, height - label.height))
    canvas.paste(label, (x, y), mask)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, (height, width))
    pixels = np.asarray(canvas, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def _on_mask(label: Image.Image) -> Image.Image:
    """The rotated label's own area (the corners expand() filled with 0 stay out)."""
    return label.point(lambda v: 255 if v > 0 else 0)


def _jpeg(symbol: Image.Image, rng: random.Random) -> Image.Image:
    """Rendered as for the mild set; the JPEG quality is applied when encoding."""
    return _mild(symbol, rng)


#: distortion -> how it transforms the rendered symbol (all take a seeded random source)
DISTORTIONS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "mild": _mild,
    "rotate 0-360°": _rotate,
    "scale down (1.5-2 px/module)": _scale_down,
    "perspective": _perspective,
    "blur": _blur,
    "JPEG q10-25": _jpeg,
    "uneven lighting": _lighting,
    "small in a busy picture": _busy,
}
MILD = "mild"


def sample(symbology: str, distortion: str, seed: int) -> Sample:
    """The corpus picture for this symbology, distortion and seed."""
    rng = random.Random(f"{symbology}|{distortion}|{seed}")  # noqa: S311 - a corpus, not a key
    symbol, expected = SYMBOLOGIES[symbology](rng)
    symbol.info["module_px"] = {"DataMatrix (GS1)": 6, "Code128 (GS1-128)": 3, "DataBar": 3,
                                "DataBarExpanded": 3}.get(symbology, 4)
    image = DISTORTIONS[distortion](symbol, rng)
    out = io.BytesIO()
    if distortion.startswith("JPEG"):
        image.save(out, format="JPEG", quality=rng.randint(10, 25))
    elif distortion == MILD:
        image.save(out, format="JPEG", quality=85)
    else:
        image.save(out, format="PNG")
    return Sample(symbology, distortion, seed, expected, out.getvalue())


def samples(per_cell: int, *, first_seed: int = 0) -> list[Sample]:
    """``per_cell`` samples of every symbology under every distortion."""
    return [sample(symbology, distortion, seed)
            for symbology in SYMBOLOGIES for distortion in DISTORTIONS
            for seed in range(first_seed, first_seed + per_cell)]
