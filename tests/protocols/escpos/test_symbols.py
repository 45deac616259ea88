"""Barcode check digits and sizing, QR capacity, logo loading."""

from __future__ import annotations

import pytest
import qrcode  # type: ignore[import-untyped]
from PIL import Image as PILImage
from qrcode.util import BIT_LIMIT_TABLE  # type: ignore[import-untyped]

from protocols.escpos import Barcode, QRCode, RenderError, ean_check_digit
from protocols.escpos.symbols import load_logo, plan_barcode, qr_module_size, qr_version
from tests.protocols.escpos._helpers import png_base64


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("400638133393", 1),  # EAN-13 4006381333931
        ("590123412345", 7),  # EAN-13 5901234123457
        ("9638507", 4),  # EAN-8 96385074
        ("03600029145", 2),  # UPC-A 036000291452
        ("00000000000", 0),
    ],
)
def test_gs1_check_digits(body: str, check: int) -> None:
    assert ean_check_digit(body) == check


def test_gs1_data_is_checked() -> None:
    assert plan_barcode(Barcode(data="5901234123457", symbology="EAN13"), 576).code == "5901234123457"
    for data, symbology, words in [
        ("5901234123458", "EAN13", "wrong check digit .expected 7."),
        ("96385075", "EAN8", "wrong check digit"),
        ("036000291453", "UPC-A", "wrong check digit"),
        ("59012341234A", "EAN13", "13 digits"),
        ("０３６００００２９１４５２", "UPC-A", "12 digits"),  # fullwidth digits are not ASCII
        ("9638507", "EAN8", "8 digits"),
    ]:
        with pytest.raises(RenderError, match=words):
            plan_barcode(Barcode(data=data, symbology=symbology), 576)  # type: ignore[arg-type]


def test_module_width_is_the_widest_that_fits() -> None:
    ean = Barcode(data="4006381333931", symbology="EAN13")
    assert plan_barcode(ean, 576).module_width == 3  # 285 dots
    assert plan_barcode(ean, 284).module_width == 2  # 190 dots
    with pytest.raises(RenderError, match="190 dots wide"):
        plan_barcode(ean, 189)
    # CODE128 set B: (11 x 20 + 35) modules = 255 -> 765 dots at 3, 510 at 2.
    code = Barcode(data="A" * 20, symbology="CODE128")
    assert plan_barcode(code, 576).module_width == 2
    with pytest.raises(RenderError):
        plan_barcode(code, 384)
    # The same length in digits goes in set C: 10 symbols, (110 + 35) x 3 = 435 dots.
    digits = plan_barcode(Barcode(data="12" * 10, symbology="CODE128"), 576)
    assert digits.module_width == 3 and digits.code == "{C" + chr(12) * 10
    # CODE39 "ABC" with '*' start and stop: 5 characters of 7 x 3 + 3 x 8 = 45 dots.
    assert plan_barcode(Barcode(data="ABC", symbology="CODE39"), 225).module_width == 3
    assert plan_barcode(Barcode(data="ABC", symbology="CODE39"), 224).module_width == 2


def test_code128_escapes_and_code_sets() -> None:
    plan = plan_barcode(Barcode(data="{x}", symbology="CODE128"), 576)
    assert plan.code == "{B{{x}"
    assert plan_barcode(Barcode(data="123", symbology="CODE128"), 576).code == "{B123"  # odd length
    assert plan_barcode(Barcode(data="12", symbology="CODE128"), 576).code == "{B12"  # too short to gain


def test_qr_capacity_table_matches_the_qrcode_package() -> None:
    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    for name, level in levels.items():
        for version in range(1, 41):
            count_bits = 8 if version < 10 else 16
            capacity = (BIT_LIMIT_TABLE[level][version] - 4 - count_bits) // 8
            assert qr_version(b"x" * capacity, name) == version
            if version < 40:
                assert qr_version(b"x" * (capacity + 1), name) == version + 1
    with pytest.raises(RenderError, match="2954 bytes; at most 2953"):
        qr_version(b"x" * 2954, "L")


def test_qr_module_size_fits_the_paper() -> None:
    assert qr_module_size(QRCode(data="x", size=16), 576) == 16  # version 1: 21 modules
    assert qr_module_size(QRCode(data="x" * 300, size=6), 288) == 4  # version 13: 69 modules
    assert qr_module_size(QRCode(data="x" * 700, size=16, error_correction="L"), 288) == 3  # version 18: 89


def test_logo_loading() -> None:
    palette = PILImage.new("P", (4, 1), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.info["transparency"] = 0  # index 0 (black) is transparent
    assert load_logo(png_base64(palette), 576).tobytes() == b"\xff" * 4
    grey = load_logo(png_base64(PILImage.new("RGB", (600 // 2, 10), (0, 0, 0))), 150)
    assert grey.size == (150, 5) and grey.mode == "L"
    with pytest.raises(RenderError, match="not a readable base64 PNG"):
        load_logo("iVBORw0KGgo=", 576)  # a PNG signature and nothing else
