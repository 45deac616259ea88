"""The nexo driver against ``smartpos-sim terminal --protocol nexo`` (Terminal API JSON over HTTP)
as a real process: approvals with receipts, declines, aborts from either side, timeouts and a
dropped connection settled by TransactionStatus, never "unknown" when the terminal knows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

from drivers.base import PaymentOutcome, TerminalStatus
from drivers.errors import Busy, DeviceOffline, Timeout
from drivers.payments.nexo import NexoTerminal
from drivers.transports import create_transport, parse_transport_url
from tests.support.payment_terminal import TerminalSim


@pytest.fixture
def sim() -> Iterator[TerminalSim]:
    terminal = TerminalSim("nexo").start()
    yield terminal
    terminal.stop()


@asynccontextmanager
async def connected(sim: TerminalSim, **options: Any) -> AsyncIterator[NexoTerminal]:
    settings = {"scheme": "http", "poi_id": "SIMPOI01", "card_timeout": 10.0, "abort_grace": 2.0, **options}
    transport = create_transport(parse_transport_url(sim.url))
    driver = NexoTerminal("counter-1", transport, NexoTerminal.parse_options(settings))
    await driver.connect()
    try:
        yield driver
    finally:
        await driver.close()


class Statuses:
    def __init__(self) -> None:
        self.seen: list[TerminalStatus] = []

    async def __call__(self, status: TerminalStatus) -> None:
        self.seen.append(status)


async def ask(driver: NexoTerminal, reference: str, timeout: float = 15.0) -> PaymentOutcome | None:
    """``last_result``, asked again while the terminal reports the transaction in progress."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await driver.last_result(reference)
        except Busy:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_approved_payment_with_receipt(sim: TerminalSim) -> None:
    statuses = Statuses()
    async with connected(sim) as driver:
        assert (await driver.health()).state == "online"
        outcome = await driver.pay(1099, "sale-1/card", on_status=statuses)
        assert await driver.last_result("sale-1/card") == outcome
    (booked,) = sim.transactions()
    assert outcome.state == "approved" and outcome.amount == 1099 and outcome.result_code == "Success"
    assert (
        outcome.receipt_number == booked["poi_transaction_id"]
        and outcome.authorized_at == booked["timestamp"]
    )
    assert outcome.card_type == "VISA" and outcome.masked_pan == "474843******7743"
    assert outcome.receipt_lines == booked["lines"] and statuses.seen[0].code == "sent"


async def test_declined_with_the_error_condition(sim: TerminalSim) -> None:
    sim.control("next decline 05")
    async with connected(sim) as driver:
        outcome = await driver.pay(500, "sale-2/card", on_status=Statuses())
    assert outcome.state == "declined" and outcome.result_code == "Refusal"
    assert outcome.message == "Refusal: refusalReason=05"


async def test_terminal_abort_and_ecr_abort(sim: TerminalSim) -> None:
    sim.control("next abort")
    async with connected(sim) as driver:
        cancelled = await driver.pay(600, "sale-3/card", on_status=Statuses())
        sim.control("card 10000")
        payment = asyncio.create_task(driver.pay(700, "sale-4/card", on_status=Statuses()))
        await asyncio.sleep(0.5)  # the card holder is looking for a card
        await driver.abort()
        aborted = await asyncio.wait_for(payment, 5)
        remembered = await driver.last_result("sale-4/card")  # the terminal remembers how it ended
        assert remembered is not None and (remembered.state, remembered.result_code) == ("aborted", "Aborted")
    assert (cancelled.state, cancelled.result_code) == ("aborted", "Cancel")
    assert (aborted.state, aborted.result_code) == ("aborted", "Aborted")
    assert sim.transactions() == []


async def test_timeout_then_last_result_tells_the_late_approval(sim: TerminalSim) -> None:
    sim.control("delay 2500")
    async with connected(sim, card_timeout=0.6, abort_grace=0.4) as driver:
        with pytest.raises(Timeout) as caught:
            await driver.pay(1100, "sale-5/card", on_status=Statuses())
        assert caught.value.sent
        outcome = await ask(driver, "sale-5/card")
        assert await driver.pay(1100, "sale-5/card", on_status=Statuses()) == outcome  # not charged twice
    (booked,) = sim.transactions()
    assert (
        outcome is not None
        and outcome.state == "approved"
        and outcome.receipt_number == booked["poi_transaction_id"]
    )


async def test_hung_terminal_times_out_and_then_reports_the_cancellation(sim: TerminalSim) -> None:
    sim.control("hang 2500")
    sim.control("next timeout")
    async with connected(sim, card_timeout=0.5, abort_grace=0.3) as driver:
        with pytest.raises(Timeout):
            await driver.pay(400, "sale-6/card", on_status=Statuses())
        outcome = await ask(driver, "sale-6/card")
    assert outcome is not None and outcome.state == "aborted" and sim.transactions() == []


async def test_dropped_connection_then_exactly_one_outcome(sim: TerminalSim) -> None:
    sim.control("next drop")
    async with connected(sim) as driver:
        with pytest.raises(DeviceOffline):
            await driver.pay(1200, "sale-7/card", on_status=Statuses())
    async with connected(sim) as restarted:  # a new process: the reference is all it has
        outcome = await restarted.last_result("sale-7/card")
        assert await restarted.last_result("sale-7/card") == outcome
        assert await restarted.last_result("never-sent") is None
        assert await restarted.pay(1200, "sale-7/card", on_status=Statuses()) == outcome
    (booked,) = sim.transactions()
    assert outcome is not None and outcome.state == "approved" and outcome.amount == 1200
    assert outcome.receipt_number == booked["poi_transaction_id"]


async def test_refund_reversal_and_reconciliation(sim: TerminalSim) -> None:
    async with connected(sim) as driver:
        paid = await driver.pay(2000, "sale-8/card", on_status=Statuses())
        refund = await driver.refund(300, "refund-1/card", on_status=Statuses())
        reversal = await driver.reverse(paid.receipt_number, "void-1/card", on_status=Statuses())
        assert await driver.last_result("void-1/card") == reversal
        twice = await driver.reverse(paid.receipt_number, "void-2/card", on_status=Statuses())
        lines = await driver.end_of_day()
    assert refund.state == "approved" and refund.amount == 300 and "REFUND" in refund.receipt_lines
    assert reversal.state == "approved" and reversal.amount == 2000
    assert twice.state == "declined" and twice.result_code == "NotAllowed"
    assert lines == ["RECONCILIATION", "Card Debit: 3 x 0.00"]  # 20.00 - 3.00 - 20.00, floored at 0


async def test_unreachable_terminal_is_offline() -> None:
    transport = create_transport(parse_transport_url("tcp://127.0.0.1:9"))
    driver = NexoTerminal("gone", transport, NexoTerminal.parse_options({"scheme": "http"}))
    with pytest.raises(DeviceOffline):
        await driver.connect()
    await driver.close()


def test_options_are_validated() -> None:
    assert NexoTerminal.parse_options({}).scheme == "https"
    for bad in ({"scheme": "ftp"}, {"currency": "euro"}, {"path": "nexo"}, {"card_timeout": -1}, {"x": 1}):
        with pytest.raises(msgspec.ValidationError):
            NexoTerminal.parse_options(bad)
