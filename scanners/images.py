"""Photographs to code text: every barcode a shopper's photo carries, read by two decoders.

:func:`decode_image` takes the bytes of an uploaded picture (PNG, JPEG, WebP or HEIC) and
returns the codes on it as :class:`Decoded` (format and raw text, GS1 separators as ``"\\x1d"``,
the way a scanner delivers them). Two decoders do the reading, each where it is strongest:

- zxing-cpp (its wheel ships the library) reads every symbology we care about and is the only
  one for Data Matrix; it finds codes in large pictures quickly, so it reads first;
- zbar (through pyzbar) reads some worn, low-contrast or glared EAN/UPC and QR codes that
  zxing-cpp refuses, so it reads the same picture second.

When neither finds anything, the picture is reworked the way a phone photo needs and read
again, cheapest first, stopping at the first pass that finds a code: small pictures upscaled,
sharpened, contrast stretched, equalised, lighting flattened, binarised (Otsu, and against the
neighbourhood's mean), blurred (against JPEG noise and moiré), rotated by angles neither decoder
tries itself, large pictures cut into overlapping tiles, and last the regions whose edges all
run one way (a 1D code's bars) cut out, turned upright and enlarged, for a code small and
tilted among clutter. A read that may be a misread passing its check (EAN/UPC, ITF, a short
Code 128) off a reworked picture is taken only once a second read agrees.

The work is bounded before any pixel is decoded: a byte limit, a pixel limit read from the
header (so a 20,000 × 20,000 image or a PNG that inflates hugely is refused unread, and
Pillow's own decompression-bomb guard is kept as a second line), and a time budget checked
between passes. Whatever cannot be read raises :class:`scanners.errors.CodeError` with an
``image.*`` code and ``field="image"``; nothing else escapes.
"""

from __future__ import annotations

import functools
import io
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pillow_heif
import zxingcpp
from PIL import (
    Image,
    ImageFile,
    ImageFilter,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)
from pyzbar import pyzbar

from scanners.errors import CodeError

# The formats read, registered with Pillow here (HEIC, the format iPhones write, through
# pillow-heif); a JPEG with a preview image (MPO, from some cameras) opens as a JPEG.
_PLUGINS = (PngImagePlugin, JpegImagePlugin, WebPImagePlugin)
pillow_heif.register_heif_opener()

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_TIME_BUDGET",
    "MAX_BYTES",
    "MAX_PIXELS",
    "Decoded",
    "decode_image",
    "read_pyzbar",
    "read_zxing",
]

#: the largest upload read at all (a 48-megapixel HEIC or JPEG is well under it)
MAX_BYTES = 20 * 1024 * 1024
#: the most pixels a picture may declare in its header (an 8000 × 5000 photo)
MAX_PIXELS = 40_000_000
#: seconds of decoding (this thread's CPU time) after which no further pass starts
DEFAULT_TIME_BUDGET = 4.0
#: on a machine so busy that the budget's CPU seconds take longer than this many times as
#: long, no further pass starts either: the answer must still come
_WALL_CLOCK_FACTOR = 3.0
#: Pillow's names of the formats read
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "HEIF")

#: the longest side zxing-cpp reads at full resolution (bigger pictures are reduced first)
_FULL_SIDE = 2600
#: the longest side of the picture the reworking passes start from
_WORK_SIDE = 1280
#: the longest side of the region zbar reads to check zxing-cpp's read of a linear code
_CHECK_SIDE = 800
#: pictures whose longest side is under this are upscaled in the reworking passes
_SMALL_SIDE = 800

#: the symbologies read: those that carry GS1 keys or a URL on retail goods, and Code 128
_ZXING_FORMATS = zxingcpp.barcode_formats_from_str(
    "QRCode,MicroQRCode,DataMatrix,EAN13,EAN8,UPCA,UPCE,Code128,ITF,"
    "DataBar,DataBarExpanded,DataBarLimited")
# zbar enabled for EAN-13 and not for UPC-A and UPC-E reads both as the EAN-13 they stand for
# (13 digits, a UPC-E expanded), which is how zxing-cpp gives them too.
_ZBAR_SYMBOLS = [pyzbar.ZBarSymbol.QRCODE, pyzbar.ZBarSymbol.EAN13, pyzbar.ZBarSymbol.EAN8,
                 pyzbar.ZBarSymbol.CODE128, pyzbar.ZBarSymbol.DATABAR,
                 pyzbar.ZBarSymbol.DATABAR_EXP]

