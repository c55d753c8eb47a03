"""scanners.images: real photographs, a generated corpus, and every way a file can be bad.

The photographs are ``/work/shared/scan-photos`` (zxing-cpp's black-box samples with their
expected texts); the corpus is :mod:`tests.scanners.corpus`, a seeded slice of what
``bench/decode.py`` runs in full. Both compare the pipeline with each decoder alone on the same
files, so "at least as good as the better of the two" is checked, not assumed.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scanners import images
from scanners.errors import CodeError
from scanners.images import Decoded, decode_image, read_pyzbar, read_zxing
from tests.conftest import SHARED
from tests.scanners import corpus

PHOTOS = SHARED / "scan-photos"
#: decoding budget in the tests: generous, so a busy machine changes no outcome
BUDGET = 60.0


@dataclass(frozen=True)
class Photo:
    file: Path
    format: str
    expected: str


def photos() -> list[Photo]:
    lines = (PHOTOS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")][1:]
    return [Photo(PHOTOS / name, format_, (PHOTOS / text).read_bytes().decode("utf-8"))
            for name, format_, text, _source in rows]


def _reads(decode: Callable[[], list[Decoded]], expected: str) -> bool:
    try:
        return any(decoded.text == expected for decoded in decode())
    except CodeError:
        return False


def _alone(data: bytes) -> tuple[Callable[[], list[Decoded]], Callable[[], list[Decoded]]]:
    """zxing-cpp alone and zbar alone, each on the picture as Pillow opens it."""
    def zxing() -> list[Decoded]:
        return read_zxing(Image.open(io.BytesIO(data)))

    def zbar() -> list[Decoded]:
        return read_pyzbar(Image.open(io.BytesIO(data)).convert("L"))
    return zxing, zbar


def _rates(cases: list[tuple[tuple[str, ...], bytes, str]]) -> dict[str, list[int]]:
    """group -> [cases, pipeline, zxing-cpp alone, zbar alone] read correctly; each case
    counts in each of its groups."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for groups, data, expected in cases:
        zxing, zbar = _alone(data)
        outcome = (1, _reads(lambda data=data: decode_image(data, time_budget=BUDGET), expected),
                   _reads(zxing, expected), _reads(zbar, expected))
        for group in groups:
            table[group] = [a + b for a, b in zip(table[group], outcome, strict=True)]
    return table


def _worse_rows(table: dict[str, list[int]]) -> dict[str, list[int]]:
    return {group: row for group, row in table.items() if row[1] < max(row[2], row[3])}


# --- the real photographs ------------------------------------------------------------------

@pytest.mark.slow
def test_real_photographs_read_at_least_90_percent_and_as_well_as_either_decoder() -> None:
    cases = [((photo.format,), photo.file.read_bytes(), photo.expected) for photo in photos()]
    assert len(cases) == 125
    table = _rates(cases)
    read = sum(row[1] for row in table.values())
    assert read / len(cases) >= 0.90, table
    assert not _worse_rows(table), table
    # and better than either alone overall (zxing-cpp reads ~86 %, zbar ~66 %)
    assert read > max(sum(row[2] for row in table.values()), sum(row[3] for row in table.values()))


def test_a_gs1_data_matrix_photo_keeps_its_group_separators() -> None:
    photo = next(p for p in photos() if p.file.name == "datamatrix-5__issue794-13-4.jpg")
    found = decode_image(photo.file.read_bytes(), time_budget=BUDGET)
    assert Decoded("DataMatrix", photo.expected, "]d2") in found
    assert "\x1d" in photo.expected and found[0].gs1
    assert found[0].scanned_text() == "]d2" + photo.expected


def test_a_upc_a_reads_as_13_digits_named_upca() -> None:
    photo = next(p for p in photos() if p.format == "upca")
    found = decode_image(photo.file.read_bytes())
    assert [(d.format, d.text) for d in found] == [("UPCA", photo.expected)]


def test_a_upc_e_reads_as_the_13_digits_it_stands_for_from_both_decoders() -> None:
    import numpy as np
    import zxingcpp
    symbol = zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode("01234565", zxingcpp.BarcodeFormat.UPCE), scale=4)
    picture = Image.fromarray(np.asarray(symbol))
    assert [d.text for d in read_pyzbar(picture)] == ["0012345000065"]
    assert [d.text for d in read_zxing(picture)] == ["0012345000065"]


