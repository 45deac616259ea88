"""ZVT payment terminals (Ingenico, Verifone, CCV, ... in Germany, Austria, Switzerland).

``tcp://terminal:20007`` carries raw APDUs; ``serial:///dev/ttyUSB0?baudrate=9600&stopbits=2``
carries DLE frames, each ACKed or NAKed (see :mod:`drivers.payments.zvt_link`). On connect the
ECR registers (``06 00``) with its password, config byte and currency.

Recovery (principle 3, nothing lost and nothing twice). ZVT keeps no ECR reference, so the
driver keeps a journal (:mod:`drivers.payments.zvt_journal`, a file under ``journal_dir``):
before an authorization, refund or reversal is sent, it records the reference, the amount and
the terminal's last transaction *before* it (trace, receipt number, amount, date, time; read
with repeat receipt ``06 20`` when not already known). Every outcome returned carries the
terminal's trace and receipt number. ``last_result(reference)`` after a timeout, a broken
link or a restart then asks the terminal for its last transaction (``06 20``: status
information + receipt) and decides:

* the reference already ended -> that outcome again (a retried ``pay`` never pays twice);
* the terminal's last transaction is still the one recorded before sending (or it has none)
  -> ``None``: nothing was booked, no money moved (never sent, or card step aborted/timed out);
* a newer transaction with the recorded amount -> the pending operation's outcome, approved or
  declined by its result code, with its trace, receipt number and receipt lines;
* a newer transaction of another amount -> ``unknown`` with the terminal's data, for a person.

The journal lives in ``journal_dir``, by default in the service's state directory (systemd's
``STATE_DIRECTORY`` or ``SMARTPOS_DATA_DIR``, under ``payment-terminals``). With neither it
lives in memory: after a restart nothing proves that a reference was never sent, so
``last_result`` answers ``unknown`` with the terminal's last transaction (amount, trace, time)
for the hub to compare with its own record, or ``None`` when the terminal has booked nothing.

A real terminal's repeated receipt is assumed to carry the same trace and receipt number as
the status information it sent at the time (PA00P015: 06 20 repeats the last stored receipt).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from drivers.base import DeviceHealth, PaymentOutcome, PaymentTerminalDriver, StatusCallback, TerminalStatus
from drivers.discovery.base import FoundDevice
from drivers.errors import Busy, Declined, DeviceError, DeviceOffline, Timeout
from drivers.payments.zvt_journal import Pending, Snapshot, ZvtJournal, decide
from drivers.payments.zvt_link import LinkTiming, ZvtLink
from drivers.payments.zvt_session import RunResult, SessionTiming, ZvtSession
from drivers.transports.base import Transport
from protocols.payments import zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.zvt_codes import ABORTED_BY_TIMEOUT_OR_KEY, result_message, terminal_status_message
from protocols.payments.zvt_frame import Apdu

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Byte = Annotated[int, msgspec.Meta(ge=0, le=255)]


class ZvtOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a ZVT terminal. Timeouts in seconds."""

    # The terminals' usual factory default, not a secret of ours.
    password: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")] = zvt.DEFAULT_PASSWORD
    currency: Annotated[int, msgspec.Meta(ge=1, le=999)] = zvt.EUR
    config_byte: Byte = zvt.DEFAULT_CONFIG
    payment_type: Byte | None = None  # BMP 19; None lets the terminal decide
    connect_timeout: Seconds = 5.0
    ack_timeout: Seconds = 5.0  # T3: link ACK and the terminal's 80 00 00
    attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    card_timeout: Seconds = 120.0  # terminal silence allowed while the card holder acts
    abort_grace: Seconds = 5.0  # after the ECR's abort, for the terminal to end the command
    admin_timeout: Seconds = 60.0  # registration, status enquiry, repeat receipt
    end_of_day_timeout: Seconds = 600.0
    # Where the recovery journal lives; "" means the service's state directory (see
    # journal_path), or memory only when there is none: set it for restart-safe recovery.
    journal_dir: str = ""


