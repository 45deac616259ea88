"""Rendered documents hold exactly the bytes of the reference sheet (device-protocols.md)."""

from __future__ import annotations

import pytest
from PIL import Image as PILImage

from protocols.escpos import (
    Barcode,
    Columns,
    Cut,
    DrawerKick,
    Feed,
    Image,
    QRCode,
    RenderError,
    Separator,
    Text,
    render,
    render_raw_copy,
)
from tests.protocols.escpos._helpers import doc, h, png_base64

BOLD_ON, BOLD_OFF = h("1B 45 01"), h("1B 45 00")
CENTER, LEFT, RIGHT = h("1B 61 01"), h("1B 61 00"), h("1B 61 02")


@pytest.mark.parametrize(
    ("language", "page"),
    [
        ("en", 0x00),
        ("bs", 0x12),
        ("hr", 0x12),
        ("sr-Latn", 0x12),
        ("de", 0x13),
        ("ru", 0x11),
        ("sr-Cyrl", 0x11),
    ],
)
def test_starts_with_initialize_then_code_page(language: str, page: int) -> None:
    # ESC @ resets the code page, so ESC t n must follow it, never precede it.
    assert render(doc(Text(text="x"), language=language)).startswith(h("1B 40 1B 74") + bytes([page]))


def test_plain_text_is_exactly_init_code_page_and_the_line() -> None:
    assert render(doc(Text(text="Hello"), cut=False)) == h("1B 40 1B 74 00") + b"Hello\n"


def test_bosnian_letters_in_cp852() -> None:
    data = render(doc(Text(text="Čevapi č ć đ š ž Č Ć Đ Š Ž"), language="bs", cut=False))
    # Hand-checked CP852 bytes: Č=AC č=9F ć=86 đ=D0 š=E7 ž=A7 Ć=8F Đ=D1 Š=E6 Ž=A6.
    expected = h("AC 65 76 61 70 69 20 9F 20 86 20 D0 20 E7 20 A7 20 AC 20 8F 20 D1 20 E6 20 A6 0A")
    assert data == h("1B 40 1B 74 12") + expected


def test_letters_missing_from_the_code_page_print_unaccented() -> None:
    # An English receipt (CP437) still names "Čevapi" legibly; Cyrillic has no stand-in.
    assert render(doc(Text(text="Čevapi đak Ωx"), cut=False)).endswith(b"Cevapi dak \xeax\n")
    assert render(doc(Text(text="Жар"), cut=False)).endswith(b"???\n")


def test_styled_lines_are_reset_right_after() -> None:
    data = render(doc(Text(text="Total", bold=True, align="center"), Text(text="plain"), cut=False))
    assert data == h("1B 40 1B 74 00") + BOLD_ON + CENTER + b"Total\n" + BOLD_OFF + LEFT + b"plain\n"
    data = render(doc(Text(text="Big", underline=True, double_width=True, double_height=True, align="right")))
    line = data.index(b"Big\n")
    before, after = data[:line], data[line + 4 : data.index(h("1B 64 03"))]
    assert h("1B 2D 01") in before and h("1B 21 30") in before and RIGHT in before
    assert h("1B 2D 00") in after and h("1B 21 00") in after and LEFT in after


def test_long_text_wraps_at_words_and_double_width_halves_the_line() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    data = render(doc(Text(text=text), width=24, cut=False))
    assert data.endswith(b"The quick brown fox\njumps over the lazy dog\n")
    data = render(doc(Text(text=text, double_width=True), width=24, cut=False))
    assert b"The quick\nbrown fox\njumps over\nthe lazy dog\n" in data


def test_columns_justify_and_wrap_the_left_side() -> None:
    data = render(doc(Columns(left="Milk 2 x 1.20", right="2.40"), width=24, cut=False))
    assert data.endswith(b"Milk 2 x 1.20" + b" " * 7 + b"2.40\n")
    data = render(
        doc(Columns(left="Chocolate with hazelnuts and raisins", right="12.40", bold=True), width=24)
    )
    assert BOLD_ON + b"Chocolate with     12.40\nhazelnuts and raisins\n" + BOLD_OFF in data
    assert render(doc(Columns(left="Milk", right="2.40"))).count(b"Milk" + b" " * 40 + b"2.40\n") == 1


def test_separator_and_feed() -> None:
    assert render(doc(Separator(), cut=False)).endswith(b"-" * 48 + b"\n")
    assert render(doc(Separator(char="="), width=32, cut=False)).endswith(b"=" * 32 + b"\n")
    assert render(doc(Feed(lines=5), cut=False)).endswith(h("1B 64 05"))


