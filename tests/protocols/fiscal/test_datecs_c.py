"""Datecs C framing against the reference sheet's golden vector, round trips, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.fiscal import datecs_c as dc
from protocols.fiscal.errors import FieldError, FiscalProtocolError, FrameError

# Device info request: LEN 0x25, SEQ 0x21, CMD 0x5A, DATA "1", BCC 0x00D6.
GOLDEN_DEVICE_INFO = bytes.fromhex("01 25 21 5A 31 05 30 30 3D 36 03")
STATUS = dc.encode_status({"fiscalised", "formatted", "vat_set"})


def test_device_info_request_matches_the_golden_vector() -> None:
    assert dc.encode_request(dc.Request(seq=0x21, cmd=dc.DEVICE_INFO, data=b"1")) == GOLDEN_DEVICE_INFO


def test_golden_vector_decodes_as_a_request() -> None:
    request = dc.Request(seq=0x21, cmd=0x5A, data=b"1")
    assert dc.decode_request(GOLDEN_DEVICE_INFO) == request
    assert dc.DeviceParser().feed(GOLDEN_DEVICE_INFO) == [request]
    with pytest.raises(FrameError):
        dc.decode_reply(GOLDEN_DEVICE_INFO)  # a request has no status


def test_reply_layout_fields_and_status() -> None:
    reply = dc.Reply(seq=0x22, cmd=dc.CLOSE_RECEIPT, data=b"12,3", status=STATUS)
    frame = dc.encode_reply(reply)
    # LEN counts LEN..05: 3 + 4 (DATA) + 1 (04) + 6 (status) + 1 (05) = 15 -> 0x2F.
    assert frame[:4] == bytes((0x01, 0x2F, 0x22, 0x38))
    assert frame[4:9] == b"12,3\x04" and frame[15] == dc.PST and frame[-1] == dc.EOT
    decoded = dc.decode_reply(frame)
    assert decoded == reply and decoded.fields() == ["12", "3"]
    assert dc.status_flags(decoded.status) == {"fiscalised", "formatted", "vat_set"}


def test_status_bits_follow_the_manual() -> None:
    status = dc.encode_status({"syntax_error", "general_error", "storno_receipt_open", "switch_3", "fm_full"})
    assert status == bytes((0xA1, 0x90, 0x80, 0x84, 0x90, 0x80))
    assert dc.status_flags(status) == {
        "syntax_error",
        "general_error",
        "storno_receipt_open",
        "switch_3",
        "fm_full",
    }
    with pytest.raises(FieldError):
        dc.encode_status({"no_such_flag"})
    with pytest.raises(FrameError):
        dc.status_flags(b"\x80" * 8)


def test_sale_separators_travel_as_data_and_control_bytes_do_not() -> None:
    data = "Milk\nfresh\tБ2.50*2".encode("cp1251")
    assert dc.decode_request(dc.encode_request(dc.Request(0x20, dc.SALE, data))).data == data
    for bad in (b"A\x05B", b"\x01", b"x\x03"):
        with pytest.raises(FieldError):
            dc.encode_request(dc.Request(0x20, dc.COMMENT, bad))
    with pytest.raises(FieldError):
        dc.params("a,b")
    assert dc.params("1", "0000", 1) == b"1,0000,1"


def test_limits_are_refused() -> None:
    with pytest.raises(FieldError):
        dc.encode_request(dc.Request(0x1F, dc.STATUS))
    with pytest.raises(FieldError):
        dc.encode_request(dc.Request(0x20, 0x80))
    with pytest.raises(FieldError):
        dc.encode_request(dc.Request(0x20, dc.COMMENT, b"x" * (dc.MAX_DATA + 1)))
    assert dc.encode_request(dc.Request(0x20, dc.COMMENT, b"x" * dc.MAX_DATA))[1] == 0x20 + 4 + dc.MAX_DATA
    with pytest.raises(FieldError):
        dc.encode_reply(dc.Reply(0x20, dc.STATUS, b"x" * (dc.MAX_REPLY_DATA + 1), STATUS))
    assert dc.encode_reply(dc.Reply(0x20, dc.STATUS, b"x" * dc.MAX_REPLY_DATA, STATUS))[1] == 0xFF
    with pytest.raises(FieldError):
        dc.encode_reply(dc.Reply(0x20, dc.STATUS, b"", b"\x00" * 6))


def test_damage_is_reported_not_raised_and_the_parser_resyncs() -> None:
    good = dc.encode_reply(dc.Reply(0x23, dc.STATUS, b"", STATUS))
    damaged = bytearray(good)
    damaged[-2] ^= 0x01
    parser = dc.HostParser()
    items = parser.feed(b"\xff\xfe" + bytes(damaged) + bytes((dc.SYN, dc.NAK)) + good[:5])
    assert isinstance(items[0], dc.Corrupt) and isinstance(items[1], dc.Corrupt)
    assert items[2:] == [dc.Control(dc.SYN), dc.Control(dc.NAK)]
    assert parser.feed(good[5:]) == [dc.decode_reply(good)]


def test_sequence_wraps() -> None:
    assert dc.next_seq(0x7F) == 0x20 and dc.next_seq(0x20) == 0x21


@given(st.binary(max_size=300))
def test_decoders_raise_only_typed_errors(data: bytes) -> None:
    for decode in (dc.decode_reply, dc.decode_request):
        with contextlib.suppress(FiscalProtocolError):
            decode(data)


@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 20))
def test_parsers_never_raise_and_find_a_frame_after_any_noise(chunks: list[bytes], step: int) -> None:
    reply = dc.Reply(seq=0x30, cmd=dc.TRANSACTION_STATUS, data=b"1,2,+00000590", status=STATUS)
    noise = b"".join(chunks).replace(bytes([dc.PRE]), b"")  # noise cannot start a frame
    stream = noise + dc.encode_reply(reply)
    parser = dc.HostParser()
    items = [item for i in range(0, len(stream), step) for item in parser.feed(stream[i : i + step])]
    assert items[-1] == reply
    assert all(isinstance(item, dc.Control | dc.Corrupt) for item in items[:-1])
    dc.DeviceParser().feed(b"".join(chunks))  # arbitrary bytes: no exception
    dc.HostParser().feed(b"".join(chunks))


_DATA = st.binary(max_size=dc.MAX_REPLY_DATA).filter(lambda d: all(b >= 0x20 or b in (9, 10) for b in d))


@given(st.integers(0x20, 0x7F), st.integers(0x20, 0x7F), _DATA)
def test_request_and_reply_round_trip(seq: int, cmd: int, data: bytes) -> None:
    assert dc.DeviceParser().feed(dc.encode_request(dc.Request(seq, cmd, data))) == [
        dc.Request(seq, cmd, data)
    ]
    reply = dc.Reply(seq, cmd, data, STATUS)
    assert dc.HostParser().feed(dc.encode_reply(reply)) == [reply]
