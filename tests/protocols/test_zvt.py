"""ZVT codec against golden vectors: the reference sheet's authorization, the serial completion
frame ending ``00 10 03 B1 11``, and real-terminal APDUs from wirelane/ecrterm's test data."""

from __future__ import annotations

import pytest

from protocols.payments import zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.errors import ZvtError
from protocols.payments.zvt_bmp import bcd_encode, decode_bmps, decode_tlv, encode_amount, encode_var
from protocols.payments.zvt_codes import intermediate_text, result_message
from protocols.payments.zvt_frame import (
    ACK,
    NAK,
    Apdu,
    ApduParser,
    Control,
    Corrupt,
    FrameParser,
    crc16_kermit,
    decode_apdu,
    decode_frame,
    encode_apdu,
    encode_frame,
)

# The reference sheet's golden authorization: 10.00 EUR, max. status infos 1, payment type 44.
GOLDEN_AUTHORIZATION = bytes.fromhex("06 01 0E 02 01 04 00 00 00 00 10 00 19 44 49 09 78")
# The serial frame of the completion ("06 0F") a terminal sends after a status enquiry: the
# software version "2.14.15" (LLLVAR) and terminal status 00 = ready. Source: wirelane/ecrterm
# tests/test_parsing.py (test_version_completion). It ends "00 10 03 B1 11", the sheet's tail.
GOLDEN_COMPLETION_FRAME = bytes.fromhex("10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11")

# Real terminal messages (wirelane/ecrterm tests/test_parsing.py, PACKET_LIST).
REAL_STATUS_INFO = bytes.fromhex(
    "04 0F 37 27 00 04 00 00 00 00 40 00 49 09 78 0C 09 38 48 0D 04 25 22 F1 F1 59 66 66 66 66 D2 00 21 22 01 "
    "00 17 00 01 87 01 75 0B 61 39 95 19 40 29 60 09 99 14 0E 05 12 8A 02"
)
REAL_INTERMEDIATE = bytes.fromhex(
    "04 FF 1E 0A 01 06 1A 24 18 07 16 42 69 74 74 65 20 4B 61 72 74 65 20 65 69 6E 73 74 65 63 6B 65 6E"
)
REAL_PRINT_LINE = bytes.fromhex(
    "06 D1 17 00 20 20 20 20 20 20 20 20 20 4B 61 73 73 65 6E 73 63 68 6E 69 74 74"
)
REAL_REGISTRATION_COMPLETION = bytes.fromhex("06 0F 11 19 00 29 52 00 12 33 49 09 78 06 05 27 03 14 01 FF")


def test_authorization_builder_matches_the_golden_vector() -> None:
    apdu = zvt.authorization(1000, currency=978, payment_type=0x44, max_status_infos=1)
    assert encode_apdu(apdu) == GOLDEN_AUTHORIZATION


def test_golden_authorization_parses_back() -> None:
    command = zvt.parse_command(decode_apdu(GOLDEN_AUTHORIZATION))
    assert command == zvt.Authorization(amount=1000, currency=978, payment_type=0x44, max_status_infos=1)


def test_crc16_kermit_check_value() -> None:
    assert crc16_kermit(b"123456789") == 0x2189


def test_completion_frame_ends_with_the_golden_tail_and_its_crc() -> None:
    apdu = msg.status_enquiry_completion("2.14.15", 0)
    frame = encode_frame(apdu)
    assert frame == GOLDEN_COMPLETION_FRAME
    assert frame.endswith(bytes.fromhex("00 10 03 B1 11"))
    crc = crc16_kermit(encode_apdu(apdu) + b"\x03")
    assert crc == 0x11B1 and frame[-2:] == bytes((crc & 0xFF, crc >> 8))  # low byte first
    completion = msg.parse_message(decode_frame(frame), after_status_enquiry=True)
    assert completion == msg.Completion(sw_version="2.14.15", terminal_status=0)


def test_every_dle_in_the_apdu_is_doubled_and_the_crc_covers_the_unescaped_apdu() -> None:
    apdu = Apdu(0x06, 0xD1, b"\x10\x10A\x10")
    frame = encode_frame(apdu)
    raw = encode_apdu(apdu)
    assert frame[2:-4] == raw.replace(b"\x10", b"\x10\x10")
    assert frame[-4:-2] == b"\x10\x03"
    crc = crc16_kermit(raw + b"\x03")
    assert frame[-2:] == bytes((crc & 0xFF, crc >> 8))
    assert decode_frame(frame) == apdu


