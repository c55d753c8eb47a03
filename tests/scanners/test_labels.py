"""Every label a sheet prints decodes back: the PDF rasterised by PDFium, each label's cell
read by zxing-cpp (QR Code, GS1 DataMatrix, GS1-128) and by zbar (QR Code, GS1-128), and
compared with what was meant; the same for the PNG of each label."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar import pyzbar
from reportlab.lib.units import mm

from ledger.supervision.unit_codes import mint
from scanners.codes import parse_code
from scanners.labels import (
    MAX_SHEET_LABELS,
    SheetLayout,
    UnitLabel,
    label_png,
    label_sheet_pdf,
    supervision_code_groups,
)

BASE = "https://tracenet.example"
DPI = 300
#: lots that exercise the GS1 character set: a '/' and '%' escaped in the Digital Link,
#: parentheses that a bracketed element string cannot hold, the full 20 characters
LOTS = ["P20261126-01", "L/2026%11", "A(B)&C'D*E+F,G", "ABCDEFGHIJ0123456789", "7"]


def labels(count: int) -> list[UnitLabel]:
    return [UnitLabel(gtin="06901234567892", lot=LOTS[n % len(LOTS)], serial=f"K7M3QX9T{n:04d}",
                      supervision_code=mint(b"secret", 1, n + 1),
                      product_name="闽榕纯牛奶 250mL×24盒") for n in range(count)]


def gs1_data(label: UnitLabel) -> str:
    """What a GS1 scanner transmits: the element string with FNC1 as GS after the lot."""
    return f"01{label.gtin}10{label.lot}\x1d21{label.serial}"


def assert_reads_back(image: Image.Image, label: UnitLabel) -> None:
    read = {result.format: result for result in zxingcpp.read_barcodes(
        image, text_mode=zxingcpp.TextMode.Plain)}
    qr = read[zxingcpp.BarcodeFormat.QRCode]
    assert qr.text == label.digital_link(BASE)
    datamatrix = read[zxingcpp.BarcodeFormat.DataMatrix]
    # FNC1-led GS1 data (zxing-cpp says ]d8 rather than ]d2 for some symbols whose data
    # starts in digit-pair mode; the content type is what counts)
    assert datamatrix.text == gs1_data(label)
    assert datamatrix.content_type == zxingcpp.ContentType.GS1
    if zxingcpp.BarcodeFormat.Code128 not in read:
        # zxing scans a few lines of a whole picture for 1D codes; a scanner is aimed at the
        # bars, as this crop of the label's bottom third is
        bars = image.crop((0, image.height * 2 // 3, image.width, image.height))
        read.update({result.format: result for result in zxingcpp.read_barcodes(
            bars, formats=zxingcpp.BarcodeFormat.Code128, text_mode=zxingcpp.TextMode.Plain)})
    gs1_128 = read[zxingcpp.BarcodeFormat.Code128]
    assert (gs1_128.text, gs1_128.symbology_identifier) == (
        f"01{label.gtin}21{label.serial}", "]C1")
    assert gs1_128.content_type == zxingcpp.ContentType.GS1
    zbar = {symbol.type: symbol.data.decode() for symbol in pyzbar.decode(image)}
    assert zbar["QRCODE"] == label.digital_link(BASE)
    assert zbar["CODE128"] == f"01{label.gtin}21{label.serial}"
    # the parsed forms agree with the label's own
    assert parse_code(qr.text).ais == parse_code("]d2" + datamatrix.text).ais == (
        ("01", label.gtin), ("10", label.lot), ("21", label.serial))


def cells(page: Image.Image, layout: SheetLayout, count: int) -> list[Image.Image]:
    """The label cells of a rendered page, left to right, top to bottom."""
    scale = DPI / 25.4
    width, height = layout.label_size_mm
    found = []
    for slot in range(count):
        row, column = divmod(slot, layout.columns)
        left = (layout.margin_mm + column * (width + layout.gap_mm)) * scale
        top = (layout.margin_mm + row * (height + layout.gap_mm)) * scale
        found.append(page.crop((round(left), round(top), round(left + width * scale),
                                round(top + height * scale))))
    return found


@pytest.mark.parametrize("layout", [SheetLayout(), SheetLayout(columns=3, rows=8,
                                                               margin_mm=6, gap_mm=1)],
                         ids=["2x7", "3x8"])
def test_every_label_on_the_sheet_decodes_back(layout: SheetLayout) -> None:
    printed = labels(layout.per_page + 3)  # a second page too
    document = pypdfium2.PdfDocument(label_sheet_pdf(printed, base=BASE, layout=layout))
    try:
        assert len(document) == 2
        assert abs(document[0].get_size()[0] - 210 * mm) < 1
        read = 0
        for number in range(len(document)):
            page = document[number].render(scale=DPI / 72, grayscale=True).to_pil()
            on_page = printed[number * layout.per_page:(number + 1) * layout.per_page]
            for cell, label in zip(cells(page, layout, len(on_page)), on_page, strict=True):
                assert_reads_back(cell, label)
                read += 1
        assert read == len(printed)
    finally:
        document.close()


def test_every_png_decodes_back() -> None:
    for label in labels(len(LOTS)):
        image = Image.open(io.BytesIO(label_png(label, base=BASE)))
        assert image.format == "PNG" and round(image.info["dpi"][0]) == DPI
        assert_reads_back(image, label)


def test_the_supervision_code_is_printed_in_groups_of_four() -> None:
    code = mint(b"secret", 1, 1)
    assert supervision_code_groups(code).split() == [code[i:i + 4] for i in range(0, 20, 4)]


@given(st.text(alphabet="ABCXYZ0123456789-./%&()*+,:;<=>?_!'\"", min_size=1, max_size=20))
@settings(max_examples=60, deadline=None)
def test_the_digital_link_and_element_string_parse_back_to_the_label(lot: str) -> None:
    label = UnitLabel(gtin="06901234567892", lot=lot, serial="K7M3QX9TRW2H")
    expected = (("01", label.gtin), ("10", lot), ("21", label.serial))
    assert parse_code(label.digital_link(BASE)).ais == expected


#: GS1 character set 82, which lots and serials (AIs 10 and 21) are written in
CSET82 = ("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
          "abcdefghijklmnopqrstuvwxyz")


@given(st.text(alphabet=CSET82, min_size=1, max_size=20),
       st.text(alphabet=CSET82, min_size=1, max_size=20))
@settings(max_examples=25, deadline=None)
def test_any_lot_and_serial_print_and_read_back(lot: str, serial: str) -> None:
    label = UnitLabel(gtin="06901234567892", lot=lot, serial=serial,
                      supervision_code=mint(b"secret", 7, 42))
    assert_reads_back(Image.open(io.BytesIO(label_png(label, base=BASE))), label)


def test_sheets_refuse_what_they_cannot_print() -> None:
    with pytest.raises(ValueError, match="at least one label"):
        label_sheet_pdf([], base=BASE)
    with pytest.raises(ValueError, match="at most 1000 labels"):
        label_sheet_pdf(labels(1) * (MAX_SHEET_LABELS + 1), base=BASE)
    with pytest.raises(ValueError, match="needs at least 60 mm"):
        SheetLayout(columns=4)
    with pytest.raises(ValueError, match="1-4 columns"):
        SheetLayout(columns=0)
    with pytest.raises(ValueError, match="at least 30 mm"):
        SheetLayout(rows=12)
