"""The customer display's parser and screen, without I/O.

Byte sequences come from the reference sheet (``shared/reference/device-protocols.md``,
"Customer displays and drawers"), not from any encoder of ours.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpos_sim.display.parser import PROTOCOLS, DisplayParser, DisplayProtocol

BLANK = " " * 20

# Golden sequences from the reference sheet.
DMD_INIT = bytes.fromhex("1B 40")
DMD_CLEAR = bytes.fromhex("0C")
DMD_HOME = bytes.fromhex("0B")
DMD_CURSOR_COL1_ROW2 = bytes.fromhex("1F 24 01 02")
CD5220_UPPER = bytes.fromhex("1B 51 41")
CD5220_LOWER = bytes.fromhex("1B 51 42")


def fed(protocol: DisplayProtocol, data: bytes) -> DisplayParser:
    parser = DisplayParser(protocol)
    parser.feed(data)
    return parser


def test_dmd_clear_cursor_and_text() -> None:
    parser = fed("dmd", DMD_INIT + b"Hello" + DMD_CLEAR + DMD_CURSOR_COL1_ROW2 + b"TOTAL 12.50")
    assert parser.screen.lines() == [BLANK, "TOTAL 12.50".ljust(20)]
    assert (parser.screen.x, parser.screen.y) == (11, 1)
    assert parser.unknown == 0


def test_dmd_home_overwrites_from_top_left() -> None:
    parser = fed("dmd", b"abcdef" + DMD_HOME + b"XY")
    assert parser.screen.lines()[0] == "XYcdef".ljust(20)


def test_dmd_text_wraps_to_the_next_line_and_back_to_the_top() -> None:
    parser = fed("dmd", b"A" * 20 + b"B" * 20 + b"C")
    assert parser.screen.lines() == ["C" + "A" * 19, "B" * 20]


def test_dmd_cr_lf_and_brightness() -> None:
    parser = fed("dmd", b"Item\r\nPrice" + bytes.fromhex("1F 58 02"))
    assert parser.screen.lines() == ["Item".ljust(20), "Price".ljust(20)]
    assert parser.screen.brightness == 2
    parser.feed(DMD_INIT)
    assert parser.state() == ([BLANK, BLANK], 4), "ESC @ clears and resets brightness"


def test_dmd_cursor_off_screen_is_ignored_and_counted() -> None:
    parser = fed("dmd", b"ab" + bytes.fromhex("1F 24 15 01") + bytes.fromhex("1F 24 01 03") + b"c")
    assert parser.screen.lines()[0] == "abc".ljust(20)
    assert parser.unknown == 2


def test_cd5220_upper_and_lower_lines() -> None:
    upper = b"TOTAL          12.50"
    assert len(upper) == 20
    parser = fed("cd5220", CD5220_UPPER + upper + b"\r" + CD5220_LOWER + b"Thank you\r")
    assert parser.screen.lines() == ["TOTAL          12.50", "Thank you".ljust(20)]
    assert parser.writes == 2


def test_cd5220_line_replaces_the_whole_line_and_drops_overflow() -> None:
    parser = fed("cd5220", CD5220_UPPER + b"x" * 25 + b"\r" + CD5220_UPPER + b"short\r")
    assert parser.screen.lines()[0] == "short".ljust(20)
    parser.feed(CD5220_LOWER + b"y" * 25 + b"\r")
    assert parser.screen.lines()[1] == "y" * 20


def test_cd5220_brightness_clear_init() -> None:
    parser = fed("cd5220", bytes.fromhex("1B 2A 01") + CD5220_UPPER + b"hi\r")
    assert parser.state() == (["hi".ljust(20), BLANK], 1)
    parser.feed(DMD_CLEAR)
    assert parser.screen.lines() == [BLANK, BLANK]
    parser.feed(bytes.fromhex("1B 2A 03") + DMD_INIT)
    assert parser.screen.brightness == 4


def test_cd5220_line_cut_off_by_escape_is_dropped() -> None:
    parser = fed("cd5220", CD5220_UPPER + b"lost" + CD5220_LOWER + b"kept\r")
    assert parser.screen.lines() == [BLANK, "kept".ljust(20)]
    assert parser.unknown == 1


def test_commands_split_across_feeds() -> None:
    data = DMD_CLEAR + DMD_CURSOR_COL1_ROW2 + b"split" + bytes.fromhex("1F 58 03")
    parser = DisplayParser("dmd")
    changed = [parser.feed(data[i : i + 1]) for i in range(len(data))]
    assert parser.state() == ([BLANK, "split".ljust(20)], 3)
    assert changed[1:4] == [False, False, False], "an incomplete cursor command changes nothing"


def test_text_is_cp437_above_ascii() -> None:
    parser = fed("dmd", b"\x9c5 \xe1 \x80")  # pound sign, sharp s, C cedilla in CP437
    assert parser.screen.lines()[0].rstrip() == "£5 ß Ç"


def test_unknown_bytes_and_commands_are_counted() -> None:
    parser = fed("dmd", b"\x01\x7f" + bytes.fromhex("1B 74 00") + bytes.fromhex("1F 01") + b"ok")
    # 01, 7F, ESC t and US 01 are unknown; ESC t's parameter 00 is an unknown byte of its own.
    assert parser.unknown == 5
    assert parser.screen.lines()[0] == "ok".ljust(20)


def test_each_protocol_ignores_the_others_commands() -> None:
    dmd = fed("dmd", CD5220_UPPER + b"x\r")
    assert dmd.screen.lines()[0].startswith("Ax"), "ESC Q is unknown to DM-D; the rest is text"
    cd = fed("cd5220", DMD_CURSOR_COL1_ROW2)
    assert cd.unknown == 3 and cd.screen.lines()[0].startswith("$"), "1F, 01, 02 unknown; 24 is text"


def test_other_sizes() -> None:
    parser = DisplayParser("dmd", columns=40, rows=4)
    parser.feed(bytes.fromhex("1F 24 28 04") + b"!")
    assert parser.screen.lines()[3] == " " * 39 + "!"
    with pytest.raises(ValueError, match="1x1"):
        DisplayParser("dmd", columns=0)
    with pytest.raises(ValueError, match="protocol"):
        DisplayParser("vt100")  # type: ignore[arg-type]


@settings(max_examples=400, deadline=1000)
@given(
    st.sampled_from(PROTOCOLS),
    st.binary(max_size=2000),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=4),
)
def test_arbitrary_bytes_never_raise_and_keep_the_size(
    protocol: DisplayProtocol, data: bytes, columns: int, rows: int
) -> None:
    parser = DisplayParser(protocol, columns, rows)
    parser.feed(data)
    lines = parser.screen.lines()
    assert len(lines) == rows
    assert all(len(line) == columns for line in lines)
    assert 0 <= parser.screen.x < columns and 0 <= parser.screen.y < rows


# Streams built from real commands are more likely to hit the states the fuzzing above misses.
pieces = st.sampled_from(
    [DMD_INIT, DMD_CLEAR, DMD_HOME, DMD_CURSOR_COL1_ROW2, CD5220_UPPER, CD5220_LOWER, b"\r", b"\n"]
    + [bytes.fromhex(h) for h in ("1F 24", "1F 58 04", "1B 2A 02", "1B 51", "1F", "1B")]
) | st.binary(max_size=8)


@settings(max_examples=300, deadline=1000)
@given(st.sampled_from(PROTOCOLS), st.lists(pieces, max_size=40), st.lists(st.integers(0, 400), max_size=20))
def test_chunking_does_not_change_the_result(
    protocol: DisplayProtocol, parts: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(parts)
    whole = fed(protocol, data)
    chunked = DisplayParser(protocol)
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        chunked.feed(data[start:cut])
        start = cut
    assert chunked.state() == whole.state()
    assert (chunked.writes, chunked.unknown) == (whole.writes, whole.unknown)
