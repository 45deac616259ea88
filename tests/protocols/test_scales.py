"""Scale codecs: golden vectors from the reference sheet and public manuals, round trips, fuzzing.

The golden bytes here are written out by hand from ``shared/reference/device-protocols.md``
("Scales") and the manuals cited in each codec's docstring, never produced by our encoders.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.scales import cas, sics, toledo
from protocols.scales.common import (
    FrameError,
    ScaleProtocolError,
    UnitError,
    from_milligrams,
    to_milligrams,
)

# The sheet's regex for a Toledo weight answer, as printed there.
TOLEDO_REGEX = re.compile(rb"\x02\s*([0-9.]+)N?\r")


def drain(parser: toledo.ToledoParser | sics.SicsParser | cas.CasParser) -> list[Any]:
    """Every ``(message, raw)`` waiting, errors shown as ``(error class name, message)``."""
    out: list[Any] = []
    while True:
        try:
            item = parser.next()
        except ScaleProtocolError as exc:
            out.append((type(exc).__name__, str(exc)))
            continue
        if item is None:
            return out
        out.append(item)


# -- Toledo 8217 --------------------------------------------------------------------------
def test_toledo_requests_are_single_letters_without_terminator() -> None:
    assert (toledo.WEIGH, toledo.ZERO) == (b"\x57", b"\x5a")
    assert toledo.handshake() == b"Ehello"


@pytest.mark.parametrize(
    ("frame", "text", "net"),
    [
        (b"\x0201.234\r", "01.234", False),
        (b"\x02  1.50\r", "1.50", False),
        (b"\x0200.500N\r", "00.500", True),
    ],
)
def test_toledo_weight_answers_match_the_sheet_regex(frame: bytes, text: str, net: bool) -> None:
    match = TOLEDO_REGEX.fullmatch(frame)
    assert match is not None and match.group(1).decode() == text
    answer = toledo.decode_frame(frame)
    assert answer == toledo.ToledoWeight(text, Decimal(text), net=net)
    assert toledo.to_reading(answer, "kg", frame).milligrams == to_milligrams(Decimal(text), "kg")


def test_toledo_encoded_weight_matches_the_sheet_regex() -> None:
    frame = toledo.encode_weight(Decimal("1.234"), 3)
    assert frame == bytes.fromhex("02 30 31 2E 32 33 34 0D")
    assert TOLEDO_REGEX.fullmatch(frame)


@pytest.mark.parametrize(
    ("byte", "flag"),
    [
        (0x61, "motion"),  # bit 0 (bits 5 and 6 always set)
        (0x62, "over_capacity"),  # bit 1
        (0x64, "under_zero"),  # bit 2
        (0x68, "outside_zero_capture"),  # bit 3
        (0x70, "centre_of_zero"),  # bit 4
        (0xE1, "motion"),  # bit 7 is the 7E1 parity bit: ignored
    ],
)
def test_toledo_status_bits(byte: int, flag: str) -> None:
    status = toledo.decode_frame(bytes([0x02, 0x3F, byte, 0x0D]))
    assert isinstance(status, toledo.ToledoStatus)
    flags = ("motion", "over_capacity", "under_zero", "outside_zero_capture", "centre_of_zero")
    assert [name for name in flags if getattr(status, name)] == [flag]
    assert toledo.encode_status(toledo.ToledoStatus.of(**{flag: True})) == bytes(
        [0x02, 0x3F, byte & 0x7F, 0x0D]
    )


def test_toledo_status_becomes_an_unstable_reading_without_weight() -> None:
    frame = bytes.fromhex("02 3F 63 0D")  # motion and over capacity
    status = toledo.decode_frame(frame)
    assert status == toledo.ToledoStatus(0x63)
    reading = toledo.to_reading(status, "kg", frame)
    assert (reading.milligrams, reading.stable, reading.overload, reading.underload) == (
        0,
        False,
        True,
        False,
    )
    assert reading.raw == "<02>?c<0D>"


def test_toledo_handshake_answer_and_echo() -> None:
    parser = toledo.ToledoParser()
    for byte in b"\x02E\rhello\x02F\r":  # one byte per read: the echo is still one message
        parser.feed(bytes([byte]))
    assert [m for m, _ in drain(parser)] == [
        toledo.ToledoAck("E"),
        toledo.ToledoEcho(b"hello"),
        toledo.ToledoAck("F"),
    ]


def test_toledo_implied_decimals_only_without_a_point() -> None:
    plain = toledo.decode_frame(b"\x0201234\r")
    assert isinstance(plain, toledo.ToledoWeight)
    assert toledo.to_reading(plain, "kg", b"", decimals=3).milligrams == 1_234_000
    assert toledo.to_reading(plain, "g", b"").milligrams == 1_234_000
    pointed = toledo.decode_frame(b"\x021.5\r")
    assert isinstance(pointed, toledo.ToledoWeight)
    assert toledo.to_reading(pointed, "lb", b"", decimals=3).milligrams == 680_389  # 1.5 lb


@pytest.mark.parametrize(
    "frame", [b"\x02\r", b"\x02?\x20\r", b"\x02?ab\r", b"\x02..\r", b"\x021.2.3\r", b"\x02W\r", b"02 1\r"]
)
def test_toledo_bad_frames(frame: bytes) -> None:
    with pytest.raises(FrameError):
        toledo.decode_frame(frame)


def test_toledo_parser_resyncs_after_broken_and_long_frames() -> None:
    parser = toledo.ToledoParser()
    parser.feed(b"\x0201.2\x0202.000\r" + b"\x02" + b"9" * 40 + b"\r\x02?a\r")
    items = drain(parser)
    assert items[0][0] == "FrameError"
    assert items[1][0] == toledo.ToledoWeight("02.000", Decimal("2.000"))
    assert items[2][0] == "FrameTooLong"
    assert items[3][0] == toledo.ToledoStatus(0x61)


# -- MT-SICS ------------------------------------------------------------------------------
def test_sics_commands_end_in_crlf() -> None:
    assert [sics.SEND_STABLE, sics.SEND_IMMEDIATE, sics.ZERO, sics.TARE, sics.RESET] == [
        b"S\r\n",
        b"SI\r\n",
        b"Z\r\n",
        b"T\r\n",
        b"@\r\n",
    ]


GOLDEN_SICS = [
    (b"S S     100.00 g", sics.SicsWeight("S", False, Decimal("100.00"), "g")),  # the sheet's example
    (b"S D     100.02 g", sics.SicsWeight("S", True, Decimal("100.02"), "g")),
    (b"S S      -1.235 kg", sics.SicsWeight("S", False, Decimal("-1.235"), "kg")),
    (b"S I", sics.SicsStatus("S", "I")),
    (b"S +", sics.SicsStatus("S", "+")),
    (b"S -", sics.SicsStatus("S", "-")),
    (b"Z A", sics.SicsStatus("Z", "A")),
    (b"Z I", sics.SicsStatus("Z", "I")),
    (b"Z +", sics.SicsStatus("Z", "+")),
    (b"T S     250.00 g", sics.SicsWeight("T", False, Decimal("250.00"), "g")),
    (b"T -", sics.SicsStatus("T", "-")),
    (b'I4 A "B123456789"', sics.SicsData("I4", "A", ("B123456789",))),
    (b"ES", sics.SicsError("ES")),
    (b"ET", sics.SicsError("ET")),
    (b"EL", sics.SicsError("EL")),
]


@pytest.mark.parametrize(("line", "reply"), GOLDEN_SICS)
def test_sics_golden_answers(line: bytes, reply: sics.SicsReply) -> None:
    assert sics.decode_line(line) == reply


def test_sics_weight_encoding_is_the_manual_layout() -> None:
    assert sics.encode_weight("S", "S", Decimal("100.00"), "g") == b"S S     100.00 g\r\n"
    reading = sics.to_reading(sics.SicsWeight("S", True, Decimal("100.00"), "g"), b"")
    assert (reading.milligrams, reading.stable, reading.unit) == (100_000, False, "g")


@pytest.mark.parametrize(
    "line", [b"S S", b"S S 1", b"S S x g", b"S S 1 2 3", b'S "', b"s S 1 g", b"S\tS 1 g", b"S SS 1 g", b""]
)
def test_sics_bad_lines(line: bytes) -> None:
    with pytest.raises(FrameError):
        sics.decode_line(line)


def test_sics_parser_takes_lf_or_crlf_and_bounds_lines() -> None:
    parser = sics.SicsParser()
    parser.feed(b"Z A\r\nS I\n" + b"X" * 200 + b"\r\nS +\r\n")
    items = drain(parser)
    assert [items[0][0], items[1][0], items[3][0]] == [
        sics.SicsStatus("Z", "A"),
        sics.SicsStatus("S", "I"),
        sics.SicsStatus("S", "+"),
    ]
    assert items[2][0] == "FrameTooLong"


def test_sics_device_side_command_parsing() -> None:
    assert sics.parse_command(b"SI") == sics.SicsCommand("SI")
    assert sics.parse_command(b"T 1") == sics.SicsCommand("T", ("1",))
    for bad in (b"", b"s", b"S\x00"):
        with pytest.raises(FrameError):
            sics.parse_command(bad)


# -- CAS ECR type 6 -----------------------------------------------------------------------
# 1.500 kg, stable, by hand: S^' '^'0'^'1'^'.'^'5'^'0'^'0'^'k'^'g' = 53^20^30^31^2E^35^30^30^6B^67 = 65
CAS_STABLE = bytes.fromhex("01 02 53 20 30 31 2E 35 30 30 6B 67 65 03 04")


def test_cas_exchange_bytes() -> None:
    assert (cas.ENQ, cas.ACK, cas.DC1, cas.NAK) == (0x05, 0x06, 0x11, 0x15)


def test_cas_golden_frame() -> None:
    weight = cas.decode_frame(CAS_STABLE)
    assert weight == cas.CasWeight(stable=True, sign=" ", text="01.500", value=Decimal("1.500"), unit="kg")
    reading = cas.to_reading(weight, CAS_STABLE)
    assert (reading.milligrams, reading.stable, reading.overload) == (1_500_000, True, False)
    assert cas.encode_weight(Decimal("1.500"), decimals=3, unit="kg", stable=True) == CAS_STABLE


def test_cas_bcc_covers_sta_to_u0_which_equals_soh_to_etx() -> None:
    data = CAS_STABLE[2:12]
    assert cas.bcc(data) == CAS_STABLE[12]
    # SOH ^ STX ^ ETX == 0, so XOR over SOH..ETX (without the BCC) gives the same value.
    assert functools.reduce(operator.xor, CAS_STABLE[:12] + CAS_STABLE[13:14], 0) == CAS_STABLE[12]


def test_cas_sign_unstable_and_overload() -> None:
    negative = cas.encode_frame(stable=False, sign="-", text="00.250", unit="kg")
    weight = cas.decode_frame(negative)
    assert (weight.stable, weight.value, cas.to_reading(weight, negative).milligrams) == (
        False,
        Decimal("-0.250"),
        -250_000,
    )
    over = cas.encode_frame(stable=True, sign="F", text="------", unit="KG")
    reading = cas.to_reading(cas.decode_frame(over), over)
    assert (reading.overload, reading.stable, reading.milligrams, reading.unit) == (True, False, 0, "kg")


@pytest.mark.parametrize(
    ("index", "value"),
    [(0, 0x00), (1, 0x03), (13, 0x04), (14, 0x03), (12, 0x00), (2, ord("X")), (3, ord("+")), (5, ord("A"))],
)
def test_cas_bad_frames(index: int, value: int) -> None:
    frame = bytearray(CAS_STABLE)
    frame[index] = value
    if index in range(2, 12):
        frame[12] = cas.bcc(bytes(frame[2:12]))  # a right BCC, so the field itself is judged
    with pytest.raises(FrameError):
        cas.decode_frame(bytes(frame))


def test_cas_parser_reads_ack_nak_frames_and_reports_strays() -> None:
    parser = cas.CasParser()
    parser.feed(b"\x06" + CAS_STABLE[:7])
    parser.feed(CAS_STABLE[7:] + b"\x15\x7f")
    items = drain(parser)
    assert [items[0][0], items[1][0], items[2][0]] == [
        cas.CasAck(),
        cas.decode_frame(CAS_STABLE),
        cas.CasNak(),
    ]
    assert items[3][0] == "FrameError"


def test_cas_parser_finds_a_frame_after_a_broken_one() -> None:
    broken = CAS_STABLE[:12] + b"\x00" + CAS_STABLE[13:]
    parser = cas.CasParser()
    parser.feed(broken[:5] + CAS_STABLE)  # a frame cut short, then a whole one
    items = drain(parser)
    assert items[0][0] == "FrameError" and items[-1] == (cas.decode_frame(CAS_STABLE), CAS_STABLE)


# -- units ----------------------------------------------------------------------------------
def test_units_are_exact() -> None:
    assert to_milligrams(Decimal(1), "lb") == 453_592  # 453.59237 g
    assert to_milligrams(Decimal(1), "oz") == 28_350  # 28.349523125 g, half-even to the mg
    assert to_milligrams(Decimal("0.0005"), "g") == 0 and to_milligrams(Decimal("0.0015"), "g") == 2
    assert from_milligrams(1_234_500, "kg", 3) == Decimal("1.234")  # half-even on the display
    with pytest.raises(UnitError):
        to_milligrams(Decimal(1), "ct")


# -- fuzzing ------------------------------------------------------------------------------
def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


PARSERS = (toledo.ToledoParser, sics.SicsParser, cas.CasParser)
# Noise biased toward each protocol's control bytes, so the fuzzing reaches the framing code.
noise = st.binary(max_size=300) | st.lists(
    st.sampled_from(
        [b"\x01", b"\x02", b"\x03", b"\x04", b"\x06", b"\x15", b"\r", b"\n", b"?a", b"S S 1 g", b" ", b"F"]
    )
    | st.binary(max_size=4),
    max_size=60,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(data=noise, cuts=st.lists(st.integers(min_value=0), max_size=12), which=st.sampled_from(PARSERS))
def test_parsers_are_chunking_independent_and_raise_only_typed_errors(
    data: bytes, cuts: list[int], which: type[toledo.ToledoParser | sics.SicsParser | cas.CasParser]
) -> None:
    whole = which()
    whole.feed(data)
    pieces = which()
    for chunk in chunked(data, cuts):
        pieces.feed(chunk)
    assert drain(whole) == drain(pieces)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_decoders_raise_only_typed_errors(data: bytes) -> None:
    for decode in (toledo.decode_frame, sics.decode_line, cas.decode_frame, sics.parse_command):
        with contextlib.suppress(ScaleProtocolError):
            decode(data)
    for frame in (b"\x02" + data + b"\r", b"\x01\x02" + data[:10].ljust(10, b" ") + b"\x00\x03\x04"):
        for decode_frame in (toledo.decode_frame, cas.decode_frame):
            with contextlib.suppress(ScaleProtocolError):
                decode_frame(frame)


weights = st.decimals(min_value=0, max_value=Decimal("99.999"), places=3)


@given(value=weights, motion=st.booleans(), over=st.booleans())
def test_round_trips(value: Decimal, motion: bool, over: bool) -> None:
    frame = toledo.encode_weight(value, 3)
    assert toledo.decode_frame(frame) == toledo.ToledoWeight(toledo.format_weight(value, 3), value)
    status = toledo.ToledoStatus.of(motion=motion, over_capacity=over)
    assert toledo.decode_frame(toledo.encode_status(status)) == status
    line = sics.encode_weight("S", "D" if motion else "S", -value, "kg")
    assert sics.decode_line(line[:-2]) == sics.SicsWeight("S", motion, -value, "kg")
    frame = cas.encode_weight(-value, decimals=3, unit="kg", stable=not motion, overload=over)
    decoded = cas.decode_frame(frame)
    assert (decoded.stable, decoded.overload) == (not motion, over)
    assert decoded.value == (value if over else -value) or (value == 0 and decoded.value == 0)