def journal_path(device_id: str, journal_dir: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Where the journal of ``device_id`` lives: ``journal_dir``, else the service's state
    directory (systemd's ``STATE_DIRECTORY``, else ``SMARTPOS_DATA_DIR``) under
    ``payment-terminals``; None (memory only) when none of them is set."""
    env = os.environ if env is None else env
    base = journal_dir
    if not base and env.get("STATE_DIRECTORY"):
        base = str(Path(env["STATE_DIRECTORY"].split(":")[0]) / "payment-terminals")
    if not base and env.get("SMARTPOS_DATA_DIR"):
        base = str(Path(env["SMARTPOS_DATA_DIR"]) / "payment-terminals")
    if not base:
        return None
    return Path(base) / f"zvt-{re.sub(r'[^A-Za-z0-9_.-]', '_', device_id)}.json"


def _snapshot(info: msg.StatusInfo | None) -> Snapshot:
    if info is None:
        return Snapshot(empty=True)
    return Snapshot(
        trace=info.trace,
        receipt_number=info.receipt_number,
        amount=info.amount,
        date=info.date,
        time=info.time,
    )


def _when(info: msg.StatusInfo) -> str:
    """The terminal's booking time as ``MM-DD HH:MM:SS`` (ZVT sends no year)."""
    if len(info.date) != 4 or len(info.time) != 6:
        return ""
    return f"{info.date[:2]}-{info.date[2:]} {info.time[:2]}:{info.time[2:4]}:{info.time[4:]}"


class ZvtTerminal(PaymentTerminalDriver):
    """A card terminal speaking ZVT (PA00P015) as the ECR's slave."""

    name = "zvt"
    Options = ZvtOptions
    options: ZvtOptions

    def __init__(self, device_id: str, transport: Transport, options: ZvtOptions) -> None:
        super().__init__(device_id, transport, options)
        self.serial = transport.url.scheme == "serial"
        self.link = ZvtLink(
            transport,
            device_id,
            serial=self.serial,
            timing=LinkTiming(ack_timeout=options.ack_timeout, attempts=options.attempts),
        )
        self.session = ZvtSession(
            self.link,
            device_id,
            SessionTiming(ack_timeout=options.ack_timeout, abort_grace=options.abort_grace),
        )
        self.journal = ZvtJournal(journal_path(device_id, options.journal_dir))
        self._journal_loaded = False
        self.terminal_id = ""
        self._lock = asyncio.Lock()  # one operation at a time; abort() goes around it

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        # A terminal announces nothing on its own; only a technician's probe can tell.
        return 10 if found.properties.get("probe") == "zvt" else 0

    # -- connection -------------------------------------------------------------------------
    async def connect(self) -> None:
        # A connect after a failed one starts from a closed link: one reader, one connection.
        await self.link.stop()
        if self.transport.is_open:
            await self.transport.close()
        await self.transport.open(self.options.connect_timeout)
        self.link.start()
        if not self._journal_loaded:
            await self.journal.load()
            self._journal_loaded = True
        async with self._lock:
            # A terminal may still be finishing what it sent before the link went: let it end.
            await self.session.settle()
            result = await self.session.run(
                zvt.registration(self.options.password, self.options.config_byte, self.options.currency),
                silence=self.options.admin_timeout,
            )
        if isinstance(result.end, msg.TerminalAbort):
            raise Declined(
                f"{self.device_id}: registration refused: {self._code_text(result.end.result_code)}"
            )
        if isinstance(result.end, msg.Completion) and result.end.terminal_id:
            self.terminal_id = result.end.terminal_id

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.transport.is_open and not self._lock.locked():
                async with self._lock:
                    # Bounded: on a dead serial line each frame would otherwise be tried thrice.
                    log_off = self.session.run(
                        zvt.log_off(), silence=self.options.ack_timeout, expect_end=False
                    )
                    await asyncio.wait_for(log_off, self.options.ack_timeout)
        with contextlib.suppress(Exception):
            await self.link.stop()
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def health(self) -> DeviceHealth:
        if self._lock.locked():
            return DeviceHealth(state="online", conditions=("busy",), detail="a transaction is running")
        try:
            async with self._lock:
                result = await self.session.run(
                    zvt.status_enquiry(self.options.password),
                    silence=self.options.admin_timeout,
                    after_status_enquiry=True,
                )
        except Busy:
            # Refused while the terminal is still master (finishing a transaction): it is there.
            return DeviceHealth(
                state="online", conditions=("busy",), detail="the terminal is finishing a transaction"
            )
        except Timeout as exc:
            raise DeviceOffline(f"{self.device_id}: no answer to the status enquiry: {exc}") from None
        end = result.end
        status = end.terminal_status if isinstance(end, msg.Completion) else None
        if isinstance(end, msg.TerminalAbort) or (status is not None and status != 0):
            code = end.result_code if isinstance(end, msg.TerminalAbort) else status
            return DeviceHealth(state="error", conditions=("not_ready",), detail=self._code_text(code))
        return DeviceHealth(state="online", detail=terminal_status_message(0))

    # -- money ------------------------------------------------------------------------------
    async def pay(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        apdu = zvt.authorization(
            amount, currency=self.options.currency, payment_type=self.options.payment_type
        )
        return await self._money("pay", apdu, amount, reference, on_status)

    async def refund(self, amount: int, reference: str, *, on_status: StatusCallback) -> PaymentOutcome:
        apdu = zvt.refund(amount, self.options.password, self.options.currency)
        return await self._money("refund", apdu, amount, reference, on_status)

    async def reverse(
        self, receipt_number: str, reference: str, *, on_status: StatusCallback
    ) -> PaymentOutcome:
        apdu = zvt.reversal(receipt_number, self.options.password)
        return await self._money("reverse", apdu, 0, reference, on_status)

    async def _money(
        self,
        kind: Literal["pay", "refund", "reverse"],
        apdu: Apdu,
        amount: int,
        reference: str,
        on_status: StatusCallback,
    ) -> PaymentOutcome:
        async with self._lock:
            known = self.journal.state.done.get(reference)
            if known is not None:
                return known  # this reference already ended: never a second booking
            pending = self.journal.state.pending
            if pending is not None:
                # An earlier operation's end was never heard: settle it before anything new.
                resolved = await self._resolve(pending)
                if pending.reference == reference and resolved is not None:
                    return resolved
            before = self.journal.state.last_seen or _snapshot((await self._last_transaction())[0])
            started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            await self.journal.begin(
                Pending(reference=reference, kind=kind, amount=amount, before=before, started_at=started)
            )

            async def forward(status: msg.IntermediateStatus) -> None:
                await on_status(TerminalStatus(code=f"{status.code:02X}", text=status.text))

            result = await self.session.run(apdu, silence=self.options.card_timeout, on_status=forward)
            outcome = self._outcome(result, reference, amount)
            seen = _snapshot(result.info) if result.info is not None else before
            await self.journal.finish(reference, outcome, seen)
            return outcome

    async def abort(self) -> None:
        with contextlib.suppress(DeviceError):
            await self.session.abort()

    # -- recovery ---------------------------------------------------------------------------
    async def last_result(self, reference: str) -> PaymentOutcome | None:
        async with self._lock:
            state = self.journal.state
            if reference in state.done:
                return state.done[reference]
            if state.pending is not None and state.pending.reference == reference:
                return await self._resolve(state.pending)
            if self.journal.durable:
                return None  # the journal is written before sending: nothing went out for it
            info, lines = await self._last_transaction()
            if info is None:
                return None
            outcome = self._outcome_from_info(
                info, lines, reference, info.amount or 0, state_override="unknown"
            )
            return msgspec.structs.replace(
                outcome,
                message="no record of this reference (no journal_dir); this is the terminal's last "
                "transaction: compare its amount, trace and time with the sale",
            )

    async def _resolve(self, pending: Pending) -> PaymentOutcome | None:
        info, lines = await self._last_transaction()
        now = _snapshot(info)
        verdict = decide(pending, now, now.amount)
        outcome: PaymentOutcome | None = None
        if verdict == "ours" and info is not None:
            outcome = self._outcome_from_info(info, lines, pending.reference, pending.amount)
        elif verdict == "someone_else" and info is not None:
            outcome = self._outcome_from_info(
                info, lines, pending.reference, pending.amount, state_override="unknown"
            )
            outcome = msgspec.structs.replace(
                outcome,
                message=f"the terminal's last transaction ({info.amount} minor units, trace {info.trace}) is not "
                f"the {pending.amount} sent for this reference; check the terminal's journal",
            )
        await self.journal.finish(pending.reference, outcome, now)
        return outcome

    async def _last_transaction(self) -> tuple[msg.StatusInfo | None, list[str]]:
        """The terminal's last transaction, read with repeat receipt; (None, []) if it has none."""
        # The tail of an operation we stopped listening to may still be coming: let it finish.
        await self.session.settle()
        result = await self.session.run(
            zvt.repeat_receipt(self.options.password), silence=self.options.admin_timeout
        )
        if isinstance(result.end, msg.TerminalAbort):
            raise Busy(
                f"{self.device_id}: the terminal cannot repeat its last receipt now "
                f"({self._code_text(result.end.result_code)}); ask again"
            )
        return result.info, result.lines

    # -- end of day -------------------------------------------------------------------------
    async def end_of_day(self) -> list[str]:
        async with self._lock:
            result = await self.session.run(
                zvt.end_of_day(self.options.password), silence=self.options.end_of_day_timeout
            )
            # 06 20 now repeats the end-of-day receipt: the next payment reads a fresh "before".
            self.journal.state.last_seen = None
            await self.journal.save()
        if isinstance(result.end, msg.TerminalAbort):
            raise Declined(f"{self.device_id}: end of day refused: {self._code_text(result.end.result_code)}")
        return result.lines

    # -- outcomes ---------------------------------------------------------------------------
    @staticmethod
    def _code_text(code: int | None) -> str:
        return "no result code" if code is None else f"{code:02X} {result_message(code)}"

    def _outcome(self, result: RunResult, reference: str, amount: int) -> PaymentOutcome:
        info, end = result.info, result.end
        if isinstance(end, msg.TerminalAbort):
            code = end.result_code if end.result_code is not None else ABORTED_BY_TIMEOUT_OR_KEY
            state: Literal["approved", "declined", "aborted"] = (
                "aborted"
                if code == ABORTED_BY_TIMEOUT_OR_KEY or (result.abort_sent and info is None)
                else "declined"
            )
            if info is None:
                return PaymentOutcome(
                    state=state,
                    amount=amount,
                    result_code=f"{code:02X}",
                    message=result_message(code),
                    reference=reference,
                    terminal_id=self.terminal_id,
                    receipt_lines=result.lines,
                )
            return self._outcome_from_info(
                info, result.lines, reference, amount, state_override=state, code=code
            )
        if info is None:
            # A completion without status information: the command succeeded, details unknown.
            return PaymentOutcome(
                state="approved", amount=amount, result_code="00", message=result_message(0),
                reference=reference, terminal_id=self.terminal_id, receipt_lines=result.lines,
            )  # fmt: skip
        return self._outcome_from_info(info, result.lines, reference, amount)

    def _outcome_from_info(
        self,
        info: msg.StatusInfo,
        lines: list[str],
        reference: str,
        amount: int,
        *,
        state_override: Literal["approved", "declined", "aborted", "unknown"] | None = None,
        code: int | None = None,
    ) -> PaymentOutcome:
        result_code = code if code is not None else (info.result_code if info.result_code is not None else 0)
        card = info.card_name or (f"card type {info.card_type}" if info.card_type is not None else "")
        return PaymentOutcome(
            state=state_override or ("approved" if result_code == 0 else "declined"),
            amount=info.amount if info.amount is not None else amount,
            result_code=f"{result_code:02X}",
            message=result_message(result_code),
            reference=reference,
            trace=info.trace,
            receipt_number=info.receipt_number,
            terminal_id=info.terminal_id or self.terminal_id,
            card_type=card,
            masked_pan=info.masked_pan,
            authorized_at=_when(info),
            receipt_lines=list(lines),
        )