# --- the generated corpus ------------------------------------------------------------------

@pytest.mark.slow
def test_generated_corpus_pipeline_at_least_the_better_decoder_on_every_row() -> None:
    samples = corpus.samples(1)  # 8 symbologies x 8 distortions; bench/decode.py runs more
    table = _rates([((f"distortion {s.distortion}", f"symbology {s.symbology}"), s.data,
                     s.expected) for s in samples])
    assert not _worse_rows(table), dict(table)
    mild = table[f"distortion {corpus.MILD}"]
    assert mild[1] == mild[0], mild


@pytest.mark.parametrize("symbology", sorted(corpus.SYMBOLOGIES))
def test_every_symbology_renders_and_reads_back_exactly(symbology: str) -> None:
    sample = corpus.sample(symbology, corpus.MILD, 100)
    found = decode_image(sample.data, time_budget=BUDGET)
    assert sample.expected in [d.text for d in found]


def test_gs1_symbols_say_so_and_keep_their_separators() -> None:
    sample = corpus.sample("DataMatrix (GS1)", corpus.MILD, 7)
    (found,) = decode_image(sample.data)
    assert found.format == "DataMatrix" and found.symbology == "]d2"
    assert found.text == sample.expected and found.text.count("\x1d") == 1  # after (10)
    sample = corpus.sample("Code128 (GS1-128)", corpus.MILD, 7)
    (found,) = decode_image(sample.data)
    assert (found.format, found.symbology, found.text) == ("Code128", "]C1", sample.expected)


def test_webp_and_heic_photos_are_read() -> None:
    sample = corpus.sample("QRCode", corpus.MILD, 3)
    picture = Image.open(io.BytesIO(sample.data)).convert("RGB")
    for format_ in ("WEBP", "HEIF"):
        out = io.BytesIO()
        picture.save(out, format=format_, quality=90)
        assert [d.text for d in decode_image(out.getvalue())] == [sample.expected], format_


def test_exif_orientation_and_transparency_are_honoured() -> None:
    sample = corpus.sample("EAN13", corpus.MILD, 5)
    symbol = Image.open(io.BytesIO(sample.data)).convert("L")
    # a code drawn in black on a transparent background: only the alpha says where it is
    rgba = Image.new("RGBA", symbol.size, (0, 0, 0, 0))
    rgba.putalpha(symbol.point(lambda v: 255 - v))
    out = io.BytesIO()
    rgba.save(out, format="PNG")
    assert [d.text for d in decode_image(out.getvalue())] == [sample.expected]


# --- bad input -----------------------------------------------------------------------------

