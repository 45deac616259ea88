"""The simulated terminal's ZVT face: raw APDUs on TCP, DLE frames with ACK/NAK on a pty.

One :class:`ZvtConnection` per ECR link (a TCP client, or the pty). Incoming APDUs are sorted
as they arrive: the ECR's ``80 00 00`` goes to whoever waits for an acknowledgement, its
``06 B0`` aborts the card step in progress (answered ``80 00 00`` at once), a command arriving
while the terminal is master (mid-command) is refused with ``84 83`` ("function not possible"), and anything
else queues for the worker, which runs one command at a time.

The terminal is master during a command: it sends each message and waits ``ack_timeout`` for
the ECR's ``80 00 00``. An ECR that stops acknowledging is assumed gone; the terminal then
finishes the transaction without waiting, as the booking is already made. On serial each
frame must also be link-ACKed (``06``); it is sent again on NAK or silence, three times at
most. Framing and messages come from :mod:`protocols.payments` (the ECR's codec); golden
vectors from public sources, not this simulator, are what the codec is tested against.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal

from protocols.payments import zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.errors import ZvtError
from protocols.payments.zvt_codes import (
    ALREADY_REVERSED,
    FUNCTION_NOT_POSSIBLE,
    PROTOCOL_ERROR,
    REVERSAL_NOT_POSSIBLE,
)
from protocols.payments.zvt_frame import (
    ACK,
    NAK,
    Apdu,
    ApduParser,
    Control,
    FrameParser,
    encode_apdu,
    encode_frame,
)
from smartpos_sim.terminal.engine import PLEASE_WAIT, STATUS_TEXTS, Kind, TerminalEngine, Transaction

SW_VERSION = "SIM-1.0"
LINK_TRIES = 3


@dataclass(slots=True)
class ZvtSettings:
    """What the ECR's registration set, and the simulator's ZVT switches."""

    config: int = zvt.DEFAULT_CONFIG
    print_mode: Literal["lines", "block"] = "lines"
    ack_timeout: float = 5.0
    nak_next: bool = False  # serial: NAK the ECR's next good frame (it must send it again)
    naks: int = 0
    resends: int = 0


def status_info_of(transaction: Transaction) -> msg.StatusInfo:
    card = transaction.kind in ("payment", "refund")
    return msg.StatusInfo(
        result_code=transaction.result_code,
        amount=transaction.amount,
        currency=transaction.currency,
        trace=transaction.trace,
        time=transaction.time,
        date=transaction.date,
        receipt_number=transaction.receipt_number,
        terminal_id=transaction.terminal_id,
        masked_pan=transaction.masked_pan,
        payment_type=0x60 if card else None,
        card_type=10 if card else None,
        card_name=transaction.card_name,
    )


class ZvtConnection(asyncio.Protocol):
    """One ECR link: its parser, the acknowledgements it owes us and the command worker."""

    def __init__(self, engine: TerminalEngine, settings: ZvtSettings, *, serial: bool) -> None:
        self.engine = engine
        self.settings = settings
        self.serial = serial
        self._parser: ApduParser | FrameParser = FrameParser() if serial else ApduParser()
        self._transport: asyncio.BaseTransport | None = None
        self._commands: asyncio.Queue[Apdu | None] = asyncio.Queue()
        self._acks: asyncio.Queue[Apdu] = asyncio.Queue()
        self._link_answer: asyncio.Future[int] | None = None
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.abort = asyncio.Event()
        self.gone = asyncio.Event()
        # Master from taking a command until its final message: commands meanwhile are refused.
        self.master = False
        self.in_card_step = False
        self.ecr_silent = False
        self.mute = False

    # -- input ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._spawn(self._work())

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.gone.set()
        self._commands.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        if isinstance(self._parser, ApduParser):
            for apdu in self._parser.feed(data):
                self._incoming(apdu)
            return
        for item in self._parser.feed(data):
            if isinstance(item, Apdu):
                if self.settings.nak_next:
                    self.settings.nak_next = False
                    self.settings.naks += 1
                    self._write(bytes((NAK,)))
                    continue
                self._write(bytes((ACK,)))
                self._incoming(item)
            elif isinstance(item, Control):
                answer = self._link_answer
                if answer is not None and not answer.done():
                    answer.set_result(item.byte)
            elif item.frame:
                self.settings.naks += 1
                self._write(bytes((NAK,)))

    def _incoming(self, apdu: Apdu) -> None:
        if apdu.command == zvt.POSITIVE_ACK:
            self._acks.put_nowait(apdu)
        elif apdu.command == zvt.ECR_ABORT and self.master:
            if self.engine.hanging:
                return  # a hung card reader hears nothing
            if self.in_card_step:
                self.abort.set()
            self._spawn(self.send(zvt.ACK))
        elif self.master:
            self._spawn(self.send(msg.negative_ack(FUNCTION_NOT_POSSIBLE)))
        else:
            self.master = True  # taken now, so a second command right behind it is refused
            self._commands.put_nowait(apdu)

    # -- output -----------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        transport = self._transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(data)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, apdu: Apdu) -> None:
        """Send one APDU (on serial until the ECR's link ACK, three tries at most)."""
        if self.mute or self._transport is None:
            return
        if not self.serial:
            self._write(encode_apdu(apdu))
            return
        frame = encode_frame(apdu)
        async with self._send_lock:
            for _ in range(LINK_TRIES):
                self._link_answer = answer = asyncio.get_running_loop().create_future()
                self._write(frame)
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(answer, self.settings.ack_timeout) == ACK:
                        return
                self.settings.resends += 1

    async def finish(self, apdu: Apdu) -> None:
        """The command's final message: the ECR is master again from here on."""
        self.master = False
        await self.tell(apdu)

    async def tell(self, apdu: Apdu) -> None:
        """Send a message as master and wait for the ECR's ``80 00 00`` (unless it went quiet)."""
        await self.send(apdu)
        if self.ecr_silent or self.mute or self._transport is None:
            return
        try:
            await asyncio.wait_for(self._acks.get(), self.settings.ack_timeout)
        except TimeoutError:
            self.engine.counters["missing_acks"] += 1
            self.ecr_silent = True

    # -- commands ---------------------------------------------------------------------------
    async def _work(self) -> None:
        while (apdu := await self._commands.get()) is not None:
            try:
                await self._handle(apdu)
            except ZvtError:
                self.master = False
                await self.send(msg.negative_ack(PROTOCOL_ERROR))
            finally:
                self.master = self.in_card_step = self.mute = self.ecr_silent = False

    async def _handle(self, apdu: Apdu) -> None:
        command = zvt.parse_command(apdu)
        while not self._acks.empty():
            self._acks.get_nowait()
        if isinstance(command, zvt.BareCommand):
            self.master = False  # log-off, an abort with nothing to abort, or a command we lack
            known = command.command in (zvt.LOG_OFF, zvt.ECR_ABORT)
            await self.send(zvt.ACK if known else msg.negative_ack(FUNCTION_NOT_POSSIBLE))
            return
        await self.send(zvt.ACK)
        engine = self.engine
        if isinstance(command, zvt.Registration):
            self.settings.config = command.config
            await self.finish(
                msg.completion(status_byte=0, terminal_id=engine.terminal_id, currency=command.currency)
            )
        elif isinstance(command, zvt.Authorization):
            await self._card("payment", command.amount, command.currency or zvt.EUR)
        elif isinstance(command, zvt.Refund):
            await self._card("refund", command.amount, command.currency or zvt.EUR)
        elif isinstance(command, zvt.Reversal):
            await self._reversal(command.receipt_number)
        elif isinstance(command, zvt.PasswordCommand):
            if command.command == zvt.STATUS_ENQUIRY:
                await self.finish(msg.status_enquiry_completion(SW_VERSION, 0))
            elif command.command == zvt.REPEAT_RECEIPT:
                # The repeat itself succeeds, whatever the repeated transaction's result was.
                await self._report(engine.last_receipt, end=False)
            else:
                await self._status(PLEASE_WAIT)
                await self._report(engine.close_day(), end=False)

    async def _status(self, code: int) -> None:
        if self.settings.config & zvt.CONFIG_INTERMEDIATE_STATUS:
            await self.tell(msg.intermediate_status(code, 0, STATUS_TEXTS.get(code, "")))

    async def _card(self, kind: Kind, amount: int, currency: int) -> None:
        self.abort.clear()
        self.in_card_step = True
        result = await self.engine.card_step(kind, amount, currency, self._status, self.abort, self.gone)
        self.in_card_step = False
        if result.outcome == "dropped":
            # The link is lost before the terminal reports: TCP closes, a serial cable goes dead.
            self.master = False
            if self.serial:
                self.mute = True
            elif isinstance(self._transport, asyncio.WriteTransport):
                self._transport.abort()
            return
        if result.transaction is None:
            await self.finish(msg.terminal_abort(result.result_code))
            return
        await self._report(result.transaction, end=True)

    async def _reversal(self, receipt_number: str) -> None:
        original = self.engine.find_receipt(receipt_number)
        if original is None or not original.approved:
            await self.finish(msg.terminal_abort(REVERSAL_NOT_POSSIBLE))
        elif original.reversed:
            await self.finish(msg.terminal_abort(ALREADY_REVERSED))
        else:
            original.reversed = True
            await self._report(
                self.engine.book(
                    "reversal",
                    original.amount,
                    original.currency,
                    approved=True,
                    original_receipt=receipt_number,
                ),
                end=True,
            )

    async def _report(self, transaction: Transaction | None, *, end: bool) -> None:
        """Status information, the receipt, then completion; ``end``: a declined transaction
        ends its command with an abort carrying the result code instead."""
        if transaction is None:
            await self.finish(msg.completion())  # nothing stored: nothing to repeat
            return
        await self.tell(msg.status_info(status_info_of(transaction)))
        admin = transaction.kind == "end_of_day"
        wanted = zvt.CONFIG_ECR_PRINTS_ADMIN_RECEIPTS if admin else zvt.CONFIG_ECR_PRINTS_PAYMENT_RECEIPTS
        if self.settings.config & wanted and self.settings.config & zvt.CONFIG_PRINT_LINES:
            if self.settings.print_mode == "block":
                await self.tell(msg.text_block(transaction.lines))
            else:
                for index, line in enumerate(transaction.lines):
                    await self.tell(msg.print_line(line, last=index == len(transaction.lines) - 1))
        if transaction.approved or not end:
            await self.finish(msg.completion())
        else:
            await self.finish(msg.terminal_abort(transaction.result_code))