def test_qr_model_2_sequence() -> None:
    data = render(doc(QRCode(data="hello", size=6, error_correction="M"), cut=False))
    sequence = (
        h("1D 28 6B 04 00 31 41 32 00")  # model 2
        + h("1D 28 6B 03 00 31 43 06")  # module size 6
        + h("1D 28 6B 03 00 31 45 31")  # error correction M = 0x30 + 1
        + h("1D 28 6B 08 00 31 50 30")  # store: pL = 3 + 5 bytes of data
        + b"hello"
        + h("1D 28 6B 03 00 31 51 30")  # print
    )
    assert data == h("1B 40 1B 74 00") + CENTER + sequence + LEFT


def test_qr_levels_utf8_and_shrinking_to_the_paper() -> None:
    data = render(doc(QRCode(data="ž", error_correction="H")))
    assert h("1D 28 6B 03 00 31 45 33") in data and h("1D 28 6B 05 00 31 50 30 C5 BE") in data
    # 300 bytes at M need version 13 (69 modules): 4 dots a module fit 288 dots (24 characters).
    data = render(doc(QRCode(data="x" * 300, size=6), width=24))
    assert h("1D 28 6B 03 00 31 43 04") in data
    assert h("1D 28 6B 03 00 31 43 06") in render(doc(QRCode(data="x" * 300, size=6), width=48))
    with pytest.raises(RenderError, match="at most 1273"):
        render(doc(QRCode(data="ž" * 700, error_correction="H")))


def test_ean13_bytes_and_check_digit() -> None:
    data = render(doc(Barcode(data="4006381333931", symbology="EAN13"), cut=False))
    # Centered; GS h height 80; GS w module 3; GS f HRI font A; GS H HRI below; GS k 67 13 digits.
    expected = CENTER + h("1D 68 50 1D 77 03 1D 66 00 1D 48 02 1D 6B 43 0D") + b"4006381333931" + LEFT
    assert data == h("1B 40 1B 74 00") + expected
    with pytest.raises(RenderError, match="check digit"):
        render(doc(Barcode(data="4006381333932", symbology="EAN13")))
    with pytest.raises(RenderError, match="13 digits"):
        render(doc(Barcode(data="40063813339", symbology="EAN13")))


def test_other_symbologies() -> None:
    assert h("1D 48 00 1D 6B 44 08") + b"96385074" in render(
        doc(Barcode(data="96385074", symbology="EAN8", hri=False))
    )
    assert h("1D 6B 41 0C") + b"036000291452" in render(doc(Barcode(data="036000291452", symbology="UPC-A")))
    assert h("1D 6B 45 08") + b"SMART-42" in render(doc(Barcode(data="SMART-42", symbology="CODE39")))
    with pytest.raises(RenderError, match="CODE39 cannot encode 'abc'"):
        render(doc(Barcode(data="abc", symbology="CODE39")))
    # CODE128 names its code set; a literal "{" is doubled; even-length digits go in set C.
    assert h("1D 6B 49 07") + b"{Ba{{b1" in render(doc(Barcode(data="a{b1", symbology="CODE128")))
    assert h("1D 6B 49 05 7B 43 0C 22 38") in render(doc(Barcode(data="123456", symbology="CODE128")))
    with pytest.raises(RenderError, match="dots wide"):
        render(doc(Barcode(data="A" * 30, symbology="CODE128")))


def test_raster_image_header_and_data() -> None:
    data = render(doc(Image(png_base64=png_base64(PILImage.new("1", (16, 4), 0))), cut=False))
    header = h("1D 76 30 00 02 00 04 00")  # GS v 0, m=0, 2 bytes x 4 rows
    assert data == h("1B 40 1B 74 00") + CENTER + header + b"\xff" * 8 + LEFT


def test_transparent_logo_prints_on_white() -> None:
    logo = PILImage.new("RGBA", (8, 2), (0, 0, 0, 0))  # transparent "black"
    logo.putpixel((0, 0), (0, 0, 0, 255))
    data = render(doc(Image(png_base64=png_base64(logo)), cut=False))
    assert h("1D 76 30 00 01 00 02 00 80 00") in data


def test_logo_wider_than_the_paper_is_scaled_down() -> None:
    logo = png_base64(PILImage.new("L", (576, 40), 0))
    assert h("1D 76 30 00 48 00 28 00") in render(doc(Image(png_base64=logo), width=48))
    assert h("1D 76 30 00 30 00 1B 00") in render(doc(Image(png_base64=logo), width=32))  # 384 x 27