def _png(width: int, height: int, rows: Callable[[], bytes], *, bit_depth: int = 1,
         colour: int = 0, extra: bytes = b"") -> bytes:
    """A PNG built by hand: ``rows()`` gives the raw scanlines (deflated here, streamed)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", rows()) + chunk(b"IEND", b""))


def _deflated_zero_rows(row_bytes: int, count: int) -> bytes:
    compressor = zlib.compressobj(9)
    row = bytes(1 + row_bytes)  # filter byte 0 and a black row
    parts = [compressor.compress(row) for _ in range(count)]
    return b"".join(parts) + compressor.flush()


def _code(exc: pytest.ExceptionInfo[CodeError]) -> str:
    assert exc.value.field == "image"
    return exc.value.code


def test_zero_bytes() -> None:
    with pytest.raises(CodeError, match="empty") as exc:
        decode_image(b"")
    assert _code(exc) == "image.empty"


def test_too_many_bytes() -> None:
    with pytest.raises(CodeError, match="at most 20,971,520") as exc:
        decode_image(b"\x89PNG" + bytes(images.MAX_BYTES))
    assert _code(exc) == "image.too_large"


def test_a_pdf_and_random_text_are_not_images() -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    for data in (pdf, b"hello, world", b"GIF89a" + bytes(40)):
        with pytest.raises(CodeError, match="not a PNG, JPEG, WebP or HEIC") as exc:
            decode_image(data)
        assert _code(exc) == "image.unsupported"


def test_a_truncated_png_and_jpeg() -> None:
    sample = corpus.sample("QRCode", "rotate 0-360°", 1)
    for data in (sample.data, corpus.sample("QRCode", "JPEG q10-25", 1).data):
        with pytest.raises(CodeError, match="truncated or corrupt") as exc:
            decode_image(data[: len(data) // 2])
        assert _code(exc) == "image.unreadable"


def test_20000_by_20000_is_refused_from_its_header() -> None:
    data = _png(20_000, 20_000, lambda: _deflated_zero_rows(2_500, 20_000))
    assert len(data) < 100_000  # 50 MB of pixels in a small file
    with pytest.raises(CodeError, match="too many pixels; at most 40,000,000") as exc:
        decode_image(data)
    assert _code(exc) == "image.too_large"


def test_a_png_decompression_bomb_is_refused_unread() -> None:
    # 100,000 × 100,000 RGBA (40 GB inflated) in a file of a few hundred bytes: Pillow's own
    # guard would refuse it too; ours speaks first, from the header
    data = _png(100_000, 100_000, lambda: _deflated_zero_rows(16, 4), bit_depth=8, colour=6)
    assert len(data) < 1_000
    with pytest.raises(CodeError, match="pixels") as exc:
        decode_image(data)
    assert _code(exc) == "image.too_large"


def test_a_png_text_chunk_bomb_is_refused() -> None:
    # a 1 × 1 picture with a compressed text chunk that inflates to 64 MB
    text = zlib.compress(bytes(64 * 1024 * 1024), 9)
    body = b"Comment\x00\x00" + text
    extra = (struct.pack(">I", len(body)) + b"zTXt" + body
             + struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF))
    data = _png(1, 1, lambda: zlib.compress(b"\x00\x00"), extra=extra)
    assert len(data) < 100_000
    with pytest.raises(CodeError, match="inflates too large") as exc:
        decode_image(data)
    assert _code(exc) == "image.too_large"


def test_an_image_without_a_code() -> None:
    blank = io.BytesIO()
    Image.new("L", (640, 480), 200).save(blank, format="PNG")
    with pytest.raises(CodeError, match="no barcode or QR code") as exc:
        decode_image(blank.getvalue())
    assert _code(exc) == "image.no_code"


def test_the_time_budget_stops_the_passes() -> None:
    noise = Image.effect_noise((900, 700), 64)
    out = io.BytesIO()
    noise.save(out, format="PNG")
    with pytest.raises(CodeError, match="no barcode") as exc:
        decode_image(out.getvalue(), time_budget=0.0)
    assert _code(exc) == "image.no_code"
    reached = [name for name, _found in images.decode_passes(out.getvalue())]
    assert len(reached) > 20  # there were many more reads to try


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_raise_nothing_but_code_error(data: bytes) -> None:
    try:
        decode_image(data, time_budget=1.0)
    except CodeError as exc:
        assert exc.code.startswith("image.") and exc.field == "image"


_VALID = {name: corpus.sample("EAN8", "rotate 0-360°", 2).data if name == "png"
          else corpus.sample("EAN8", "JPEG q10-25", 2).data for name in ("png", "jpeg")}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_VALID)), st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**6), st.integers(0, 255)), max_size=8),
    st.integers(min_value=8, max_value=10**6))
def test_damaged_real_images_raise_nothing_but_code_error(
        kind: str, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_VALID[kind][:cut])
    for position, value in flips:
        data[position % len(data)] = value
    try:
        decode_image(bytes(data), time_budget=1.0)
    except CodeError as exc:
        assert exc.code.startswith("image.") and exc.field == "image"


@pytest.mark.parametrize("size", [(40_000, 1), (1, 40_000), (9_000, 2), (1, 1)])
def test_a_picture_one_or_two_pixels_thin_has_no_code_and_no_crash(size: tuple[int, int]) -> None:
    # a large picture is also read in tiles of half its sides: a side of one pixel made tiles
    # of none, which zxing-cpp refused with a ValueError (a 500 through POST /api/v1/scan)
    picture = io.BytesIO()
    Image.new("L", size, 255).save(picture, "PNG")
    with pytest.raises(CodeError) as exc:
        decode_image(picture.getvalue())
    assert _code(exc) == "image.no_code"
