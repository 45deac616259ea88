"""Datecs X framing against the reference sheet's golden vector, round trips, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.fiscal import datecs_x as dx
from protocols.fiscal.errors import FieldError, FiscalProtocolError, FrameError

GOLDEN_DEVICE_INFO = bytes.fromhex("01 30 30 32 3B 21 30 30 35 3A 31 05 30 31 3F 33 03")


def test_device_info_request_matches_the_golden_vector() -> None:
    assert dx.encode_request(dx.Request(seq=0x21, cmd=dx.DEVICE_INFO, data=b"1")) == GOLDEN_DEVICE_INFO


def test_golden_vector_decodes_as_a_request() -> None:
    assert dx.decode_request(GOLDEN_DEVICE_INFO) == dx.Request(seq=0x21, cmd=0x5A, data=b"1")
    assert dx.DeviceParser().feed(GOLDEN_DEVICE_INFO) == [dx.Request(seq=0x21, cmd=0x5A, data=b"1")]


def test_reply_carries_error_code_fields_and_status() -> None:
    status = dx.encode_status({"paper_near_end", "fiscalised", "vat_set", "formatted"})
    reply = dx.Reply(seq=0x22, cmd=dx.CLOSE_RECEIPT, data=dx.params("0", "123"), status=status)
    frame = dx.encode_reply(reply)
    # LEN counts LEN..05: 4 + 1 + 4 + len("0\t123\t") + 1 + 8 + 1 = 25 -> 0x39.
    assert frame[1:5] == b"0039"
    decoded = dx.decode_reply(frame)
    assert decoded == reply
    assert decoded.error_code == 0 and decoded.fields() == ["0", "123"]
    assert dx.status_flags(decoded.status) == {"paper_near_end", "fiscalised", "vat_set", "formatted"}


def test_negative_error_code_is_read() -> None:
    reply = dx.Reply(seq=0x22, cmd=0x31, data=dx.params("-111016"), status=dx.encode_status(set()))
    assert dx.decode_reply(dx.encode_reply(reply)).error_code == -111016


def test_control_bytes_escape_and_stay_out_of_data() -> None:
    data = b"A\x04B\x05C\x10D\tE"
    frame = dx.encode_request(dx.Request(seq=0x20, cmd=dx.COMMENT, data=data))
    inner = frame[10:-6]
    assert inner == b"A\x10\x44B\x10\x45C\x10\x50D\tE"
    assert dx.decode_request(frame).data == data


def test_checksum_damage_is_reported_not_raised_by_the_parser_and_it_resyncs() -> None:
    good = dx.encode_reply(dx.Reply(seq=0x23, cmd=0x4A, data=b"0\t", status=dx.encode_status(set())))
    damaged = bytearray(good)
    damaged[-3] ^= 0x01
    parser = dx.HostParser()
    items = parser.feed(b"\xff\xfe" + bytes(damaged) + bytes([dx.SYN]) + good[:7])
    assert isinstance(items[0], dx.Corrupt) and isinstance(items[1], dx.Corrupt)
    assert items[2] == dx.Control(dx.SYN)
    assert parser.feed(good[7:]) == [dx.decode_reply(good)]


def test_bad_fields_and_sequence_numbers_are_refused() -> None:
    with pytest.raises(FieldError):
        dx.params("a\tb")
    with pytest.raises(FieldError):
        dx.encode_request(dx.Request(seq=0x1F, cmd=0x4A))
    with pytest.raises(FieldError):
        dx.encode_request(dx.Request(seq=0x20, cmd=0x31, data=b"x" * 214))
    with pytest.raises(FrameError):
        dx.decode_reply(GOLDEN_DEVICE_INFO)  # a request has no status


def test_sequence_wraps() -> None:
    assert dx.next_seq(0x7F) == 0x20 and dx.next_seq(0x20) == 0x21


@given(st.binary(max_size=300))
def test_decoders_raise_only_typed_errors(data: bytes) -> None:
    for decode in (dx.decode_reply, dx.decode_request):
        # Anything but the codec's own errors escaping here fails the test.
        with contextlib.suppress(FiscalProtocolError):
            decode(data)


@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 20))
def test_parsers_never_raise_and_find_a_frame_after_any_noise(chunks: list[bytes], step: int) -> None:
    reply = dx.Reply(seq=0x30, cmd=0x4C, data=b"0\t1\t", status=dx.encode_status({"vat_set"}))
    # Noise without a frame start cannot swallow the frame that follows it.
    noise = b"".join(chunks).replace(bytes([dx.PRE]), b"")
    stream = noise + dx.encode_reply(reply)
    parser = dx.HostParser()
    items = [item for i in range(0, len(stream), step) for item in parser.feed(stream[i : i + step])]
    assert items[-1] == reply
    assert all(isinstance(item, dx.Control | dx.Corrupt) for item in items[:-1])
    dx.DeviceParser().feed(b"".join(chunks))  # arbitrary bytes: no exception


@given(st.integers(0x20, 0x7F), st.integers(0, 0xFFFF), st.binary(max_size=100))
def test_request_round_trip(seq: int, cmd: int, data: bytes) -> None:
    frame = dx.encode_request(dx.Request(seq=seq, cmd=cmd, data=data))
    assert dx.DeviceParser().feed(frame) == [dx.Request(seq=seq, cmd=cmd, data=data)]