@pytest.mark.parametrize(
    ("png", "message"),
    [
        ("bm90IGEgcG5n", "not a readable"),  # "not a png"
        ("!!!!", "not a readable"),
        (png_base64(PILImage.new("1", (577, 1))), "577x1"),
        (png_base64(PILImage.new("1", (8, 2401))), "8x2401"),
    ],
)
def test_bad_images_raise_render_error(png: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(doc(Image(png_base64=png)))


def test_jpeg_is_refused_but_data_uri_and_line_breaks_are_fine() -> None:
    import base64
    import io

    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(buffer, "JPEG")
    with pytest.raises(RenderError, match="not a readable"):
        render(doc(Image(png_base64=base64.b64encode(buffer.getvalue()).decode())))
    encoded = png_base64(PILImage.new("1", (8, 1), 0))
    wrapped = "data:image/png;base64," + "\n".join(encoded[i : i + 10] for i in range(0, len(encoded), 10))
    assert h("1D 76 30 00 01 00 01 00 FF") in render(doc(Image(png_base64=wrapped)))


def test_cuts() -> None:
    # Appended by default: ESC d 3 (margin), then GS V 'A' 0 (feed to the cutter, full cut).
    assert render(doc(Text(text="x"))).endswith(h("0A 1B 64 03 1D 56 41 00"))
    assert render(doc(Text(text="x"), Cut(partial=True, feed=0))).endswith(h("0A 1D 56 42 00"))
    assert render(doc(Text(text="x"), Cut(feed=5))).count(h("1D 56")) == 1
    assert h("1D 56") not in render(doc(Text(text="x"), cut=False))


def test_drawer_kick_bytes() -> None:
    kick = render(doc(DrawerKick(), cut=False))
    assert kick == h("1B 40 1B 74 00 1B 70 00 32 FA")  # pin 2, 100 ms on, 500 ms off
    assert render(doc(DrawerKick(pin=5, on_ms=50, off_ms=200), cut=False)).endswith(h("1B 70 01 19 64"))
    assert render(doc(DrawerKick(pin=5, on_ms=3, off_ms=510), cut=False)).endswith(h("1B 70 01 01 FF"))
    with pytest.raises(RenderError, match="off_ms"):
        render(doc(DrawerKick(on_ms=200, off_ms=300), cut=False))


@pytest.mark.parametrize(
    ("language", "word"),
    [
        ("bs", b"KOPIJA"),
        ("hr", b"KOPIJA"),
        ("sr-Latn", b"KOPIJA"),
        ("de", b"KOPIE"),
        ("en", b"COPY"),
        ("fr", b"COPY"),
    ],
)
def test_copy_banner_on_top(language: str, word: bytes) -> None:
    data = render(doc(Text(text="x"), language=language), copy=True)
    banner = BOLD_ON + CENTER + b"*** " + word + b" ***\n" + BOLD_OFF + LEFT
    assert data[5:].startswith(banner)  # right after ESC @ ESC t n
    assert b"***" not in render(doc(Text(text="x"), language=language))


def test_raw_copy() -> None:
    raw = b"\x1b@Raw line from an integrator\n\x1dV\x00"
    data = render_raw_copy(raw, "hr")
    assert data.startswith(h("1B 40"))
    assert b"*** KOPIJA ***\n" in data
    # The integrator's bytes follow a fresh ESC @, untouched.
    assert data.endswith(h("1B 40") + raw)
    assert b"*** COPY ***" in render_raw_copy(b"")


def test_structs_built_in_python_are_validated_too() -> None:
    # msgspec checks Meta constraints only when decoding; render checks them again.
    with pytest.raises(RenderError, match=r"\$\.blocks\[0\]\.lines"):
        render(doc(Feed(lines=300)))
    with pytest.raises(RenderError, match=r"\$\.blocks\[1\]\.text"):
        render(doc(Text(text="ok"), Text(text="\x1b@injected")))
    with pytest.raises(RenderError, match=r"\$\.width"):
        render(doc(Text(text="x"), width=10))


def test_rendering_writes_nothing_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    render(
        doc(
            Barcode(data="4006381333931", symbology="EAN13"),
            Image(png_base64=png_base64(PILImage.new("1", (8, 8)))),
            QRCode(data="x"),
        )
    )
    assert capsys.readouterr().out == ""
