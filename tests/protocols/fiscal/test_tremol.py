"""Tremol ZFP framing, acknowledgements, ping and status against the reference sheet; fuzzing.

The sheet gives the ZFP layout and checksum rule but no byte vector, so the two vectors here
are worked out by hand from it (and match the layouts erpnet/ErpNet.FP and edabg/fpgate send).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.fiscal import tremol as tr
from protocols.fiscal.errors import FieldError, FiscalProtocolError, FrameError

# Status (20h), NBL 0x21, no data: LEN 0x23; CS = 23 ^ 21 ^ 20 = 0x22 -> "22".
STATUS_REQUEST = bytes.fromhex("02 23 21 20 32 32 0A")
# Acknowledgement of NBL 0x21, no error: CS = 21 ^ 30 ^ 30 = 0x21 -> "21".
ACK_OK = bytes.fromhex("06 21 30 30 32 31 0A")


def test_hand_derived_vectors() -> None:
    assert tr.encode_request(tr.Request(0x21, tr.STATUS)) == STATUS_REQUEST
    assert tr.decode_request(STATUS_REQUEST) == tr.Request(0x21, 0x20)
    assert tr.encode_ack(tr.Ack(0x21)) == ACK_OK
    assert tr.decode_ack(ACK_OK) == tr.Ack(0x21, 0x30, 0x30)


def test_request_with_cp1251_fields() -> None:
    data = tr.params("Мляко", "Б", "2.50*2")
    frame = tr.encode_request(tr.Request(0x25, tr.SALE, data))
    assert frame[1] == 0x20 + 3 + len(data) and frame[4:-3] == "Мляко;Б;2.50*2".encode("cp1251")
    assert tr.decode_request(frame).fields() == ["Мляко", "Б", "2.50*2"]
    with pytest.raises(FieldError):
        tr.params("a;b")


def test_ack_errors_are_named() -> None:
    ack = tr.Ack(0x22, 0x34, 0x32)
    assert not ack.ok and (ack.device_error, ack.command_error) == ("fiscal_receipt_open", "illegal_command")
    assert tr.decode_ack(tr.encode_ack(ack)) == ack
    assert tr.Ack(0x22).ok and tr.Ack(0x22).device_error is None
    with pytest.raises(FieldError):
        tr.encode_ack(tr.Ack(0x22, 0x40, 0x30))


def test_ping_replies() -> None:
    assert tr.ping_reply() == 0x40 and tr.ping_reply(busy=True) == 0x41
    assert tr.ping_reply(paper_out=True) == 0x42 and tr.ping_reply(busy=True, paper_out=True) == 0x43
    assert tr.PingReply(0x43).flags == {"busy", "paper_out"} and tr.PingReply(0x40).ready
    assert tr.PingReply(0x70).flags == {"wrong_password"}


def test_host_parser_tells_every_answer_apart() -> None:
    answer = tr.Answer(0x21, tr.STATUS, tr.encode_status({"fiscalised"}))
    stream = b"\xff\xfe" + bytes((tr.RETRY, 0x41)) + ACK_OK + bytes((tr.NACK,)) + tr.encode_answer(answer)
    items = tr.HostParser().feed(stream)
    assert isinstance(items[0], tr.Corrupt)
    assert items[1:] == [tr.Control(tr.RETRY), tr.PingReply(0x41), tr.Ack(0x21), tr.Control(tr.NACK), answer]
    assert tr.status_flags(answer.data) == {"fiscalised"}


def test_device_parser_reads_ping_requests_and_damage() -> None:
    damaged = bytearray(STATUS_REQUEST)
    damaged[4] = 0x33
    items = tr.DeviceParser().feed(bytes((tr.PING,)) + bytes(damaged) + b"zz" + STATUS_REQUEST)
    assert items[0] == tr.Ping() and isinstance(items[1], tr.Corrupt) and isinstance(items[2], tr.Corrupt)
    assert items[3] == tr.Request(0x21, tr.STATUS)


def test_limits_are_refused() -> None:
    for request in (
        tr.Request(0x1F, tr.STATUS),
        tr.Request(0xA0, tr.STATUS),
        tr.Request(0x20, 0x80),
        tr.Request(0x20, tr.FREE_TEXT, b"x" * (tr.MAX_DATA + 1)),
        tr.Request(0x20, tr.FREE_TEXT, b"line\nbreak"),
    ):
        with pytest.raises(FieldError):
            tr.encode_request(request)
    assert tr.encode_request(tr.Request(0x9F, tr.FREE_TEXT, b"x" * tr.MAX_DATA))[1] == 0xFF
    assert tr.next_nbl(0x9F) == 0x20 and tr.next_nbl(0x20) == 0x21


def test_status_bytes() -> None:
    status = tr.encode_status({"paper_end", "fiscal_receipt_open", "fiscalised", "paper_near_end"})
    assert status == bytes((0x80, 0x81, 0x82, 0xA0, 0x80, 0x80, 0x90))
    with pytest.raises(FrameError):
        tr.status_flags(status[:6])


@given(st.binary(max_size=300))
def test_decoders_raise_only_typed_errors(data: bytes) -> None:
    for decode in (tr.decode_request, tr.decode_answer, tr.decode_ack):
        with contextlib.suppress(FiscalProtocolError):
            decode(data)


@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 20))
def test_parsers_never_raise_and_find_a_frame_after_any_noise(chunks: list[bytes], step: int) -> None:
    answer = tr.Answer(0x30, tr.RECEIPT_INFO, b"1;002;5.00")
    # Noise may hold anything but the bytes that start a frame or stand alone.
    keep = {tr.STX, tr.ACK, tr.NACK, tr.RETRY} | set(range(0x40, 0x50)) | {0x50, 0x60, 0x70}
    noise = bytes(b for b in b"".join(chunks) if b not in keep)
    stream = noise + tr.encode_answer(answer)
    parser = tr.HostParser()
    items = [item for i in range(0, len(stream), step) for item in parser.feed(stream[i : i + step])]
    assert items[-1] == answer and all(isinstance(item, tr.Corrupt) for item in items[:-1])
    tr.DeviceParser().feed(b"".join(chunks))  # arbitrary bytes: no exception
    tr.HostParser().feed(b"".join(chunks))


@given(st.integers(0x20, 0x9F), st.integers(0x20, 0x7F), st.binary(max_size=tr.MAX_DATA))
def test_round_trips(nbl: int, cmd: int, raw: bytes) -> None:
    data = bytes(b for b in raw if b >= 0x20)
    assert tr.DeviceParser().feed(tr.encode_request(tr.Request(nbl, cmd, data))) == [
        tr.Request(nbl, cmd, data)
    ]
    assert tr.HostParser().feed(tr.encode_answer(tr.Answer(nbl, cmd, data))) == [tr.Answer(nbl, cmd, data)]
