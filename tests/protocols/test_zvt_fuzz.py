"""Hypothesis: every ZVT decoder returns a value or raises ZvtError, never anything else; the
stream parsers never raise at all; encoders and decoders round-trip."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.payments import zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.errors import ZvtError
from protocols.payments.zvt_bmp import (
    bcd_decode,
    decode_bmps,
    decode_pan,
    decode_tlv,
    decode_var,
    encode_bmps,
)
from protocols.payments.zvt_frame import (
    Apdu,
    ApduParser,
    Control,
    Corrupt,
    FrameParser,
    decode_apdu,
    decode_frame,
    encode_apdu,
    encode_frame,
)

COMMANDS = [
    (0x80, 0x00), (0x84, 0x83), (0x04, 0xFF), (0x04, 0x0F), (0x06, 0xD1), (0x06, 0xD3), (0x06, 0x0F),
    (0x06, 0x1E), (0x06, 0x00), (0x06, 0x01), (0x06, 0x20), (0x06, 0x30), (0x06, 0x31), (0x06, 0x50),
    (0x05, 0x01), (0x06, 0xB0), (0x06, 0x02), (0x08, 0x50),
]  # fmt: skip
apdus = st.builds(
    lambda command, data: Apdu(command[0], command[1], data),
    st.sampled_from(COMMANDS),
    st.binary(max_size=300),
)
# Bytes that look like BMP data: known tags mixed with junk, so parsers go deep.
bmp_like = st.lists(
    st.one_of(
        st.binary(max_size=6),
        st.sampled_from(
            [b"\x27\x00", b"\x04", b"\x22\xf1\xf1", b"\x06\x81", b"\x3c\xf0\xf1", b"\x8b\xf0\xf5"]
        ),
    ),
    max_size=12,
).map(b"".join)


def _typed(call: object) -> None:
    """Call and accept only a value or ZvtError."""
    assert callable(call)
    with contextlib.suppress(ZvtError):
        call()


@given(st.binary(max_size=600))
def test_decode_apdu_and_frame_raise_only_zvt_errors(data: bytes) -> None:
    _typed(lambda: decode_apdu(data))
    _typed(lambda: decode_frame(data))


@given(bmp_like)
def test_field_decoders_raise_only_zvt_errors(data: bytes) -> None:
    _typed(lambda: decode_bmps(data))
    _typed(lambda: decode_tlv(data))
    _typed(lambda: decode_var(data, 0, 2))
    _typed(lambda: decode_var(data, 0, 3))
    _typed(lambda: bcd_decode(data))
    _typed(lambda: decode_pan(data))


@given(apdus, st.booleans())
def test_message_and_command_parsers_raise_only_zvt_errors(apdu: Apdu, after_enquiry: bool) -> None:
    _typed(lambda: msg.parse_message(apdu, after_status_enquiry=after_enquiry))
    _typed(lambda: zvt.parse_command(apdu))


@given(st.sampled_from(COMMANDS), bmp_like)
def test_message_parsers_on_bmp_shaped_data(command: tuple[int, int], data: bytes) -> None:
    apdu = Apdu(command[0], command[1], data)
    _typed(lambda: msg.parse_message(apdu))
    _typed(lambda: zvt.parse_command(apdu))


@given(st.binary(max_size=800), st.lists(st.integers(1, 64), max_size=20))
def test_stream_parsers_never_raise(data: bytes, cuts: list[int]) -> None:
    tcp, serial = ApduParser(), FrameParser()
    at = 0
    for size in [*cuts, len(data)]:
        chunk = data[at : at + size]
        at += size
        assert all(isinstance(item, Apdu) for item in tcp.feed(chunk))
        assert all(isinstance(item, Apdu | Control | Corrupt) for item in serial.feed(chunk))


@settings(max_examples=200)
@given(
    st.lists(apdus, min_size=1, max_size=5), st.binary(max_size=8), st.lists(st.integers(1, 40), max_size=30)
)
def test_frames_survive_noise_and_any_chunking(frames: list[Apdu], noise: bytes, cuts: list[int]) -> None:
    # Noise never contains a DLE here: a stray DLE could legitimately swallow a frame start.
    noise = noise.replace(b"\x10", b"")
    stream = noise + b"".join(encode_frame(apdu) for apdu in frames)
    parser = FrameParser()
    items: list[Apdu | Control | Corrupt] = []
    at = 0
    for size in [*cuts, len(stream)]:
        items += parser.feed(stream[at : at + size])
        at += size
    assert [item for item in items if isinstance(item, Apdu)] == frames


@given(apdus)
def test_apdu_round_trip(apdu: Apdu) -> None:
    assert decode_apdu(encode_apdu(apdu)) == apdu
    assert decode_frame(encode_frame(apdu)) == apdu


@given(
    st.integers(0, 999_999_999_999),
    st.integers(1, 999),
    st.integers(0, 255) | st.none(),
    st.integers(0, 255) | st.none(),
)
def test_authorization_round_trip(
    amount: int, currency: int, payment_type: int | None, infos: int | None
) -> None:
    apdu = zvt.authorization(amount, currency=currency, payment_type=payment_type, max_status_infos=infos)
    assert zvt.parse_command(apdu) == zvt.Authorization(amount, currency, payment_type, infos)


@given(st.lists(st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=40), max_size=8))
def test_text_block_round_trip(lines: list[str]) -> None:
    parsed = msg.parse_message(msg.text_block(lines))
    assert isinstance(parsed, msg.TextBlock) and list(parsed.lines) == lines


@given(st.binary(max_size=200))
def test_tlv_container_in_a_completion(value: bytes) -> None:
    apdu = Apdu(0x06, 0x0F, encode_bmps([(0x06, value)]))
    _typed(lambda: msg.parse_message(apdu))