def test_extended_length_is_ff_then_two_bytes_little_endian() -> None:
    for size in (254, 255, 256, 1000):
        apdu = Apdu(0x06, 0xD3, bytes(size))
        raw = encode_apdu(apdu)
        if size < 255:
            assert raw[2] == size
        else:
            assert raw[2:5] == bytes((0xFF, size & 0xFF, size >> 8))
        assert decode_apdu(raw) == apdu


def test_apdu_parser_cuts_a_stream_in_any_chunking() -> None:
    stream = b"".join(encode_apdu(a) for a in (zvt.ACK, Apdu(0x06, 0xD3, bytes(300)), zvt.ecr_abort()))
    for step in (1, 2, 5, 64, len(stream)):
        parser = ApduParser()
        out: list[Apdu] = []
        for start in range(0, len(stream), step):
            out += parser.feed(stream[start : start + step])
        assert out == [zvt.ACK, Apdu(0x06, 0xD3, bytes(300)), zvt.ecr_abort()] and parser.pending == 0


def test_frame_parser_reports_control_bytes_damage_and_resyncs() -> None:
    good = encode_frame(zvt.ACK)
    damaged = bytearray(encode_frame(zvt.authorization(500)))
    damaged[-1] ^= 0xFF
    items = FrameParser().feed(bytes((ACK,)) + b"\x99" + bytes(damaged) + bytes((NAK,)) + good)
    assert items[0] == Control(ACK)
    assert isinstance(items[1], Corrupt) and not items[1].frame  # the noise byte
    assert isinstance(items[2], Corrupt) and items[2].frame and "CRC" in items[2].reason
    assert items[3] == Control(NAK)
    assert items[4] == zvt.ACK


def test_decode_frame_refuses_a_bad_crc() -> None:
    frame = bytearray(GOLDEN_COMPLETION_FRAME)
    frame[-2] ^= 1
    with pytest.raises(ZvtError):
        decode_frame(bytes(frame))


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        (zvt.registration("000000", 0xBA, 978), "06 00 06 00 00 00 BA 09 78"),
        (zvt.registration("123456", 0xBE, 978, service_byte=0), "06 00 08 12 34 56 BE 09 78 03 00"),
        (zvt.log_off(), "06 02 00"),
        (zvt.ecr_abort(), "06 B0 00"),
        (zvt.repeat_receipt("000000"), "06 20 03 00 00 00"),
        (zvt.reversal(42, "000000"), "06 30 06 00 00 00 87 00 42"),
        (zvt.refund(1234, "000000", 978), "06 31 0D 00 00 00 04 00 00 00 00 12 34 49 09 78"),
        (zvt.end_of_day("000000"), "06 50 03 00 00 00"),
        (zvt.status_enquiry("000000"), "05 01 03 00 00 00"),
        (zvt.ACK, "80 00 00"),
    ],
)
def test_command_builders(apdu: Apdu, expected: str) -> None:
    assert encode_apdu(apdu) == bytes.fromhex(expected)
    zvt.parse_command(apdu)  # the terminal side reads every one of them back


def test_commands_parse_back_on_the_terminal_side() -> None:
    assert zvt.parse_command(zvt.registration("123456", 0xBE, 978, 0)) == zvt.Registration(
        "123456", 0xBE, 978, 0
    )
    assert zvt.parse_command(zvt.refund(1234)) == zvt.Refund("000000", 1234, 978)
    assert zvt.parse_command(zvt.reversal("0042")) == zvt.Reversal("000000", "0042")
    assert zvt.parse_command(zvt.end_of_day()) == zvt.PasswordCommand(zvt.END_OF_DAY, "000000")


def test_builders_refuse_values_the_wire_cannot_carry() -> None:
    for bad in (
        lambda: zvt.authorization(-1),
        lambda: zvt.authorization(10**12),
        lambda: zvt.registration("12345"),
        lambda: zvt.registration(config=256),
        lambda: zvt.reversal(12345),
        lambda: encode_apdu(Apdu(0x06, 0xD3, bytes(0x10000))),
    ):
        with pytest.raises(ZvtError):
            bad()


