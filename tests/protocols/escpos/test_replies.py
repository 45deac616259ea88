"""The incremental reply parser and the GS ( H process-id request."""

from __future__ import annotations

import pytest

from protocols.escpos import (
    FlowControl,
    ProcessIdReply,
    ReplyDecodeError,
    ReplyParser,
    StatusByte,
    process_id_request,
)
from tests.protocols.escpos._helpers import h


def test_process_id_request_bytes() -> None:
    assert process_id_request("0042") == h("1D 28 48 06 00 30 30 30 30 34 32")
    assert process_id_request(" ~AZ") == h("1D 28 48 06 00 30 30 20 7E 41 5A")


@pytest.mark.parametrize("pid", ["12345", "123", "", "12\x003", "12\x7f3", "čćđš"])
def test_process_id_request_refuses_bad_ids(pid: str) -> None:
    with pytest.raises(ValueError, match="4 printable"):
        process_id_request(pid)


def test_the_reply_kinds_never_collide() -> None:
    # The process-id header and XON/XOFF fail the status pattern, so a byte has one meaning.
    assert 0x37 & 0x93 != 0x12
    assert 0x11 & 0x93 != 0x12 and 0x13 & 0x93 != 0x12
    assert 0x37 not in (0x11, 0x13)


def test_status_flow_control_and_process_id() -> None:
    parser = ReplyParser()
    assert parser.feed(h("16 12 12 7E")) == [
        StatusByte(0x16),
        StatusByte(0x12),
        StatusByte(0x12),
        StatusByte(0x7E),
    ]
    assert parser.feed(h("13 11")) == [FlowControl(xon=False), FlowControl(xon=True)]
    assert parser.feed(h("37 22 30 30 34 32 00")) == [ProcessIdReply("0042")]
    assert parser.feed(b"") == []


def test_a_process_id_across_chunks_is_held_until_complete() -> None:
    parser = ReplyParser()
    assert parser.feed(b"\x16\x37\x22") == [StatusByte(0x16)]
    assert parser.pending == b"\x37\x22"
    assert parser.feed(b"00") == []
    assert parser.feed(b"42\x00\x12") == [ProcessIdReply("0042"), StatusByte(0x12)]
    assert parser.pending == b""
    # Status-like bytes inside the id are part of the id: " " and "2" are 0x20 and 0x32.
    assert ReplyParser().feed(b"\x37\x22 2\x32\x32\x00") == [ProcessIdReply(" 222")]


def test_byte_at_a_time_equals_whole() -> None:
    stream = h("16 37 22 41 42 43 44 00 11 12 37 22 7E 7E 7E 7E 00 13 7E")
    whole = ReplyParser().feed(stream)
    parser = ReplyParser()
    single = [reply for i in range(len(stream)) for reply in parser.feed(stream[i : i + 1])]
    assert single == whole
    assert whole == [
        StatusByte(0x16),
        ProcessIdReply("ABCD"),
        FlowControl(xon=True),
        StatusByte(0x12),
        ProcessIdReply("~~~~"),
        FlowControl(xon=False),
        StatusByte(0x7E),
    ]


@pytest.mark.parametrize(
    ("stream", "value", "offset", "words"),
    [
        (h("16 00"), 0x00, 1, "unexpected byte"),
        (h("12 12 FF"), 0xFF, 2, "unexpected byte"),
        (h("10"), 0x10, 0, "unexpected byte"),  # ASB byte 1 pattern: not expected here
        (h("37 23"), 0x23, 1, "not followed by 22"),
        (h("37 22 41 1F"), 0x1F, 3, "non-printable"),
        (h("37 22 41 42 43 44 01"), 0x01, 6, "does not end with NUL"),
    ],
)
def test_bad_bytes_raise_naming_the_byte(stream: bytes, value: int, offset: int, words: str) -> None:
    parser = ReplyParser()
    with pytest.raises(ReplyDecodeError, match=words) as caught:
        parser.feed(stream)
    error = caught.value
    assert (error.value, error.offset) == (value, offset)
    assert f"0x{value:02X}" in str(error)
    assert error.replies == [StatusByte(b) for b in stream[:offset] if b & 0x93 == 0x12 and stream[0] != 0x37]
    # The parser starts afresh: no half reply survives the error.
    assert parser.pending == b""
    assert parser.feed(h("12")) == [StatusByte(0x12)]


def test_error_in_a_later_chunk_of_a_process_id() -> None:
    parser = ReplyParser()
    assert parser.feed(h("37 22 41")) == []
    with pytest.raises(ReplyDecodeError) as caught:
        parser.feed(h("42 0A"))
    assert caught.value.offset == 1 and caught.value.replies == []
    parser.feed(h("37"))
    parser.reset()
    assert parser.feed(h("12")) == [StatusByte(0x12)]
