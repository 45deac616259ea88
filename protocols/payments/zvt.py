"""ZVT (PA00P015) ECR commands: builders for the cash register, parsers for the terminal side.

Every command is one APDU (see :mod:`protocols.payments.zvt_frame` for how it travels);
what the terminal answers is in :mod:`protocols.payments.zvt_messages`.

========================  ========  ================================================================
command                   APDU      data
========================  ========  ================================================================
registration              ``06 00``  password (3 BCD), config byte, [currency (2 BCD) [BMP 03] [BMP 06]]
authorization             ``06 01``  BMPs: [01 timeout] [02 max. status infos] 04 amount [19 payment
                                     type] [49 currency]
log-off                   ``06 02``  none
repeat receipt            ``06 20``  password
reversal                  ``06 30``  password, BMP 87 receipt number
refund                    ``06 31``  password, BMP 04 amount, [BMP 49 currency]
end of day                ``06 50``  password
abort (from the ECR)      ``06 B0``  none
status enquiry            ``05 01``  password, [BMP 03 service byte]
positive acknowledgement  ``80 00``  none (both directions)
========================  ========  ================================================================

The ECR's abort ``06 B0`` is the one command the ECR may send while the terminal is master
(wirelane/ecrterm: "allowed without master rights, but only for some commands"); a terminal
answers ``80 00 00`` and ends the running command with ``06 1E``, or carries on when it is too
late to abort (the host already has the transaction).

Sources: the reference sheet (golden authorization ``06 01 0E 02 01 04 00 00 00 00 10 00 19 44
49 09 78`` and registration layout), PA00P015 as summarised in Philipp3107/PLAT_GUI_ENTWURF
(TERMINAL_CODES.md: registration, authorization and config byte tables) and the open-source
clients wirelane/ecrterm (base_packets.py), Portalum/Portalum.Zvt (ZvtClient.cs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocols.payments.errors import ZvtError
from protocols.payments.zvt_bmp import (
    bcd_decode,
    bcd_encode,
    decode_amount,
    decode_bmps,
    encode_amount,
    encode_bmps,
)
from protocols.payments.zvt_frame import Apdu

REGISTRATION: Final = (0x06, 0x00)
AUTHORIZATION: Final = (0x06, 0x01)
LOG_OFF: Final = (0x06, 0x02)
COMPLETION: Final = (0x06, 0x0F)
TERMINAL_ABORT: Final = (0x06, 0x1E)
REPEAT_RECEIPT: Final = (0x06, 0x20)
REVERSAL: Final = (0x06, 0x30)
REFUND: Final = (0x06, 0x31)
END_OF_DAY: Final = (0x06, 0x50)
ECR_ABORT: Final = (0x06, 0xB0)
PRINT_LINE: Final = (0x06, 0xD1)
TEXT_BLOCK: Final = (0x06, 0xD3)
STATUS_ENQUIRY: Final = (0x05, 0x01)
STATUS_INFO: Final = (0x04, 0x0F)
INTERMEDIATE_STATUS: Final = (0x04, 0xFF)
POSITIVE_ACK: Final = (0x80, 0x00)
NEGATIVE_ACK_CLASS: Final = 0x84

EUR: Final = 978
DEFAULT_PASSWORD: Final = "000000"  # noqa: S105 - the terminals' factory default, not a secret

# Registration config byte (PA00P015 "config-byte"); bit 0 and bit 6 are reserved.
CONFIG_ECR_PRINTS_PAYMENT_RECEIPTS: Final = 0x02
CONFIG_ECR_PRINTS_ADMIN_RECEIPTS: Final = 0x04
CONFIG_INTERMEDIATE_STATUS: Final = 0x08
CONFIG_ECR_CONTROLS_PAYMENT: Final = 0x10  # no amount input on the terminal itself
CONFIG_ECR_CONTROLS_ADMIN: Final = 0x20  # no administration started on the terminal itself
CONFIG_PRINT_LINES: Final = 0x80  # receipts come as 06 D1 / 06 D3, not as data to compose
# Everything printed by the ECR through print lines, statuses on, the ECR in control.
DEFAULT_CONFIG: Final = 0xBE

ACK: Final = Apdu(0x80, 0x00)


def _password(password: str) -> bytes:
    if len(password) != 6:
        raise ZvtError(f"the terminal password has 6 digits, got {password!r}")
    return bcd_encode(password, 3)


def _byte(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ZvtError(f"{what} must be a byte, got {value}")
    return bytes((value,))


def registration(
    password: str = DEFAULT_PASSWORD,
    config: int = DEFAULT_CONFIG,
    currency: int | None = EUR,
    service_byte: int | None = None,
) -> Apdu:
    """``06 00``: log the ECR on with its config byte (and the currency it works in)."""
    data = _password(password) + _byte(config, "config byte")
    if currency is not None:
        data += bcd_encode(currency, 2)
        if service_byte is not None:
            data += encode_bmps([(0x03, _byte(service_byte, "service byte"))])
    elif service_byte is not None:
        raise ZvtError("the service byte can only follow the currency code")
    return Apdu(*REGISTRATION, data)


def authorization(
    amount: int,
    *,
    currency: int | None = EUR,
    payment_type: int | None = None,
    max_status_infos: int | None = None,
    timeout: int | None = None,
) -> Apdu:
    """``06 01``: pay ``amount`` minor units. Optional BMPs go where the golden vector has them."""
    fields: list[tuple[int, bytes]] = []
    if timeout is not None:
        fields.append((0x01, _byte(timeout, "timeout")))
    if max_status_infos is not None:
        fields.append((0x02, _byte(max_status_infos, "max. status infos")))
    fields.append((0x04, encode_amount(amount)))
    if payment_type is not None:
        fields.append((0x19, _byte(payment_type, "payment type")))
    if currency is not None:
        fields.append((0x49, bcd_encode(currency, 2)))
    return Apdu(*AUTHORIZATION, encode_bmps(fields))


def log_off() -> Apdu:
    """``06 02``: the ECR logs off."""
    return Apdu(*LOG_OFF)


def ecr_abort() -> Apdu:
    """``06 B0``: the ECR asks the terminal to abort the transaction it is running."""
    return Apdu(*ECR_ABORT)


def repeat_receipt(password: str = DEFAULT_PASSWORD) -> Apdu:
    """``06 20``: repeat the last receipt (with the last transaction's status information)."""
    return Apdu(*REPEAT_RECEIPT, _password(password))


def reversal(receipt_number: int | str, password: str = DEFAULT_PASSWORD) -> Apdu:
    """``06 30``: reverse the payment with ``receipt_number`` (BMP 87, 4 BCD digits)."""
    return Apdu(*REVERSAL, _password(password) + encode_bmps([(0x87, bcd_encode(receipt_number, 2))]))


def refund(amount: int, password: str = DEFAULT_PASSWORD, currency: int | None = EUR) -> Apdu:
    """``06 31``: pay ``amount`` minor units back to a card."""
    fields = [(0x04, encode_amount(amount))]
    if currency is not None:
        fields.append((0x49, bcd_encode(currency, 2)))
    return Apdu(*REFUND, _password(password) + encode_bmps(fields))


def end_of_day(password: str = DEFAULT_PASSWORD) -> Apdu:
    """``06 50``: settle the day's transactions with the host."""
    return Apdu(*END_OF_DAY, _password(password))


def status_enquiry(password: str = DEFAULT_PASSWORD, service_byte: int | None = None) -> Apdu:
    """``05 01``: ask whether the terminal is ready (its completion carries the status code)."""
    data = _password(password)
    if service_byte is not None:
        data += encode_bmps([(0x03, _byte(service_byte, "service byte"))])
    return Apdu(*STATUS_ENQUIRY, data)


# -- the terminal's view: what an ECR command says --------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    password: str
    config: int
    currency: int | None = None
    service_byte: int | None = None


@dataclass(frozen=True, slots=True)
class Authorization:
    amount: int
    currency: int | None = None
    payment_type: int | None = None
    max_status_infos: int | None = None
    timeout: int | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    password: str
    amount: int
    currency: int | None = None


@dataclass(frozen=True, slots=True)
class Reversal:
    password: str
    receipt_number: str


@dataclass(frozen=True, slots=True)
class PasswordCommand:
    """End of day, repeat receipt or status enquiry: a command with a password only."""

    command: tuple[int, int]
    password: str


@dataclass(frozen=True, slots=True)
class BareCommand:
    """A command without data that matters: log-off, abort, acknowledgement (or one we ignore)."""

    command: tuple[int, int]


EcrCommand = Registration | Authorization | Refund | Reversal | PasswordCommand | BareCommand


def _need(value: bytes | None, what: str) -> bytes:
    if value is None:
        raise ZvtError(f"{what} is missing")
    return value


def _optional_byte(value: bytes | None) -> int | None:
    return None if value is None else value[0]


def _currency(value: bytes | None) -> int | None:
    return None if value is None else int(bcd_decode(value))


def parse_command(apdu: Apdu) -> EcrCommand:
    """What an ECR command asks for; raises :class:`ZvtError` when its data is malformed."""
    command, data = apdu.command, apdu.data
    if command == REGISTRATION:
        if len(data) < 4 or len(data) == 5:
            raise ZvtError(f"registration data of {len(data)} bytes: password, config [, currency]")
        rest = decode_bmps(data[6:])
        currency = _currency(data[4:6]) if len(data) >= 6 else None
        return Registration(bcd_decode(data[:3]), data[3], currency, _optional_byte(rest.get(0x03)))
    if command == AUTHORIZATION:
        bmps = decode_bmps(data)
        return Authorization(
            amount=decode_amount(_need(bmps.get(0x04), "the amount (BMP 04)")),
            currency=_currency(bmps.get(0x49)),
            payment_type=_optional_byte(bmps.get(0x19)),
            max_status_infos=_optional_byte(bmps.get(0x02)),
            timeout=_optional_byte(bmps.get(0x01)),
        )
    if command in (REFUND, REVERSAL, END_OF_DAY, REPEAT_RECEIPT, STATUS_ENQUIRY):
        if len(data) < 3:
            raise ZvtError(f"command {command[0]:02X} {command[1]:02X} needs the 3-byte password")
        password, bmps = bcd_decode(data[:3]), decode_bmps(data[3:])
        if command == REFUND:
            amount = decode_amount(_need(bmps.get(0x04), "the amount (BMP 04)"))
            return Refund(password, amount, _currency(bmps.get(0x49)))
        if command == REVERSAL:
            return Reversal(password, bcd_decode(_need(bmps.get(0x87), "the receipt number (BMP 87)")))
        return PasswordCommand(command, password)
    return BareCommand(command)
