"""Code pages, text encoding and the fixed-width layout of receipt lines."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import escpos
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.escpos import (
    CODEPAGES,
    codepage_for_language,
    columns_line,
    columns_lines,
    copy_banner_text,
    encode_text,
    printable_text,
    wrap_text,
)

LANGUAGES = {
    "cp852": ["bs", "hr", "sr", "sr-Latn", "sr-Latn-RS", "sl", "cs", "sk", "pl", "hu", "ro", "HR", "bs_BA"],
    "cp858": ["de", "de-AT", "fr", "es", "it", "nl", "pt", "pt-BR"],
    "cp866": ["ru", "uk", "bg", "mk", "sr-Cyrl", "sr-Cyrl-RS", "bs-Cyrl"],
    "cp437": ["en", "en-US", "xx", "", "zh-Hans", "ru-Latn"],
}


@pytest.mark.parametrize(
    ("page", "language"), [(p, lang) for p, langs in LANGUAGES.items() for lang in langs]
)
def test_language_table(page: str, language: str) -> None:
    assert codepage_for_language(language).name == page


def test_epson_numbers_match_python_escpos_capabilities() -> None:
    # escpos-printer-db, as bundled with python-escpos: the Epson numbers of ESC t n.
    capabilities = json.loads((Path(escpos.__file__).parent / "capabilities.json").read_text())
    for profile in ("default", "TM-T88V", "TM-T20II"):
        pages = capabilities["profiles"][profile]["codePages"]
        for page in CODEPAGES.values():
            assert pages[str(page.escpos_number)].replace("WPC", "CP").lower() == page.name, (profile, page)
    assert {p.name: p.escpos_number for p in CODEPAGES.values()} == {
        "cp437": 0,
        "cp850": 2,
        "cp1252": 16,
        "cp866": 17,
        "cp852": 18,
        "cp858": 19,
        "cp1250": 45,
        "cp1251": 46,
    }
    assert CODEPAGES["cp852"].select == bytes.fromhex("1B 74 12")


def test_encode_text_replaces_with_question_marks_and_never_raises() -> None:
    cp437, cp852 = CODEPAGES["cp437"], CODEPAGES["cp852"]
    assert encode_text("č ć đ š ž", cp852) == bytes.fromhex("9F 20 86 20 D0 20 E7 20 A7")
    assert encode_text("čaj €", cp437) == b"?aj ?"
    assert encode_text("\U0001f600", cp852) == b"?"
    assert encode_text("€", CODEPAGES["cp858"]) == b"\xd5"
    # NFC first: "c" + combining caron is the one CP852 byte of "č".
    assert encode_text("c\u030cevapi", cp852) == b"\x9fevapi"


@pytest.mark.parametrize("name", sorted(CODEPAGES))
def test_every_code_page_is_ascii_transparent(name: str) -> None:
    # encode_text and printable_text pass ASCII straight through; that is only right while
    # every code page we select maps 0x00-0x7F to ASCII.
    ascii_bytes = bytes(range(128))
    assert ascii_bytes.decode(CODEPAGES[name].python_codec) == ascii_bytes.decode("ascii")


@given(st.text(max_size=40), st.sampled_from(sorted(CODEPAGES)))
def test_encoding_matches_the_codec_for_any_text(text: str, name: str) -> None:
    page = CODEPAGES[name]
    expected = unicodedata.normalize("NFC", text).encode(page.python_codec, errors="replace")
    assert encode_text(text, page) == expected


def test_printable_text_keeps_one_character_per_cell() -> None:
    cp437, cp866 = CODEPAGES["cp437"], CODEPAGES["cp866"]
    assert printable_text("Čevapčići, đak, Łódź", cp437) == "Cevapcici, dak, Lódz"  # ó is in CP437
    assert printable_text("„Quote“ – dash", cp437) == '"Quote" - dash'
    assert printable_text("ǆ \U0001f600 Ж", cp437) == "? ? ?"
    assert printable_text("Жар", cp866) == "Жар"
    assert printable_text("c\u030c", CODEPAGES["cp852"]) == "č"


@given(st.text(max_size=60), st.sampled_from(sorted(CODEPAGES)))
def test_printable_text_always_encodes_one_byte_per_character(text: str, name: str) -> None:
    page = CODEPAGES[name]
    printed = printable_text(text, page)
    assert len(printed.encode(page.python_codec)) == len(printed)
    assert encode_text(printed, page) == printed.encode(page.python_codec)


def test_copy_banner_words() -> None:
    assert copy_banner_text("bs") == "*** KOPIJA ***"
    assert copy_banner_text("sr-Latn") == "*** KOPIJA ***"
    assert copy_banner_text("hr") == "*** KOPIJA ***"
    assert copy_banner_text("de-CH") == "*** KOPIE ***"
    assert copy_banner_text("en") == copy_banner_text("") == copy_banner_text("fr") == "*** COPY ***"


def test_wrap_text() -> None:
    assert wrap_text("  keeps  its spacing  ", 24) == ["  keeps  its spacing  "]
    assert wrap_text("", 24) == [""]
    assert wrap_text("one two three", 7) == ["one two", "three"]
    assert wrap_text("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert wrap_text(" " * 30, 24) == [""]


def test_columns_width_math() -> None:
    assert columns_lines("Milk 2 x 1.20", "2.40", 24) == ["Milk 2 x 1.20       2.40"]
    assert columns_lines("", "2.40", 24) == [" " * 20 + "2.40"]
    assert columns_lines("Exactly nineteen ch", "2.40", 24) == ["Exactly nineteen ch 2.40"]
    assert columns_lines("Exactly twenty chars", "2.40", 24) == ["Exactly twenty      2.40", "chars"]
    # A right text leaving under 8 characters of room gets a line of its own.
    assert columns_lines("Total", "1234567890123456.00", 24) == ["Total", "     1234567890123456.00"]
    assert columns_lines(" " * 30, "1.00", 24) == [" " * 20 + "1.00"]


@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=64),
    st.integers(24, 64),
)
def test_columns_never_overflow_and_keep_the_right_text(left: str, right: str, width: int) -> None:
    lines = columns_lines(left, right, width)
    assert lines and all(len(line) <= width for line in lines)
    # Nothing of either text is lost, only re-spaced.
    if len(right) + 1 + 8 <= width:
        assert lines[0].endswith(right) and len(lines[0]) == width
        left_part = [lines[0][: width - len(right)], *lines[1:]]
        assert "".join(left_part).replace(" ", "") == left.replace(" ", "")
    else:
        assert "".join(lines).replace(" ", "") == (left + right).replace(" ", "")


def test_columns_line_truncates_on_one_line() -> None:
    assert columns_line("Milk 2 x 1.20", "2.40", 24) == "Milk 2 x 1.20       2.40"
    long = columns_line("A very long product name that does not fit", "12.40", 24)
    assert long == "A very long produ~ 12.40"
