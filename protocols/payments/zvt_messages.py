"""ZVT messages from the terminal: parsed for the ECR, built for the simulated terminal.

=========  ========================================================================================
APDU       data
=========  ========================================================================================
``80 00``  positive acknowledgement (the ECR acks every terminal message with it too)
``84 xx``  negative acknowledgement, ``xx`` an error code
``04 FF``  intermediate status: status code, [timeout], [BMP 06 with display texts: tag 24 / 07]
``04 0F``  status information: BMPs 27 result, 04 amount, 0B trace, 0C time, 0D date, 22 PAN,
           29 terminal id, 87 receipt number, 8A card type ...
``06 D1``  print line: attribute, text (attribute ``8x`` other than ``80`` marks the last line,
           ``FF`` a line feed whose count follows)
``06 D3``  text block: BMP 06 with 1F07 receipt type and tag 25 holding 07 text lines (09 marks
           the end of the receipt)
``06 0F``  completion: BMPs 19 status byte, 29 terminal id, 49 currency, 06 TLV; after a status
           enquiry first the software version (LLLVAR) and the terminal status code
``06 1E``  abort by the terminal: result code, [BMP 06]
=========  ========================================================================================

Sources: PA00P015 as implemented by wirelane/ecrterm (``packets/base_packets.py``: the
intermediate status with its timeout, the abort's result code, the completion's optional
software version), Portalum/Portalum.Zvt (``PrintLineParser.cs``: the print-line attribute bits;
``PrintTextBlockParser.cs``: tags 1F07, 25, 07, 09 of a text block) and the completion layout of
the registration in Philipp3107/PLAT_GUI_ENTWURF (TERMINAL_CODES.md). Texts use code page 437,
as those clients do. Real-terminal vectors used by the tests come from wirelane/ecrterm
``tests/test_parsing.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols.payments import zvt
from protocols.payments.errors import ZvtError
from protocols.payments.zvt_bmp import (
    Bmps,
    Tlv,
    bcd_decode,
    bcd_encode,
    decode_amount,
    decode_bmps,
    decode_pan,
    decode_tlv,
    decode_var,
    encode_amount,
    encode_bmps,
    encode_pan,
    encode_tlv,
    encode_var,
)
from protocols.payments.zvt_codes import intermediate_text
from protocols.payments.zvt_frame import Apdu

ENCODING = "cp437"
RECEIPT_MERCHANT, RECEIPT_CUSTOMER, RECEIPT_ADMIN = 1, 2, 3


def _text(value: bytes) -> str:
    return value.decode(ENCODING).rstrip("\x00")


def _tlv(bmps: Bmps) -> tuple[Tlv, ...]:
    container = bmps.get(0x06)
    return () if container is None else decode_tlv(container)


def _texts(items: tuple[Tlv, ...], tag: int = 0x07) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if item.tag == tag and not item.constructed:
            out.append(_text(item.value))
        out += _texts(item.children, tag)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PositiveAck:
    """``80 00 00``."""


@dataclass(frozen=True, slots=True)
class NegativeAck:
    """``84 xx``: the terminal refused the command with error code ``code``."""

    code: int


@dataclass(frozen=True, slots=True)
class IntermediateStatus:
    """``04 FF``: what the terminal is doing now ("insert card", "enter PIN")."""

    code: int
    timeout: int | None = None
    display: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return intermediate_text(self.code)


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """``04 0F``: how a transaction went. ``result_code`` 0 is approved."""

    result_code: int | None = None
    amount: int | None = None
    currency: int | None = None
    trace: str = ""
    time: str = ""  # HHMMSS
    date: str = ""  # MMDD
    receipt_number: str = ""
    turnover: str = ""
    terminal_id: str = ""
    masked_pan: str = ""
    expiry: str = ""  # YYMM
    payment_type: int | None = None
    card_type: int | None = None
    card_name: str = ""
    vu_number: str = ""
    additional_text: str = ""


@dataclass(frozen=True, slots=True)
class PrintLine:
    """``06 D1``: one receipt line; ``feeds`` empty lines instead when the attribute is ``FF``."""

    attribute: int
    text: str = ""
    feeds: int = 0

    @property
    def last(self) -> bool:
        return self.attribute & 0x80 != 0 and self.attribute not in (0x80, 0xFF)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """``06 D3``: a whole receipt (or a part of one) as lines."""

    lines: tuple[str, ...]
    receipt_type: int | None = None
    end_of_receipt: bool = False


@dataclass(frozen=True, slots=True)
class Completion:
    """``06 0F``: the command is done and the ECR is master again."""

    status_byte: int | None = None
    terminal_id: str = ""
    currency: int | None = None
    sw_version: str = ""
    terminal_status: int | None = None
    tlv: tuple[Tlv, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class TerminalAbort:
    """``06 1E``: the terminal ended the command unsuccessfully with ``result_code``."""

    result_code: int | None


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """An APDU this module does not interpret (acknowledged and otherwise ignored)."""

    apdu: Apdu


TerminalMessage = (
    PositiveAck
    | NegativeAck
    | IntermediateStatus
    | StatusInfo
    | PrintLine
    | TextBlock
    | Completion
    | TerminalAbort
    | OtherMessage
)


def _status_info(bmps: Bmps) -> StatusInfo:
    def bcd(tag: int) -> str:
        value = bmps.get(tag)
        return "" if value is None else bcd_decode(value)

    def byte(tag: int) -> int | None:
        value = bmps.get(tag)
        return None if value is None else value[0]

    def text(tag: int) -> str:
        value = bmps.get(tag)
        return "" if value is None else _text(value)

    amount, currency, pan = bmps.get(0x04), bmps.get(0x49), bmps.get(0x22)
    return StatusInfo(
        result_code=byte(0x27),
        amount=None if amount is None else decode_amount(amount),
        currency=None if currency is None else int(bcd_decode(currency)),
        trace=bcd(0x0B),
        time=bcd(0x0C),
        date=bcd(0x0D),
        receipt_number=bcd(0x87),
        turnover=bcd(0x88),
        terminal_id=bcd(0x29),
        masked_pan="" if pan is None else decode_pan(pan),
        expiry=bcd(0x0E),
        payment_type=byte(0x19),
        card_type=byte(0x8A),
        card_name=text(0x8B),
        vu_number=text(0x2A).strip(),
        additional_text=text(0x3C),
    )


def _completion(data: bytes, after_status_enquiry: bool) -> Completion:
    sw_version, terminal_status = "", None
    if after_status_enquiry and data:
        if data[0] >> 4 == 0xF:
            raw, at = decode_var(data, 0, 3)
            sw_version, data = _text(raw), data[at:]
        if data:
            terminal_status, data = data[0], data[1:]
    bmps = decode_bmps(data)
    tid, currency, status = bmps.get(0x29), bmps.get(0x49), bmps.get(0x19)
    return Completion(
        status_byte=None if status is None else status[0],
        terminal_id="" if tid is None else bcd_decode(tid),
        currency=None if currency is None else int(bcd_decode(currency)),
        sw_version=sw_version,
        terminal_status=terminal_status,
        tlv=_tlv(bmps),
    )


def parse_message(apdu: Apdu, *, after_status_enquiry: bool = False) -> TerminalMessage:
    """What a terminal APDU says; raises :class:`ZvtError` when its data is malformed.

    ``after_status_enquiry``: a completion answering ``05 01`` starts with the software version
    and the terminal status, which nothing in the APDU itself announces.
    """
    command, data = apdu.command, apdu.data
    if command == zvt.POSITIVE_ACK:
        return PositiveAck()
    if apdu.cls == zvt.NEGATIVE_ACK_CLASS:
        return NegativeAck(apdu.instr)
    if command == zvt.INTERMEDIATE_STATUS:
        if not data:
            raise ZvtError("intermediate status without a status code")
        timeout = data[1] if len(data) > 1 else None
        try:
            display = _texts(_tlv(decode_bmps(data[2:])))
        except ZvtError:
            display = ()  # the texts are a courtesy; the status code is what counts
        return IntermediateStatus(data[0], timeout, display)
    if command == zvt.STATUS_INFO:
        return _status_info(decode_bmps(data))
    if command == zvt.PRINT_LINE:
        if not data:
            raise ZvtError("print line without its attribute byte")
        if data[0] == 0xFF:
            return PrintLine(0xFF, feeds=data[1] if len(data) > 1 else 1)
        return PrintLine(data[0], _text(data[1:]))
    if command == zvt.TEXT_BLOCK:
        items = _tlv(decode_bmps(data))
        kinds = [t for item in items for t in ([item] if item.tag == 0x1F07 else item.find(0x1F07))]
        ends = any(item.tag == 0x09 for item in items) or any(item.find(0x09) for item in items)
        receipt_type = kinds[0].value[0] if kinds and kinds[0].value else None
        return TextBlock(_texts(items), receipt_type, ends)
    if command == zvt.COMPLETION:
        return _completion(data, after_status_enquiry)
    if command == zvt.TERMINAL_ABORT:
        return TerminalAbort(data[0] if data else None)
    return OtherMessage(apdu)


# -- builders (the simulated terminal speaks with these) --------------------------------------


def positive_ack() -> Apdu:
    return zvt.ACK


def negative_ack(code: int) -> Apdu:
    return Apdu(zvt.NEGATIVE_ACK_CLASS, code & 0xFF)


def intermediate_status(code: int, timeout: int = 0, text: str = "") -> Apdu:
    """``04 FF`` with the status code, a timeout and (if given) a display text in TLV 24/07."""
    data = bytes((code, timeout))
    if text:
        data += encode_bmps([(0x06, encode_tlv([Tlv(0x24, children=(Tlv(0x07, text.encode(ENCODING)),))]))])
    return Apdu(*zvt.INTERMEDIATE_STATUS, data)


def status_info(info: StatusInfo) -> Apdu:
    """``04 0F`` carrying every field of ``info`` that is set."""
    fields: list[tuple[int, bytes]] = []
    if info.result_code is not None:
        fields.append((0x27, bytes((info.result_code,))))
    if info.amount is not None:
        fields.append((0x04, encode_amount(info.amount)))
    if info.currency is not None:
        fields.append((0x49, bcd_encode(info.currency, 2)))
    for tag, value, size in (
        (0x0C, info.time, 3),
        (0x0D, info.date, 2),
        (0x0B, info.trace, 3),
        (0x87, info.receipt_number, 2),
        (0x88, info.turnover, 3),
        (0x29, info.terminal_id, 4),
    ):
        if value:
            fields.append((tag, bcd_encode(value, size)))
    if info.masked_pan:
        fields.append((0x22, encode_pan(info.masked_pan)))
    if info.expiry:
        fields.append((0x0E, bcd_encode(info.expiry, 2)))
    if info.payment_type is not None:
        fields.append((0x19, bytes((info.payment_type,))))
    if info.card_type is not None:
        fields.append((0x8A, bytes((info.card_type,))))
    if info.card_name:
        fields.append((0x8B, info.card_name.encode(ENCODING) + b"\x00"))
    if info.vu_number:
        fields.append((0x2A, info.vu_number.encode(ENCODING)[:15].ljust(15)))
    if info.additional_text:
        fields.append((0x3C, info.additional_text.encode(ENCODING)))
    return Apdu(*zvt.STATUS_INFO, encode_bmps(fields))


def print_line(text: str, *, last: bool = False, attribute: int = 0) -> Apdu:
    """``06 D1``: one line; ``last`` marks the receipt's last line (attribute ``81``)."""
    flags = (attribute & 0x7F) | (0x81 if last else 0)
    return Apdu(*zvt.PRINT_LINE, bytes((flags,)) + text.encode(ENCODING))