#: each decoder's format names -> ours (zxing-cpp's where it has one)
_FORMAT_NAMES = {
    "QRCODE": "QRCode", "EAN13": "EAN13", "EAN8": "EAN8", "UPCA": "UPCA", "UPCE": "UPCE",
    "CODE128": "Code128", "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExpanded",
    "DataBarOmni": "DataBar", "DataBarStk": "DataBar", "DataBarStkOmni": "DataBar",
    "DataBarExp": "DataBarExpanded", "DataBarExpStk": "DataBarExpanded",
    "DataBarLtd": "DataBarLimited", "ITF14": "ITF",
}

#: AIM symbology identifiers zbar's results imply (it reports none itself); a QR code or
#: Code 128 from zbar may or may not carry GS1 data, so those get none
_ZBAR_SYMBOLOGY = {"EAN13": "]E0", "UPCA": "]E0", "UPCE": "]E0", "EAN8": "]E4",
                   "DataBar": "]e0", "DataBarExpanded": "]e0"}


#: the AIM symbology identifier of GS1 data in each symbology
_GS1_SYMBOLOGY = {"DataMatrix": "]d2", "QRCode": "]Q3", "Code128": "]C1", "DataBar": "]e0",
                  "DataBarExpanded": "]e0", "DataBarLimited": "]e0"}


