"""The simulated card terminal's brain, shared by its ZVT and nexo faces.

It holds the journal (every booked transaction with its trace and receipt number, the last
one repeated on request), the scripted outcomes of the next card transactions (``next ...``
on the control port) and the card step itself:

1. "insert card" (the card holder takes ``card_ms`` to present one; the ECR may abort now),
2. "enter PIN" when the script says ``pin`` (abortable too),
3. "please wait" while the host authorises (``delay_ms``; too late to abort),
4. approved or declined: the transaction is **booked** (trace and receipt number taken) before
   the ECR hears anything, exactly as a real terminal commits before it reports.

``timeout`` hangs at step 1 and answers nothing more, not even an abort, until the ECR goes
away or ``hang_ms`` passes; ``abort`` is the card holder pressing the abort key; ``drop`` books
an approval and then loses the link before reporting it (``drop before`` loses it at step 1,
nothing booked).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Behaviour = Literal["approve", "decline", "timeout", "abort", "pin", "drop"]
Kind = Literal["payment", "refund", "reversal", "end_of_day"]

INSERT_CARD, ENTER_PIN, PLEASE_WAIT = 0x0A, 0x01, 0x0E
ABORTED = 0x6C  # ZVT "abort via timeout or abort key"
STATUS_TEXTS = {INSERT_CARD: "insert card", ENTER_PIN: "enter PIN", PLEASE_WAIT: "please wait"}
STEP_S = 0.05  # the pause between two screens of the terminal


@dataclass(frozen=True, slots=True)
class Script:
    """What the next card transaction does."""

    behaviour: Behaviour = "approve"
    code: int = 0  # the decline's result code
    drop_before: bool = False


@dataclass(slots=True)
class Transaction:
    """One booked transaction (or a day's closing), as the terminal's journal keeps it."""

    kind: Kind
    amount: int
    currency: int
    approved: bool
    result_code: int
    trace: str
    receipt_number: str
    date: str  # MMDD
    time: str  # HHMMSS
    timestamp: str  # ISO 8601, for nexo
    terminal_id: str
    card_name: str = ""
    masked_pan: str = ""
    reference: str = ""  # nexo ServiceID of the request that made it
    reversed: bool = False
    original_receipt: str = ""  # reversal: the receipt it reversed
    count: int = 0  # end of day: the transactions it closed
    lines: list[str] = field(default_factory=list)

    @property
    def poi_transaction_id(self) -> str:
        return f"SIM{self.trace}.{self.receipt_number}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["poi_transaction_id"] = self.poi_transaction_id
        data["booked"] = self.approved  # money moved (a decline is journaled, not booked)
        return data


@dataclass(frozen=True, slots=True)
class CardResult:
    """How the card step ended: booked (approved or declined), aborted or link dropped."""

    outcome: Literal["booked", "aborted", "dropped"]
    transaction: Transaction | None = None
    result_code: int = 0


StatusSink = Callable[[int], Awaitable[None]]


class TerminalEngine:
    """The journal, the script queue and the card step."""

    def __init__(
        self, terminal_id: str = "52001233", *, first_trace: int = 1, first_receipt: int = 1
    ) -> None:
        self.terminal_id = terminal_id
        self.scripts: deque[Script] = deque()
        self.delay_ms = 0  # host authorisation time
        self.card_ms = 100  # time the card holder takes to present the card
        self.last_own_ms = 0.0  # the simulated waits of the last approved or declined transaction
        self.hang_ms = 60_000  # how long a hung card step lasts before the terminal gives up
        self.journal: list[Transaction] = []
        self.last_receipt: Transaction | None = None  # what 06 20 repeats (an end of day too)
        self.hanging = False  # a ``timeout`` card step: the terminal hears nothing, not even aborts
        self.counters = {"transactions": 0, "aborted": 0, "dropped": 0, "missing_acks": 0}
        self._trace = first_trace
        self._receipt = first_receipt

    # -- scripts and the journal ------------------------------------------------------------
    def next_script(self) -> Script:
        return self.scripts.popleft() if self.scripts else Script()

    def book(
        self,
        kind: Kind,
        amount: int,
        currency: int,
        *,
        approved: bool,
        result_code: int = 0,
        reference: str = "",
        original_receipt: str = "",
    ) -> Transaction:
        """Commit a transaction: it takes the next trace and receipt number."""
        now = dt.datetime.now().astimezone()
        card = kind in ("payment", "refund")
        transaction = Transaction(
            kind=kind,
            amount=amount,
            currency=currency,
            approved=approved,
            result_code=result_code,
            trace=f"{self._trace:06d}",
            receipt_number=f"{self._receipt:04d}",
            date=now.strftime("%m%d"),
            time=now.strftime("%H%M%S"),
            timestamp=now.isoformat(timespec="seconds"),
            terminal_id=self.terminal_id,
            card_name="VISA" if card else "",
            masked_pan="474843******7743" if card else "",
            reference=reference,
            original_receipt=original_receipt,
        )
        transaction.lines = receipt_lines(transaction)
        self._trace = self._trace % 999_999 + 1
        self._receipt = self._receipt % 9_999 + 1
        self.journal.append(transaction)
        self.last_receipt = transaction
        self.counters["transactions"] += 1
        return transaction

    def find_receipt(self, receipt_number: str) -> Transaction | None:
        for transaction in reversed(self.journal):
            if transaction.receipt_number == receipt_number and transaction.kind == "payment":
                return transaction
        return None

    def close_day(self) -> Transaction:
        """End of day: a closing record with the day's approved total becomes the last receipt."""
        closings = [i for i, t in enumerate(self.journal) if t.kind == "end_of_day"]
        day = self.journal[closings[-1] + 1 :] if closings else self.journal
        since = [t for t in day if t.kind in ("payment", "refund", "reversal") and t.approved]
        total = sum(-t.amount if t.kind != "payment" else t.amount for t in since)
        closing = self.book("end_of_day", max(total, 0), 978, approved=True)
        closing.lines = ["END OF DAY", f"transactions {len(since)}", f"total {money(total)}", "BATCH CLOSED"]
        closing.count = len(since)
        return closing

    def transactions_json(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in self.journal]

    # -- the card step ----------------------------------------------------------------------
    async def card_step(
        self,
        kind: Kind,
        amount: int,
        currency: int,
        status: StatusSink,
        abort: asyncio.Event,
        gone: asyncio.Event,
        *,
        reference: str = "",
    ) -> CardResult:
        """Run one card transaction as scripted.

        ``abort`` is set by the ECR's abort request, ``gone`` when the ECR's link closed: the
        card step then ends unbooked, while a transaction already at the host is finished and
        booked (the terminal cannot take back what the host approved).
        """
        script = self.next_script()
        await status(INSERT_CARD)
        if script.behaviour == "timeout":
            # Hung at the card reader: nothing more is said, aborts are not heard.
            self.hanging = True
            try:
                await _waited(self.hang_ms, gone)
            finally:
                self.hanging = False
            self.counters["aborted"] += 1
            return CardResult("aborted", result_code=ABORTED)
        if script.behaviour == "drop" and script.drop_before:
            self.counters["dropped"] += 1
            return CardResult("dropped")
        if script.behaviour == "abort" or await _waited(self.card_ms, abort, gone):
            self.counters["aborted"] += 1
            return CardResult("aborted", result_code=ABORTED)
        # The simulated card holder's and host's own time, which a benchmark subtracts: what is
        # left of a payment's duration is the ECR's (the hub's) and the link's.
        own_s = max(self.card_ms / 1000, STEP_S)
        if script.behaviour == "pin":
            await status(ENTER_PIN)
            if await _waited(max(self.card_ms, 100), abort, gone):
                self.counters["aborted"] += 1
                return CardResult("aborted", result_code=ABORTED)
            own_s += max(self.card_ms, 100) / 1000
        await status(PLEASE_WAIT)
        await asyncio.sleep(STEP_S + self.delay_ms / 1000)  # the host: no abort from here on
        self.last_own_ms = round((own_s + STEP_S + self.delay_ms / 1000) * 1000, 3)
        approved = script.behaviour != "decline"
        transaction = self.book(
            kind,
            amount,
            currency,
            approved=approved,
            result_code=0 if approved else script.code,
            reference=reference,
        )
        if script.behaviour == "drop":
            self.counters["dropped"] += 1
            return CardResult("dropped", transaction, transaction.result_code)
        return CardResult("booked", transaction, transaction.result_code)


async def _waited(milliseconds: int, *events: asyncio.Event) -> bool:
    """Wait ``milliseconds`` (at least one screen step); True if one of ``events`` was set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        timeout = max(milliseconds / 1000, STEP_S)
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)


def money(minor_units: int) -> str:
    sign = "-" if minor_units < 0 else ""
    value = abs(minor_units)
    return f"{sign}{value // 100}.{value % 100:02d}"


def receipt_lines(transaction: Transaction) -> list[str]:
    """The customer receipt a terminal would print for ``transaction``."""
    title = {
        "payment": "CARD PAYMENT",
        "refund": "REFUND",
        "reversal": "REVERSAL",
        "end_of_day": "END OF DAY",
    }
    lines = [
        "SMARTPOS SIM TERMINAL",
        title[transaction.kind],
        f"TID {transaction.terminal_id}",
        f"TRACE {transaction.trace}  RECEIPT {transaction.receipt_number}",
        f"{transaction.date[:2]}/{transaction.date[2:]} {transaction.time[:2]}:{transaction.time[2:4]}",
    ]
    if transaction.card_name:
        lines.append(f"{transaction.card_name} {transaction.masked_pan}")
    if transaction.original_receipt:
        lines.append(f"REVERSES RECEIPT {transaction.original_receipt}")
    lines.append(f"AMOUNT EUR {money(transaction.amount)}")
    lines.append("APPROVED" if transaction.approved else f"DECLINED ({transaction.result_code:02X})")
    return lines