def text_block(lines: list[str], receipt_type: int = RECEIPT_CUSTOMER, *, end: bool = True) -> Apdu:
    """``06 D3``: a receipt as a text block."""
    items = [
        Tlv(0x1F07, bytes((receipt_type,))),
        Tlv(0x25, children=tuple(Tlv(0x07, line.encode(ENCODING)) for line in lines)),
    ]
    if end:
        items.append(Tlv(0x09, b""))
    return Apdu(*zvt.TEXT_BLOCK, encode_bmps([(0x06, encode_tlv(items))]))


def completion(*, status_byte: int | None = None, terminal_id: str = "", currency: int | None = None) -> Apdu:
    """``06 0F`` (an empty one is the usual end of a payment)."""
    fields: list[tuple[int, bytes]] = []
    if status_byte is not None:
        fields.append((0x19, bytes((status_byte,))))
    if terminal_id:
        fields.append((0x29, bcd_encode(terminal_id, 4)))
    if currency is not None:
        fields.append((0x49, bcd_encode(currency, 2)))
    return Apdu(*zvt.COMPLETION, encode_bmps(fields))


def status_enquiry_completion(sw_version: str, terminal_status: int = 0) -> Apdu:
    """``06 0F`` answering a status enquiry: software version (LLLVAR) and status code."""
    return Apdu(*zvt.COMPLETION, encode_var(sw_version.encode(ENCODING), 3) + bytes((terminal_status,)))


def terminal_abort(result_code: int) -> Apdu:
    """``06 1E``: the terminal ends the command with ``result_code``."""
    return Apdu(*zvt.TERMINAL_ABORT, bytes((result_code,)))