def test_real_status_information() -> None:
    info = msg.parse_message(decode_apdu(REAL_STATUS_INFO))
    assert isinstance(info, msg.StatusInfo)
    assert (info.result_code, info.amount, info.currency) == (0, 4000, 978)
    assert (info.trace, info.receipt_number, info.terminal_id) == ("613995", "0175", "60099914")
    assert (info.date, info.time, info.expiry, info.card_type) == ("0425", "093848", "0512", 2)
    assert info.masked_pan == "5966666666"  # track-2 style: the PAN ends at the separator D


def test_real_intermediate_status_print_line_and_completion() -> None:
    status = msg.parse_message(decode_apdu(REAL_INTERMEDIATE))
    assert status == msg.IntermediateStatus(0x0A, 1, ("Bitte Karte einstecken",))
    assert isinstance(status, msg.IntermediateStatus) and status.text == "insert card"
    line = msg.parse_message(decode_apdu(REAL_PRINT_LINE))
    assert (
        line == msg.PrintLine(0, "         Kassenschnitt")
        and isinstance(line, msg.PrintLine)
        and not line.last
    )
    completion = msg.parse_message(decode_apdu(REAL_REGISTRATION_COMPLETION))
    assert isinstance(completion, msg.Completion)
    assert (completion.status_byte, completion.terminal_id, completion.currency) == (0, "52001233", 978)
    assert completion.tlv[0].tag == 0x27 and completion.tlv[0].children[0].value == b"\xff"


def test_status_information_round_trip_with_every_field() -> None:
    info = msg.StatusInfo(
        result_code=0, amount=1999, currency=978, trace="000123", time="153000", date="0131",
        receipt_number="0042", turnover="000007", terminal_id="52001233", masked_pan="474843******7743",
        expiry="2712", payment_type=0x40, card_type=10, card_name="VISA", vu_number="455600000599",
        additional_text="AID A0000000031010",
    )  # fmt: skip
    assert msg.parse_message(msg.status_info(info)) == info


def test_terminal_messages_round_trip() -> None:
    assert msg.parse_message(msg.intermediate_status(0x01, 0, "enter PIN")) == msg.IntermediateStatus(
        1, 0, ("enter PIN",)
    )
    last = msg.parse_message(msg.print_line("APPROVED", last=True))
    assert isinstance(last, msg.PrintLine) and last.last and last.text == "APPROVED"
    block = msg.parse_message(msg.text_block(["A", "B"], msg.RECEIPT_MERCHANT))
    assert block == msg.TextBlock(("A", "B"), msg.RECEIPT_MERCHANT, end_of_receipt=True)
    assert msg.parse_message(msg.terminal_abort(0x6C)) == msg.TerminalAbort(0x6C)
    assert msg.parse_message(msg.negative_ack(0x83)) == msg.NegativeAck(0x83)
    assert msg.parse_message(zvt.ACK) == msg.PositiveAck()
    assert msg.parse_message(msg.completion()) == msg.Completion()
    feed = msg.parse_message(Apdu(0x06, 0xD1, b"\xff\x03"))
    assert feed == msg.PrintLine(0xFF, feeds=3) and isinstance(feed, msg.PrintLine) and not feed.last


def test_bcd_llvar_and_tlv_details() -> None:
    assert encode_amount(1000) == bytes.fromhex("00 00 00 00 10 00")
    assert bcd_encode(978, 2) == bytes.fromhex("09 78")
    assert encode_var(b"VISA\x00", 2) == bytes.fromhex("F0 F5") + b"VISA\x00"
    assert encode_var(b"x" * 73, 3)[:3] == bytes.fromhex("F0 F7 F3")
    unknown = decode_bmps(bytes.fromhex("27 00 FE 01 02"))  # FE is no BMP: the rest stays unread
    assert unknown.fields == ((0x27, b"\x00"),) and unknown.rest == bytes.fromhex("FE 01 02")
    (item,) = decode_tlv(bytes.fromhex("1F 07 01 02"))
    assert (item.tag, item.value, item.constructed) == (0x1F07, b"\x02", False)
    with pytest.raises(ZvtError):
        decode_bmps(bytes.fromhex("04 00 00"))  # an amount cut short


def test_code_texts() -> None:
    assert intermediate_text(0x0A) == "insert card"
    assert intermediate_text(0x01) == "enter PIN"
    assert intermediate_text(0x0E) == "please wait"
    assert intermediate_text(0x4A + 0x00) == "insert card, remove card"
    assert result_message(0x00) == "approved"
    assert result_message(0x6C) == "aborted (timeout or abort key)"
    assert "host" in result_message(0x05)
