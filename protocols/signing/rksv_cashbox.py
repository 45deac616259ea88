"""The RKSV cashbox as a pure state machine: which receipt comes next and what it changes.

No I/O and no clock: the caller passes the local time, signs :attr:`Draft.signing_input`
itself (the signing device may fail), and stores the new :class:`RksvState` together with the
issued receipt in one transaction.

Rules, with their sources:
- The first receipt is the start receipt, a signed null receipt chained to the cashbox id
  (RKSV § 6; Anlage Z 4).
- The turnover counter sums the gross amounts of every receipt, storno receipts included, but
  never training receipts (RKSV § 8 Abs. 1; BMF README "Brutto vs. Netto").
- At each month's end the counter is recorded by a null receipt, the month receipt; the one
  holding the counter at the year's end is the year receipt (RKSV § 8 Abs. 2, 3). The hub
  issues it before the first receipt of a later month, when there was turnover since the last
  one (and always for a year that has no year receipt yet). A month without any receipt gets
  none: its counter equals the previous month's.
- Start, year and the recovery null receipt ("Sammelbeleg" that ends an outage) must carry a
  valid signature; month receipts may be marked "Sicherheitseinrichtung ausgefallen"
  (BMF/A-SIT, "Signieren von Nullbelegen", 18.11.2016). A year receipt that cannot be signed
  is therefore issued as a failed month receipt and the year receipt is owed until the device
  works again.
- After a failed receipt a signed null receipt must follow before the next signed receipt
  with turnover (Erlass 3.6.1; BMF test tool 1.0).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

import msgspec

from protocols.signing.rksv import (
    STORNO_MARKER,
    TRAINING_MARKER,
    TURNOVER_LENGTH,
    Amounts,
    ReceiptCode,
    RksvError,
    RksvFormatError,
    chain_value,
    check_certificate_serial,
    encrypt_turnover,
    failed_jws,
    format_time,
    jws_compact,
    qr_code,
    signing_input,
)


class ReceiptKind(StrEnum):
    START = "start"
    STANDARD = "standard"
    STORNO = "storno"
    TRAINING = "training"
    MONTH = "month"
    YEAR = "year"
    RECOVERY = "recovery"


NULL_KINDS: Final = frozenset({ReceiptKind.START, ReceiptKind.MONTH, ReceiptKind.YEAR, ReceiptKind.RECOVERY})
MUST_BE_SIGNED: Final = frozenset({ReceiptKind.START, ReceiptKind.YEAR, ReceiptKind.RECOVERY})
# What the hub prints above the code (RKSV § 10 Abs. 3 wants training and storno named).
LABELS: Final = {
    ReceiptKind.START: "Startbeleg",
    ReceiptKind.STANDARD: "",
    ReceiptKind.STORNO: "Stornobuchung",
    ReceiptKind.TRAINING: "Trainingsbuchung",
    ReceiptKind.MONTH: "Monatsbeleg",
    ReceiptKind.YEAR: "Jahresbeleg",
    ReceiptKind.RECOVERY: "Sammelbeleg: Sicherheitseinrichtung wieder in Betrieb",
}


class CashboxConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What identifies the cashbox and its keys."""

    cashbox_id: str
    aes_key: bytes
    certificate_serial: str
    zda: str = "AT0"
    turnover_length: int = TURNOVER_LENGTH

    def __post_init__(self) -> None:
        check_certificate_serial(self.zda, self.certificate_serial)
        if len(self.aes_key) != 32:
            raise RksvFormatError("the AES key must have 32 bytes (AES-256)")
        if not self.cashbox_id or "_" in self.cashbox_id:
            raise RksvFormatError(f"cashbox id {self.cashbox_id!r} is empty or contains '_'")


class RksvState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the next receipt depends on; stored with each receipt, atomically."""

    last_receipt_number: int = 0  # receipt ids are "1", "2", ... per cashbox
    turnover: int = 0  # counter in cents after the last receipt
    last_jws: str = ""  # chained into the next receipt
    has_start_receipt: bool = False
    last_year: int = 0  # local month of the last receipt
    last_month: int = 0
    last_issued_at: str = ""  # receipt times never go backwards in the DEP
    open_turnover: bool = False  # receipts since the last month/year receipt
    year_closed: int = 0  # the last year that has its year receipt
    year_due: int = 0  # a year whose year receipt failed and is still owed (0: none)
    signature_failed: bool = False  # a failed receipt since the last signed null receipt


class Draft(msgspec.Struct, frozen=True, kw_only=True):
    """A receipt ready to be signed."""

    kind: ReceiptKind
    code: ReceiptCode
    turnover: int  # the counter after this receipt
    closes_period: bool = False  # a month/year receipt that ends the turnover since the last
    closes_year: int = 0  # the year a year receipt stands for

    @property
    def signing_input(self) -> bytes:
        return signing_input(self.code)


class Issued(msgspec.Struct, frozen=True, kw_only=True):
    """A receipt as issued: signed, or marked failed."""

    kind: ReceiptKind
    code: ReceiptCode
    jws: str
    qr: str
    turnover: int
    signed: bool


class Due(msgspec.Struct, frozen=True, kw_only=True):
    """A null receipt to issue before the caller's receipt."""

    kind: ReceiptKind
    closes_year: int = 0
    closes_period: bool = False
    optional: bool = False  # try it; when the device fails, leave it for later


