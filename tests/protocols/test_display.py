"""Line display encoders against the byte sequences of the reference sheet.

Golden vectors: ``shared/reference/device-protocols.md``, "Customer displays and drawers"
(Epson DM-D init ``1B 40``, clear ``0C``, home ``0B``, cursor ``1F 24 x y``, brightness
``1F 58 n``, printer pass-through ``1B 3D 02`` ... ``1B 3D 01``; CD5220 upper line
``1B 51 41`` + 20 characters + ``0D``, lower line ``1B 51 42`` + 20 characters + ``0D``,
brightness ``1B 2A n``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.display import (
    Cd5220Encoder,
    DisplayError,
    DmdEncoder,
    display_text,
    encode_line,
    fit,
    through_printer,
)


def test_dmd_fixed_commands() -> None:
    dmd = DmdEncoder()
    assert dmd.init() == bytes.fromhex("1B 40")
    assert dmd.clear() == bytes.fromhex("0C")
    assert dmd.home() == bytes.fromhex("0B")


@pytest.mark.parametrize(
    ("x", "y", "golden"),
    [(1, 1, "1F 24 01 01"), (20, 1, "1F 24 14 01"), (1, 2, "1F 24 01 02"), (7, 2, "1F 24 07 02")],
)
def test_dmd_cursor_is_one_based(x: int, y: int, golden: str) -> None:
    assert DmdEncoder().cursor(x, y) == bytes.fromhex(golden)


@pytest.mark.parametrize(("x", "y"), [(0, 1), (1, 0), (21, 1), (1, 3)])
def test_dmd_cursor_off_the_display_is_refused(x: int, y: int) -> None:
    with pytest.raises(DisplayError):
        DmdEncoder().cursor(x, y)


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_brightness_golden(level: int) -> None:
    assert DmdEncoder().brightness(level) == bytes((0x1F, 0x58, level))
    assert Cd5220Encoder().brightness(level) == bytes((0x1B, 0x2A, level))


@pytest.mark.parametrize("level", [0, 5, -1, 255])
def test_brightness_out_of_range_is_a_display_error(level: int) -> None:
    with pytest.raises(DisplayError):
        DmdEncoder().brightness(level)
    with pytest.raises(DisplayError):
        Cd5220Encoder().brightness(level)


@pytest.mark.parametrize("columns", [0, -3, 256])
def test_impossible_widths_are_refused(columns: int) -> None:
    with pytest.raises(DisplayError):
        DmdEncoder(columns=columns)
    with pytest.raises(DisplayError):
        Cd5220Encoder(columns=columns)
    with pytest.raises(DisplayError):
        fit("x", columns)


def test_cd5220_has_two_lines_only() -> None:
    with pytest.raises(DisplayError):
        Cd5220Encoder(rows=3)
    with pytest.raises(DisplayError):
        Cd5220Encoder(rows=1).line(2, "x")
    assert DisplayError.__mro__[1] is ValueError


def test_cd5220_upper_and_lower_line_golden() -> None:
    cd = Cd5220Encoder()
    assert cd.init() == bytes.fromhex("1B 40")
    assert cd.clear() == bytes.fromhex("0C")
    upper = bytes.fromhex("1B 51 41") + b"TOTAL          12.50" + bytes.fromhex("0D")
    lower = bytes.fromhex("1B 51 42") + b"Thank you           " + bytes.fromhex("0D")
    assert cd.line(1, "TOTAL          12.50") == upper
    assert cd.line(2, "Thank you") == lower
    assert cd.show(("TOTAL          12.50", "Thank you")) == upper + lower
    # Exactly 20 cells between prefix and CR, whatever the text's length.
    assert len(upper) == 3 + 20 + 1


def test_cd5220_long_text_is_cut_and_missing_lines_blank() -> None:
    cd = Cd5220Encoder()
    shown = cd.show(("A" * 30,))
    assert shown == (b"\x1bQA" + b"A" * 20 + b"\r" + b"\x1bQB" + b" " * 20 + b"\r")
    assert cd.show(("1", "2", "3")) == cd.line(1, "1") + cd.line(2, "2")


def test_dmd_show_positions_each_row() -> None:
    dmd = DmdEncoder()
    assert dmd.show(("Coffee", "2.40")) == (
        bytes.fromhex("1F 24 01 01") + b"Coffee".ljust(20) + bytes.fromhex("1F 24 01 02") + b"2.40".ljust(20)
    )
    small = DmdEncoder(columns=4, rows=1)
    assert small.show(("abcdef", "dropped")) == bytes.fromhex("1F 24 01 01") + b"abcd"


def test_through_printer_wrapper_golden() -> None:
    wrapped = through_printer(DmdEncoder().clear())
    assert wrapped == bytes.fromhex("1B 3D 02 0C 1B 3D 01")


def test_text_is_transliterated_to_cp437() -> None:
    # CP437 has ä, é and ü; č, š, ž and đ are not in it and lose their marks.
    assert encode_line("Čevapi ž đ", 10) == b"Cevapi z d"
    assert encode_line("Café Müller", 11) == "Café Müller".encode("cp437")
    # A decomposed č (c + combining caron) is one cell, not "c?".
    assert fit("c\u030cevap", 5) == "cevap"
    # No CP437 byte and no ASCII letter: a question mark, one cell.
    assert fit("日本", 4) == "??  "
    # Typographic punctuation has an obvious stand-in.
    assert fit("“Ok” – 5", 8) == '"Ok" - 5'


def test_control_characters_never_reach_the_wire() -> None:
    # Whitespace controls (form feed, tab, newline) become a space, any other control a "?".
    line = encode_line("A\x0cB\x1b@C\tD\nE\x00", 12)
    assert line == b"A B?@C D E? "
    assert not any(byte < 0x20 for byte in line)
    # Invisible format characters take no cell.
    assert fit("a\u200db\u00adc", 3) == "abc"


@given(st.text(max_size=60), st.integers(min_value=1, max_value=40))
def test_any_text_fits_exactly_and_encodes(text: str, columns: int) -> None:
    line = encode_line(text, columns)
    assert len(line) == columns
    assert not any(byte < 0x20 or byte == 0x7F for byte in line)
    assert len(display_text(text)) == len(display_text(text).encode("cp437"))


lines_strategy = st.lists(st.text(max_size=30), max_size=5).map(tuple)


@given(lines_strategy, st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=4))
def test_dmd_frame_is_a_cursor_and_a_full_row_per_row(
    lines: tuple[str, ...], columns: int, rows: int
) -> None:
    frame = DmdEncoder(columns=columns, rows=rows).show(lines)
    step = 4 + columns
    assert len(frame) == rows * step
    for y in range(rows):
        row = frame[y * step : (y + 1) * step]
        assert row[:4] == bytes((0x1F, 0x24, 1, y + 1))
        expected = lines[y] if y < len(lines) else ""
        assert row[4:] == encode_line(expected, columns)


@given(lines_strategy, st.integers(min_value=1, max_value=40))
def test_cd5220_frame_is_two_framed_lines(lines: tuple[str, ...], columns: int) -> None:
    frame = Cd5220Encoder(columns=columns).show(lines)
    step = 3 + columns + 1
    assert len(frame) == 2 * step
    upper, lower = frame[:step], frame[step:]
    assert upper[:3] == b"\x1bQA" and lower[:3] == b"\x1bQB"
    assert upper[-1:] == lower[-1:] == b"\r"
    # No CR inside the text: the display would end the line early.
    assert b"\r" not in upper[3:-1] + lower[3:-1]
