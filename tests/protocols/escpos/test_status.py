"""Real-time status and automatic status back against the sheet's golden answers."""

from __future__ import annotations

import pytest

from protocols.escpos import (
    STATUS_QUERY_ALL,
    PrinterStatus,
    StatusDecodeError,
    decode_asb,
    decode_status,
    decode_status_byte,
    status_request,
)
from tests.protocols.escpos._helpers import h


def test_requests() -> None:
    assert [status_request(n) for n in (1, 2, 3, 4)] == [
        h("10 04 01"),
        h("10 04 02"),
        h("10 04 03"),
        h("10 04 04"),
    ]
    assert h("10 04 01 10 04 02 10 04 03 10 04 04") == STATUS_QUERY_ALL
    for n in (0, 5, -1):
        with pytest.raises(ValueError, match=r"1\.\.4"):
            status_request(n)


def test_all_normal() -> None:
    status = decode_status(dict(zip((1, 2, 3, 4), h("16 12 12 12"), strict=True)))
    assert status == PrinterStatus(online=True, drawer_pin3_high=True)
    assert status.problems() == [] and status.condition == "ok" and status.ready


def test_out_of_paper() -> None:
    status = decode_status({1: 0x1E, 2: 0x32, 3: 0x12, 4: 0x7E})
    assert not status.online and status.paper_end and status.paper_end_stop and status.paper_near_end
    assert status.problems() == ["paper_out"] and status.condition == "paper_out" and not status.ready
    # n = 4 alone says it too.
    assert decode_status({4: 0x7E}).problems() == ["paper_out"]


def test_cover_open_near_end_and_offline() -> None:
    cover = decode_status({1: 0x1E, 2: 0x16})
    assert cover.cover_open and cover.problems() == ["cover_open"]
    near = decode_status({4: 0x1E})
    assert near.paper_near_end and near.problems() == ["paper_near_end"] and near.ready
    # Offline for no known reason (FEED held) with a near-end warning: both words, offline first.
    feed = decode_status({1: 0x1E, 2: 0x1A, 4: 0x1E})
    assert feed.feed_button and feed.problems() == ["offline", "paper_near_end"] and not feed.ready
    assert decode_status({1: 0x1E}).problems() == ["offline"]


def test_error_causes() -> None:
    assert decode_status({2: 0x52, 3: 0x16}).problems() == ["mechanical_error"]
    assert decode_status({2: 0x52, 3: 0x1A}).problems() == ["autocutter_error"]
    assert decode_status({2: 0x52, 3: 0x32}).problems() == ["unrecoverable_error"]
    assert decode_status({2: 0x52, 3: 0x52}).problems() == ["auto_recoverable_error"]
    assert decode_status({2: 0x52}).problems() == ["error"]  # n = 3 not asked
    both = decode_status({1: 0x1E, 2: 0x56, 3: 0x1A, 4: 0x7E})
    assert both.problems() == ["paper_out", "cover_open", "autocutter_error"]


def test_bits_of_each_answer() -> None:
    assert decode_status_byte(1, 0x16) == {"drawer_pin3_high": True, "online": True}
    assert decode_status_byte(1, 0x1A) == {"drawer_pin3_high": False, "online": False}
    assert decode_status_byte(2, 0x7E) == {
        "cover_open": True,
        "feed_button": True,
        "paper_end_stop": True,
        "error": True,
    }
    assert decode_status_byte(3, 0x12) == dict.fromkeys(
        ("mechanical_error", "autocutter_error", "unrecoverable_error", "auto_recoverable_error"), False
    )
    assert decode_status_byte(4, 0x16) == {"paper_near_end": True, "paper_end": False}
    assert decode_status_byte(4, 0x52) == {"paper_near_end": False, "paper_end": True}


def test_the_0x93_mask_rule_over_every_byte() -> None:
    valid = [b for b in range(256) if b & 0x93 == 0x12]
    assert len(valid) == 16 and {0x12, 0x16, 0x1E, 0x7E, 0x32} <= set(valid)
    for value in range(256):
        for n in (1, 2, 3, 4):
            if value in valid:
                assert decode_status_byte(n, value)
            else:
                with pytest.raises(StatusDecodeError) as caught:
                    decode_status_byte(n, value)
                assert caught.value.value == value and f"0x{value:02X}" in str(caught.value)


def test_bad_n_and_out_of_range_bytes() -> None:
    for n, value in ((0, 0x12), (5, 0x12), (1, 256), (1, -1)):
        with pytest.raises(StatusDecodeError):
            decode_status_byte(n, value)
    with pytest.raises(StatusDecodeError):
        decode_status({1: 0x16, 7: 0x12})


def test_automatic_status_back() -> None:
    assert decode_asb(h("10 00 00 00")) == PrinterStatus()
    status = decode_asb(bytes([0x10 | 0x08 | 0x20, 0x00, 0x0C, 0x00]))
    assert not status.online and status.cover_open and status.paper_end
    assert status.problems() == ["paper_out", "cover_open"]
    status = decode_asb(bytes([0x10 | 0x04 | 0x40, 0x04 | 0x08 | 0x20 | 0x40, 0x03, 0x00]))
    assert status.drawer_pin3_high and status.feed_button and status.paper_near_end and not status.paper_end
    assert status.error and status.mechanical_error and status.autocutter_error
    assert status.unrecoverable_error and status.auto_recoverable_error


@pytest.mark.parametrize(
    "data",
    [
        h("12 00 00 00"),  # a DLE EOT answer is not ASB byte 1 (0xx1xx10 vs 0xx1xx00)
        h("00 00 00 00"),  # bit 4 clear
        h("90 00 00 00"),  # bit 7 set
        h("10 10 00 00"),  # byte 2 bit 4
        h("10 00 80 00"),  # byte 3 bit 7
        h("10 00 00 90"),  # byte 4
        h("10 00 00"),
        h("10 00 00 00 00"),
        b"",
    ],
)
def test_bad_automatic_status_back(data: bytes) -> None:
    with pytest.raises(StatusDecodeError):
        decode_asb(data)