@dataclass(frozen=True)
class Decoded:
    """One code read off a picture.

    ``format`` is the symbology ("QRCode", "DataMatrix", "EAN13", "EAN8", "UPCA", "UPCE",
    "Code128", "DataBar", "DataBarExpanded"…); ``text`` the raw content as a scanner
    delivers it, GS1 field separators as ``"\\x1d"`` and no leading FNC1 (a UPC-A in its
    13-digit EAN-13 form, as both decoders give it); ``symbology`` the AIM symbology
    identifier when the decoder knows it (``"]d2"`` is GS1 Data Matrix, ``"]C1"`` GS1-128,
    ``"]Q3"`` a GS1 QR code, ``"]e0"`` DataBar), else ``""``; ``box`` where the decoder saw
    it in the picture it read (left, top, right, bottom), when it says (no part of equality).
    """

    format: str
    text: str
    symbology: str = ""
    box: tuple[int, int, int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def gs1(self) -> bool:
        """Whether the symbol says it carries GS1 element strings."""
        return self.symbology in {"]C1", "]d2", "]Q3", "]e0", "]J1"}

    def scanned_text(self) -> str:
        """The text with its symbology identifier in front when that marks GS1 data, the
        form a GS1 parser reads unambiguously (``"]d2010950…"``)."""
        return self.symbology + self.text if self.gs1 else self.text


def read_zxing(image: Image.Image, *, binarizer: str = "local") -> list[Decoded]:
    """The codes zxing-cpp finds on ``image`` as it is (``binarizer``: "local" for its
    default local-average thresholding, "global" for a histogram threshold)."""
    results = zxingcpp.read_barcodes(
        image, formats=_ZXING_FORMATS, text_mode=zxingcpp.TextMode.Plain,
        binarizer=(zxingcpp.Binarizer.GlobalHistogram if binarizer == "global"
                   else zxingcpp.Binarizer.LocalAverage))
    found = []
    for result in results:
        if not (result.valid and result.text):
            continue
        corners = result.position
        xs = [corners.top_left.x, corners.top_right.x, corners.bottom_left.x,
              corners.bottom_right.x]
        ys = [corners.top_left.y, corners.top_right.y, corners.bottom_left.y,
              corners.bottom_right.y]
        decoded = _named(Decoded(result.format.name, result.text, result.symbology_identifier,
                                 (min(xs), min(ys), max(xs) + 1, max(ys) + 1)))
        if result.content_type == zxingcpp.ContentType.GS1:
            # zxing-cpp marks some symbols' identifiers its own way (a GS1 Data Matrix in a
            # rectangular size reads "]d8"); GS1 content gets the identifier AIM assigns it.
            decoded = replace(decoded, symbology=_GS1_SYMBOLOGY.get(decoded.format,
                                                                     decoded.symbology))
        found.append(decoded)
    return found


def read_pyzbar(image: Image.Image) -> list[Decoded]:
    """The codes zbar finds on ``image`` (greyscale) as it is."""
    found = []
    for symbol in pyzbar.decode(image, symbols=_ZBAR_SYMBOLS):
        text = symbol.data.decode("utf-8", errors="replace")
        format_ = _FORMAT_NAMES.get(symbol.type, symbol.type)
        found.append(_named(Decoded(format_, text, _ZBAR_SYMBOLOGY.get(format_, ""))))
    return [d for d in found if d.text]


def decode_image(data: bytes, *, time_budget: float = DEFAULT_TIME_BUDGET) -> list[Decoded]:
    """Every code found on the picture in ``data``, in the order found, without repeats.

    2D symbols and DataBar carry error correction and are taken at their first read. An
    EAN/UPC, ITF or short Code 128 can be a misread that happens to pass its check (either
    decoder on a worn label, on a reworked picture or on stripes in clutter), so it is taken
    once a second read (another pass or the other decoder) agrees, or, when zxing-cpp read it on
    the picture as it came, unless zbar read another code there; if no read is ever confirmed,
    the answer is what zxing-cpp, else zbar, read on the picture as it came, as with either
    decoder alone.

    Raises :class:`CodeError` (field ``image``): ``image.empty``, ``image.too_large`` (more
    than :data:`MAX_BYTES` bytes or :data:`MAX_PIXELS` pixels, or a decompression bomb),
    ``image.unsupported`` (not a PNG, JPEG, WebP or HEIC picture), ``image.unreadable``
    (truncated or corrupt), ``image.no_code`` (no code found within ``time_budget``
    seconds). No pass starts after the budget is spent: ``time_budget`` seconds of this
    thread's CPU time, so that a busy machine reads a photo as an idle one does, or three times
    as long on the clock, whichever comes first.
    """
    cpu_deadline = time.thread_time() + time_budget
    deadline = time.monotonic() + time_budget * _WALL_CLOCK_FACTOR
    grey = _load_grey(data)
    votes: dict[Decoded, int] = {}
    trusted: set[Decoded] = set()
    first: list[Decoded] = []  # zxing-cpp's reads of the picture as it came
    second: list[Decoded] = []  # zbar's
    for name, reads in _passes(grey):
        for read in reads:
            found = _unique(read())
            for decoded in found:
                votes[decoded] = votes.get(decoded, 0) + 1
                if not _misread_prone(decoded):
                    trusted.add(decoded)
            if name == "zxing" and found:
                first = found
                if any(d in trusted for d in first):
                    return first
                # Only codes a misread could pass for: zbar reads the same place; it agreeing,
                # or reading nothing there, lets zxing-cpp's read stand.
                check = _unique(read_pyzbar(_around(grey, first)))
                if not any(d not in first and _misread_prone(d) for d in check):
                    return first
                # zbar saw another code: the passes vote (its own pass gives zbar's vote)
            elif name == "zbar":
                second = found
            accepted = [d for d in votes if votes[d] >= 2 or d in trusted]
            if accepted:
                return accepted
        if time.thread_time() >= cpu_deadline or time.monotonic() >= deadline:
            break
    if first or second:  # no read was ever confirmed: what each decoder alone would answer
        return first or second
    raise CodeError("image.no_code", "no barcode or QR code could be read in the image; "
                    "photograph the code closer, in focus and evenly lit", field="image")


def decode_passes(data: bytes) -> Iterator[tuple[str, list[Decoded]]]:
    """Each pass of :func:`decode_image` by name with what each decoder found, all of them,
    for the benchmarks to weigh what each contributes."""
    for name, reads in _passes(_load_grey(data)):
        for read in reads:
            yield name, _unique(read())


#: symbologies where a misread can pass its check: EAN/UPC and ITF have one check digit
_CHECK_DIGIT_ONLY = frozenset({"EAN13", "EAN8", "UPCA", "UPCE", "ITF"})


def _misread_prone(decoded: Decoded) -> bool:
    """Whether a read may be a misread that passed its check: an EAN/UPC or ITF, or a Code 128
    of a few characters (a run of stripes in clutter, text or a grille, can pass its start,
    stop and mod-103 check when it is that short; a longer one hardly can)."""
    return decoded.format in _CHECK_DIGIT_ONLY or (
        decoded.format == "Code128" and len(decoded.text) < 6)


# --- reading the file, within bounds -------------------------------------------------------

def _load_grey(data: bytes) -> Image.Image:
    """The picture as greyscale, its longest side at most :data:`_FULL_SIDE`, upright."""
    if not data:
        raise CodeError("image.empty", "the image is empty (0 bytes)", field="image")
    if len(data) > MAX_BYTES:
        raise CodeError("image.too_large", f"the image is {len(data):,} bytes; at most "
                        f"{MAX_BYTES:,} are read", field="image")
    image = _open(data)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise CodeError("image.too_large", f"the image is {width:,} × {height:,} pixels; at "
                        f"most {MAX_PIXELS:,} pixels are read", field="image")
    if width < 1 or height < 1:
        raise CodeError("image.unreadable", "the image has no pixels", field="image")
    try:
        if image.format in {"JPEG", "MPO"}:
            # JPEG decodes at 1/2, 1/4 or 1/8 scale for the asking, straight to grey: a
            # 12-megapixel photo then costs a quarter of its full decode.
            scale = max(1, max(width, height) // _FULL_SIDE)
            image.draft("L", (width // scale, height // scale))
        image.load()
        grey = _to_grey(_upright(image))
    except CodeError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError… on bad data
        raise _unreadable(exc, "the image is truncated or corrupt") from exc
    longest = max(grey.size)
    if longest > _FULL_SIDE:
        grey = _resized(grey, _FULL_SIDE / longest)
    return grey


def _open(data: bytes) -> ImageFile.ImageFile:
    """Open ``data`` lazily (header only), refusing what Pillow calls a decompression bomb."""
    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; both are refusals.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise CodeError("image.too_large", f"the image declares too many pixels; at most "
                            f"{MAX_PIXELS:,} pixels are read", field="image") from exc
        except UnidentifiedImageError as exc:
            raise CodeError("image.unsupported", "not a PNG, JPEG, WebP or HEIC image",
                            field="image") from exc
        except Exception as exc:  # a recognised header that is itself broken
            raise _unreadable(exc, "the image header is corrupt") from exc


def _unreadable(exc: Exception, what: str) -> CodeError:
    """Pillow's complaint about a broken file as ours. A compressed chunk that inflates past
    Pillow's limits (``PngImagePlugin.MAX_TEXT_CHUNK``: a text or ICC profile bomb) is a
    decompression bomb, refused like too many pixels."""
    if isinstance(exc, ValueError) and "Decompressed data too large" in str(exc):
        return CodeError("image.too_large", "the image holds a compressed chunk that inflates "
                         "too large (a decompression bomb)", field="image")
    return CodeError("image.unreadable", f"{what} ({_reason(exc)})", field="image")


def _upright(image: Image.Image) -> Image.Image:
    """The picture turned as its EXIF orientation says (phones store it sideways)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return image


def _to_grey(image: Image.Image) -> Image.Image:
    """Greyscale, transparency flattened onto white (a code on a transparent PNG is dark on
    nothing, which reads as dark on black without this)."""
    if image.mode == "L":
        return image
    if image.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) * (255.0 / (high - low)) if high > low else array * 0
        return Image.fromarray(scaled.astype(np.uint8), "L")
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


# --- the passes ---------------------------------------------------------------------------

Read = Callable[[], list[Decoded]]


def _passes(grey: Image.Image) -> Iterator[tuple[str, list[Read]]]:
    """The reading passes in order, cheapest and most fruitful first, each a list of reads
    (one per decoder) of one picture; a picture is built only when its pass is reached, so an
    early success costs nothing of the later ones."""
    yield "zxing", [lambda: read_zxing(grey)]
    work = grey if max(grey.size) <= _WORK_SIDE else _resized(grey, _WORK_SIDE / max(grey.size))
    yield "zbar", [lambda: read_pyzbar(work)]
    small = max(grey.size) < _SMALL_SIDE
    for name, make in _variants(work, small=small):
        yield name, _both(make)
    yield "zxing-global", [lambda: read_zxing(work, binarizer="global")]
    for index, (box, angle) in enumerate(_stripe_regions(grey)):
        straightened = functools.partial(_straightened, grey, box, angle)
        yield f"stripes{index}", _both(straightened)
        yield f"stripes{index}-blur", _both(functools.partial(_blurred, straightened))
    if max(grey.size) > _WORK_SIDE:
        for index, tile in enumerate(_tiles(grey)):
            yield f"tile{index}", _both(functools.partial(_same, tile))


def _both(make: Callable[[], Image.Image]) -> list[Read]:
    """zxing-cpp then zbar on the picture ``make`` builds (once, on the first read)."""
    built: list[Image.Image] = []

    def image() -> Image.Image:
        if not built:
            built.append(make())
        return built[0]

    return [lambda: read_zxing(image()), lambda: read_pyzbar(image())]


def _variants(work: Image.Image, *, small: bool) -> Iterator[tuple[str, Callable[[], Image.Image]]]:
    """The reworked pictures, by name, as recipes."""
    if small:
        yield "upscale", lambda: _resized(work, 2.0)
        yield "upscale-sharpen", lambda: _sharpen(_resized(work, 2.0))
    yield "sharpen", lambda: _sharpen(work)
    yield "stretch", lambda: ImageOps.autocontrast(work, cutoff=2)
    yield "equalise", lambda: ImageOps.equalize(work)
    yield "flatten", lambda: _flatten_lighting(work)
    yield "otsu", lambda: _otsu(work)
    yield "adaptive", lambda: _adaptive(work, radius=10, offset=5)
    if small:
        yield "upscale-adaptive", lambda: _adaptive(_resized(work, 2.0), radius=10, offset=5)
    yield "blur", lambda: work.filter(ImageFilter.GaussianBlur(1))
    if small:
        yield "upscale-blur", lambda: _resized(work, 2.0).filter(ImageFilter.GaussianBlur(1.5))
        yield "upscale3", lambda: _resized(work, 3.0)
    yield "median", lambda: work.filter(ImageFilter.MedianFilter(3))
    if max(work.size) >= _SMALL_SIDE:
        yield "halve", lambda: _resized(work, 0.5)
    for angle in (30, -30, 15, -15, 45):
        yield f"rotate{angle}", functools.partial(_rotated, work, angle)


def _stripe_regions(grey: Image.Image, *, limit: int = 3
                    ) -> list[tuple[tuple[int, int, int, int], float]]:
    """Where a 1D code may be, and its tilt: blocks whose edges are strong and all run one way
    (a linear symbol's bars), joined into regions, the strongest first, as (box, degrees to
    turn the region by so that its bars stand upright). For a code small, tilted and among
    clutter, which neither decoder finds in the whole picture."""
    pixels = np.asarray(grey, dtype=np.float32)
    height, width = pixels.shape
    block = max(8, max(width, height) // 80)
    rows, cols = height // block, width // block
    if rows < 3 or cols < 3:
        return []
    gx = np.zeros_like(pixels)
    gy = np.zeros_like(pixels)
    gx[:, 1:-1] = pixels[:, 2:] - pixels[:, :-2]
    gy[1:-1, :] = pixels[2:, :] - pixels[:-2, :]

    def pooled(values: np.ndarray) -> np.ndarray:
        blocks: np.ndarray = values[:rows * block, :cols * block].reshape(
            rows, block, cols, block).sum(axis=(1, 3))
        return blocks

    jxx, jyy, jxy = pooled(gx * gx), pooled(gy * gy), pooled(gx * gy)
    energy = jxx + jyy
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (energy + 1e-6)
    stripes = (coherence > 0.6) & (energy > 0.15 * float(energy.max()))
    # grown by two blocks each way, so a symbol's guard bars and quiet patches don't split it
    mask = stripes.copy()
    for _ in range(2):
        grown = mask.copy()
        grown[1:, :] |= mask[:-1, :]
        grown[:-1, :] |= mask[1:, :]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        mask = grown
    seen = np.zeros_like(mask)
    regions: list[tuple[float, tuple[int, int, int, int], float]] = []
    for row, col in zip(*np.nonzero(mask), strict=True):
        if seen[row, col]:
            continue
        seen[row, col] = True
        stack, members = [(int(row), int(col))], []
        while stack:
            r, c = stack.pop()
            members.append((r, c))
            for nr in (r - 1, r, r + 1):
                for nc in (c - 1, c, c + 1):
                    if 0 <= nr < rows and 0 <= nc < cols and mask[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        stack.append((nr, nc))
        members = [m for m in members if stripes[m]]
        if len(members) < 3:
            continue
        rs = [r for r, _c in members]
        cs = [c for _r, c in members]
        sxx = sum(float(jxx[m]) for m in members)
        syy = sum(float(jyy[m]) for m in members)
        sxy = sum(float(jxy[m]) for m in members)
        # the edges' direction; turning by it makes the bars' edges run vertically
        angle = 0.5 * float(np.degrees(np.arctan2(2 * sxy, sxx - syy)))
        margin = 3 * block
        box = (max(0, min(cs) * block - margin), max(0, min(rs) * block - margin),
               min(width, (max(cs) + 1) * block + margin),
               min(height, (max(rs) + 1) * block + margin))
        regions.append((sum(float(energy[m]) for m in members), box, angle))
    regions.sort(key=lambda region: -region[0])
    return [(box, angle) for _weight, box, angle in regions[:limit]]


def _straightened(grey: Image.Image, box: tuple[int, int, int, int], angle: float
                  ) -> Image.Image:
    """The region cut out, turned upright and enlarged to about 800 pixels across."""
    region = grey.crop(box).rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                                   fillcolor=255)
    factor = min(3.0, 800 / max(region.size))
    return _resized(region, factor) if factor > 1 else region


def _blurred(make: Callable[[], Image.Image]) -> Image.Image:
    """The picture ``make`` builds, softened (against aliasing and JPEG noise)."""
    return make().filter(ImageFilter.GaussianBlur(1))


def _around(grey: Image.Image, found: list[Decoded]) -> Image.Image:
    """The part of the picture where ``found`` were seen, with a margin for quiet zones (the
    whole picture when no box is known), at most 800 pixels across: enough for zbar to read
    a linear code that zxing-cpp read there, at a fraction of the cost of the whole picture."""
    boxes = [d.box for d in found if d.box is not None]
    region = grey
    if boxes:
        left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
        right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
        margin = max(24, (max(right - left, bottom - top)) // 3)
        region = grey.crop((max(0, left - margin), max(0, top - margin),
                            min(grey.width, right + margin), min(grey.height, bottom + margin)))
    longest = max(region.size)
    return region if longest <= _CHECK_SIDE else _resized(region, _CHECK_SIDE / longest)


def _tiles(grey: Image.Image) -> Iterator[Image.Image]:
    """Overlapping thirds of a large picture (each half its width and height), for a code
    that fills little of it."""
    width, height = grey.size
    tile_w, tile_h = max(1, width // 2), max(1, height // 2)  # a 1-pixel-high strip too
    for top in (0, height // 4, height - tile_h):
        for left in (0, width // 4, width - tile_w):
            yield grey.crop((left, top, left + tile_w, top + tile_h))


def _same(image: Image.Image) -> Image.Image:
    return image


def _resized(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    method = Image.Resampling.LANCZOS if factor > 1 else Image.Resampling.BOX
    return image.resize(size, method)


def _rotated(image: Image.Image, angle: float) -> Image.Image:
    """Turned by ``angle`` degrees on white: zbar scans rows and columns and zxing-cpp turns
    only by quarter turns, so a 1D code at 30° is read by neither until it is turned back."""
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def _sharpen(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3))


def _flatten_lighting(image: Image.Image) -> Image.Image:
    """Divide out the lighting: each pixel against a heavy blur of its neighbourhood, so a
    shadow across the code or a lamp's hot spot no longer moves the threshold."""
    small = _resized(image, 1 / 8) if min(image.size) >= 64 else image
    background = small.filter(ImageFilter.GaussianBlur(max(2, max(small.size) // 24)))
    background = background.resize(image.size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    light = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    return Image.fromarray(np.clip(pixels / light * 200.0, 0, 255).astype(np.uint8), "L")


def _otsu(image: Image.Image) -> Image.Image:
    """Black and white at Otsu's threshold (the one that best separates two classes)."""
    histogram = np.asarray(image.histogram(), dtype=np.float64)
    weight = histogram / max(histogram.sum(), 1.0)
    below = np.cumsum(weight)
    mean_below = np.cumsum(weight * np.arange(256))
    between = (mean_below[-1] * below - mean_below) ** 2 / (below * (1 - below) + 1e-12)
    threshold = int(np.argmax(between))
    table = [255 if value > threshold else 0 for value in range(256)]
    return image.point(table)


def _adaptive(image: Image.Image, *, radius: int, offset: int) -> Image.Image:
    """Black and white against each pixel's neighbourhood mean (less ``offset``), for a code
    under light that changes across it faster than flattening follows."""
    pixels = np.asarray(image, dtype=np.int16)
    local = np.asarray(image.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    return Image.fromarray(np.where(pixels > local - offset, 255, 0).astype(np.uint8), "L")


def _named(decoded: Decoded) -> Decoded:
    """Our format names; a UPC-A reads as an EAN-13 beginning with 0 in both decoders."""
    format_ = _FORMAT_NAMES.get(decoded.format, decoded.format)
    if format_ == "EAN13" and len(decoded.text) == 13 and decoded.text.startswith("0"):
        format_ = "UPCA"
    return replace(decoded, format=format_)


def _unique(found: list[Decoded]) -> list[Decoded]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for decoded in found:
        if (decoded.format, decoded.text) not in seen:
            seen.add((decoded.format, decoded.text))
            unique.append(decoded)
    return unique
