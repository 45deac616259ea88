"""Scanner framing: suffixes across read boundaries, AIM identifiers, limits, and fuzzing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.scanner import (
    ScanError,
    ScanFramer,
    ScanTooLong,
    Suffix,
    decode_line,
    strip_aim_identifier,
)

Event = str | tuple[str, bytes]


def events(framer: ScanFramer) -> list[Event]:
    """Every code waiting, with a rejected line shown as ("too long", head)."""
    out: list[Event] = []
    while True:
        try:
            code = framer.next_scan()
        except ScanTooLong as exc:
            out.append(("too long", exc.head))
            continue
        if code is None:
            return out
        out.append(code)


def run(chunks: list[bytes], **options: object) -> list[Event]:
    framer = ScanFramer(**options)  # type: ignore[arg-type]
    out: list[Event] = []
    for chunk in chunks:
        framer.feed(chunk)
        out += events(framer)
    return out


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
def test_auto_accepts_cr_lf_and_crlf(terminator: bytes) -> None:
    stream = b"4006381333931" + terminator + b"96385074" + terminator
    assert run([stream]) == ["4006381333931", "96385074"]


def test_crlf_split_between_reads_gives_one_code() -> None:
    assert run([b"123\r", b"\n456\r", b"\n"]) == ["123", "456"]
    assert run([b"123\r", b"\n456\r", b"\n"], suffix="crlf") == ["123", "456"]


def test_a_code_split_across_reads_waits_for_its_suffix() -> None:
    framer = ScanFramer()
    framer.feed(b"40063")
    assert framer.next_scan() is None
    framer.feed(b"81333931\r")
    assert framer.next_scan() == "4006381333931"
    assert framer.next_scan() is None


def test_fixed_suffixes() -> None:
    # With "cr" an LF is no terminator, just a control byte removed from the code.
    assert run([b"12\n34\r"], suffix="cr") == ["1234"]
    assert run([b"12\r34\n"], suffix="lf") == ["1234"]
    # With "crlf" a lone CR stays inside the line (and is removed as non-printable).
    assert run([b"12\r34\r\n"], suffix="crlf") == ["1234"]


def test_empty_and_blank_lines_are_dropped() -> None:
    assert run([b"\r\r\n\n  \r\x00\x07\rABC\r"]) == ["ABC"]


def test_non_printables_removed_and_latin1_decoded() -> None:
    assert decode_line(b"01\x1d09501101530003") == "0109501101530003"
    assert decode_line(b"Caf\xe9") == "Café"
    assert decode_line(b"\x00\x7f\x9f") == ""


def test_aim_identifier_stripped_only_when_asked() -> None:
    assert run([b"]E04006381333931\r"]) == ["]E04006381333931"]
    assert run([b"]E04006381333931\r"], strip_aim=True) == ["4006381333931"]
    assert run([b"]C1011234\r"], strip_aim=True) == ["011234"]
    # Not an identifier: "]" then a digit.
    assert strip_aim_identifier("]12345") == "]12345"
    assert strip_aim_identifier("]Q") == "]Q"
    # An identifier with nothing after it carries no code.
    assert run([b"]E0\r"], strip_aim=True) == []


def test_over_long_line_is_rejected_once_and_the_next_code_survives() -> None:
    long_line = b"9" * 200
    assert run([long_line + b"\rOK\r"], max_length=128) == [("too long", b"9" * 32), "OK"]
    # Fed in pieces the error comes as soon as the limit is passed, and the rest of the line
    # up to its terminator is skipped without a second error.
    pieces = [long_line[:100], long_line[100:150], long_line[150:], b"\r", b"OK\r"]
    assert run(pieces, max_length=128) == [("too long", b"9" * 32), "OK"]


def test_limit_counts_the_code_not_the_aim_identifier() -> None:
    code = b"1" * 10
    assert run([b"]E0" + code + b"\r"], max_length=10, strip_aim=True) == ["1" * 10]
    # The head of a rejected line is its first limit + 1 bytes (at most 32).
    assert run([b"]E0" + code + b"\r"], max_length=10) == [("too long", b"]E0" + code[:8])]
    assert run([code + b"\r"], max_length=10) == ["1" * 10]
    assert run([code + b"1\r"], max_length=10) == [("too long", code + b"1")]


def test_codes_before_a_rejected_line_stay_queued() -> None:
    framer = ScanFramer(max_length=4)
    framer.feed(b"AB\rTOOLONG\rCD\r")
    assert framer.next_scan() == "AB"
    with pytest.raises(ScanTooLong):
        framer.next_scan()
    assert framer.next_scan() == "CD"
    assert framer.next_scan() is None


def test_memory_stays_bounded_without_a_terminator() -> None:
    framer = ScanFramer(max_length=16)
    for _ in range(1000):
        framer.feed(b"x" * 100)
    assert len(framer._pending) <= 16
    assert events(framer) == [("too long", b"x" * 17)]


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="suffix"):
        ScanFramer(suffix="tab")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length"):
        ScanFramer(max_length=0)


SUFFIXES: list[Suffix] = ["auto", "cr", "lf", "crlf"]
# Streams rich in the bytes that matter to framing, plus anything else.
stream_bytes = st.lists(
    st.one_of(
        st.sampled_from([b"\r", b"\n", b"\r\n", b"]E0", b"12345", b"\x1d", b" "]), st.binary(max_size=8)
    ),
    max_size=40,
).map(b"".join)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=300)
@given(
    data=stream_bytes,
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
    suffix=st.sampled_from(SUFFIXES),
    max_length=st.integers(min_value=1, max_value=24),
    strip_aim=st.booleans(),
)
def test_any_chunking_gives_the_same_codes(
    data: bytes, cuts: list[int], suffix: Suffix, max_length: int, strip_aim: bool
) -> None:
    options = {"suffix": suffix, "max_length": max_length, "strip_aim": strip_aim}
    whole = run([data], **options)
    assert run(chunked(data, cuts), **options) == whole
    assert run([bytes([b]) for b in data], **options) == whole
    for item in whole:
        if isinstance(item, str):
            assert item and item.isprintable() and len(item) <= max_length


@settings(max_examples=300)
@given(
    chunks=st.lists(st.binary(max_size=64), max_size=20),
    suffix=st.sampled_from(SUFFIXES),
    max_length=st.integers(min_value=1, max_value=200),
    strip_aim=st.booleans(),
)
def test_arbitrary_bytes_raise_only_the_typed_error(
    chunks: list[bytes], suffix: Suffix, max_length: int, strip_aim: bool
) -> None:
    framer = ScanFramer(suffix=suffix, max_length=max_length, strip_aim=strip_aim)
    for chunk in chunks:
        framer.feed(chunk)
        for _ in range(len(chunk) + 2):
            try:
                if framer.next_scan() is None:
                    break
            except ScanError:
                continue
        assert len(framer._pending) <= max_length + 3 + 1