def receipts_due(state: RksvState, local: datetime) -> list[Due]:
    """The null receipts to issue, in order, before a receipt at ``local`` time."""
    if not state.has_start_receipt:
        return [Due(kind=ReceiptKind.START)]
    due: list[Due] = []
    if (local.year, local.month) > (state.last_year, state.last_month):
        if local.year > state.last_year and state.year_closed < state.last_year:
            due.append(Due(kind=ReceiptKind.YEAR, closes_year=state.last_year, closes_period=True))
        elif state.open_turnover:
            due.append(Due(kind=ReceiptKind.MONTH, closes_period=True))
    if state.year_due:
        due.append(Due(kind=ReceiptKind.YEAR, closes_year=state.year_due, optional=True))
    elif state.signature_failed:
        due.append(Due(kind=ReceiptKind.RECOVERY, optional=True))
    return due


def draft(
    config: CashboxConfig,
    state: RksvState,
    kind: ReceiptKind,
    local: datetime,
    amounts: Amounts | None = None,
    *,
    closes_period: bool = False,
    closes_year: int = 0,
) -> Draft:
    """The next receipt of the cashbox; nothing changes until :func:`complete`."""
    amounts = amounts or Amounts()
    if kind in NULL_KINDS and any(amounts.fields()):
        raise RksvError(f"a {kind} receipt is a null receipt")
    if kind is not ReceiptKind.START and not state.has_start_receipt:
        raise RksvError("the cashbox has no start receipt yet")
    if (kind is ReceiptKind.YEAR) != (closes_year > 0):
        raise RksvError("a year receipt, and only a year receipt, names the year it closes")
    if kind is ReceiptKind.START and state.has_start_receipt:
        raise RksvError("the cashbox already has its start receipt")
    receipt_id = str(state.last_receipt_number + 1)
    issued_at = max(format_time(local), state.last_issued_at)
    turnover = state.turnover if kind is ReceiptKind.TRAINING else state.turnover + amounts.total
    if kind is ReceiptKind.TRAINING:
        field = TRAINING_MARKER
    elif kind is ReceiptKind.STORNO:
        field = STORNO_MARKER
    else:
        field = encrypt_turnover(
            turnover, config.aes_key, config.cashbox_id, receipt_id, config.turnover_length
        )
    code = ReceiptCode(
        zda=config.zda,
        cashbox_id=config.cashbox_id,
        receipt_id=receipt_id,
        issued_at=issued_at,
        amounts=amounts,
        turnover=field,
        certificate_serial=config.certificate_serial,
        previous_chain=chain_value(state.last_jws or None, config.cashbox_id),
    )
    return Draft(
        kind=kind, code=code, turnover=turnover, closes_period=closes_period, closes_year=closes_year
    )


def complete(
    state: RksvState, draft: Draft, signature: bytes | None, local: datetime
) -> tuple[RksvState, Issued]:
    """Issue ``draft`` with the device's raw ES256 signature, or ``None`` when the device
    failed; return the new state and the receipt."""
    kind, signed = draft.kind, signature is not None
    if not signed and kind in MUST_BE_SIGNED and kind is not ReceiptKind.YEAR:
        raise RksvError(f"a {kind} receipt must be signed; it cannot be issued with a failed device")
    jws = jws_compact(draft.code, signature) if signature is not None else failed_jws(draft.code)
    year_closed, year_due = state.year_closed, state.year_due
    open_turnover = state.open_turnover
    if kind is ReceiptKind.START:
        year_closed, open_turnover = local.year - 1, False
    elif kind is ReceiptKind.YEAR and signed:
        year_closed = max(year_closed, draft.closes_year)
        year_due = 0 if year_due <= draft.closes_year else year_due
    elif kind is ReceiptKind.YEAR:
        # The year receipt must be signed: record a failed month receipt and owe the year one.
        kind, year_due = ReceiptKind.MONTH, draft.closes_year
    elif kind not in NULL_KINDS and kind is not ReceiptKind.TRAINING:
        open_turnover = True  # training never moves the counter, so it needs no month receipt
    if draft.closes_period:
        open_turnover = False
    # Any signed null receipt ends an outage; a failed receipt starts (or continues) one.
    failed = not signed or (state.signature_failed and kind not in NULL_KINDS)
    period = max((local.year, local.month), (state.last_year, state.last_month))
    new_state = RksvState(
        last_receipt_number=int(draft.code.receipt_id),
        turnover=draft.turnover,
        last_jws=jws,
        has_start_receipt=True,
        last_year=period[0],
        last_month=period[1],
        last_issued_at=draft.code.issued_at,
        open_turnover=open_turnover,
        year_closed=year_closed,
        year_due=year_due,
        signature_failed=failed,
    )
    issued = Issued(
        kind=kind, code=draft.code, jws=jws, qr=qr_code(jws), turnover=draft.turnover, signed=signed
    )
    return new_state, issued
