"""The ZVT driver against ``smartpos-sim terminal --protocol zvt`` as a real process, over TCP and
over a pseudo-terminal (DLE frames, ACK/NAK): approvals with receipts and live statuses,
declines, aborts from either side, timeouts, dropped links and restarts that must end with
exactly one answer from the terminal's own journal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from drivers.base import PaymentOutcome, TerminalStatus
from drivers.errors import Busy, DeviceError, DeviceOffline, Timeout
from drivers.payments.zvt import ZvtTerminal, journal_path
from drivers.payments.zvt_journal import Pending, Snapshot, decide
from drivers.transports import create_transport, parse_transport_url
from tests.support.payment_terminal import TerminalSim


@pytest.fixture(params=["tcp", "serial"])
def sim(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TerminalSim]:
    link = tmp_path / "ttyZVT" if request.param == "serial" else None
    terminal = TerminalSim("zvt", link=link, extra=["--ack-timeout-ms", "1000"]).start()
    yield terminal
    terminal.stop()


def build(sim: TerminalSim, journal: Path, **options: Any) -> ZvtTerminal:
    settings = {
        "ack_timeout": 2.0,
        "card_timeout": 10.0,
        "abort_grace": 1.0,
        "journal_dir": str(journal),
        **options,
    }
    transport = create_transport(parse_transport_url(sim.url))
    return ZvtTerminal("till-1", transport, ZvtTerminal.parse_options(settings))


@asynccontextmanager
async def connected(sim: TerminalSim, journal: Path, **options: Any) -> AsyncIterator[ZvtTerminal]:
    driver = build(sim, journal, **options)
    await driver.connect()
    try:
        yield driver
    finally:
        await driver.close()


class Statuses:
    """Collects what ``on_status`` gets, in order."""

    def __init__(self) -> None:
        self.seen: list[TerminalStatus] = []
        self.first = asyncio.Event()

    async def __call__(self, status: TerminalStatus) -> None:
        self.seen.append(status)
        self.first.set()

    @property
    def texts(self) -> list[str]:
        return [status.text for status in self.seen]


async def ask(driver: ZvtTerminal, reference: str, timeout: float = 15.0) -> PaymentOutcome | None:
    """``last_result`` as the device manager uses it: ask again while the terminal is busy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await driver.last_result(reference)
        except Busy:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_approved_payment_with_receipt_and_every_status_in_order(
    sim: TerminalSim, tmp_path: Path
) -> None:
    sim.control("next pin")
    statuses = Statuses()
    async with connected(sim, tmp_path) as driver:
        assert (await driver.health()).state == "online"
        outcome = await driver.pay(1050, "sale-1/card", on_status=statuses)
    assert statuses.texts == ["insert card", "enter PIN", "please wait"]
    assert [s.code for s in statuses.seen] == ["0A", "01", "0E"]
    (booked,) = sim.transactions()
    assert outcome.state == "approved" and outcome.amount == 1050 and outcome.result_code == "00"
    assert (outcome.trace, outcome.receipt_number) == (booked["trace"], booked["receipt_number"])
    assert outcome.terminal_id == "52001233" and outcome.card_type == "VISA"
    assert outcome.masked_pan == "474843******7743" and outcome.reference == "sale-1/card"
    assert outcome.receipt_lines == booked["lines"] and outcome.receipt_lines[-1] == "APPROVED"


async def test_declined_with_the_codes_message(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("next decline 51")
    async with connected(sim, tmp_path) as driver:
        outcome = await driver.pay(999, "sale-2/card", on_status=Statuses())
    assert outcome.state == "declined" and outcome.result_code == "51"
    assert outcome.message == "declined by the authorisation host (code 81)"  # 0x51 = 81
    assert outcome.trace == sim.transactions()[0]["trace"] and "DECLINED (51)" in outcome.receipt_lines


async def test_abort_on_the_terminal(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("next abort")
    async with connected(sim, tmp_path) as driver:
        outcome = await driver.pay(500, "sale-3/card", on_status=Statuses())
        assert await driver.last_result("sale-3/card") == outcome
    assert outcome.state == "aborted" and outcome.result_code == "6C"
    assert outcome.message == "aborted (timeout or abort key)" and sim.transactions() == []


async def test_ecr_abort_while_waiting_for_a_card(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("card 10000")
    statuses = Statuses()
    async with connected(sim, tmp_path) as driver:
        payment = asyncio.create_task(driver.pay(700, "sale-4/card", on_status=statuses))
        await asyncio.wait_for(statuses.first.wait(), 5)
        assert statuses.texts == ["insert card"]
        await driver.abort()
        outcome = await asyncio.wait_for(payment, 5)
    assert outcome.state == "aborted" and outcome.result_code == "6C" and sim.transactions() == []


async def test_timeout_then_last_result_tells_the_late_approval(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("delay 2500")  # the host answers long after the ECR gave up
    async with connected(sim, tmp_path, card_timeout=0.6, abort_grace=0.4) as driver:
        with pytest.raises(Timeout) as caught:
            await driver.pay(1100, "sale-5/card", on_status=Statuses())
        assert caught.value.sent
        outcome = await ask(driver, "sale-5/card")
        assert outcome is not None and await driver.last_result("sale-5/card") == outcome
        # A retried payment with the same reference is answered from the terminal, not charged.
        assert await driver.pay(1100, "sale-5/card", on_status=Statuses()) == outcome
    (booked,) = sim.transactions()
    assert outcome.state == "approved" and outcome.amount == 1100
    assert (outcome.trace, outcome.receipt_number) == (booked["trace"], booked["receipt_number"])


async def test_hung_card_step_times_out_and_nothing_was_booked(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("next approve")
    sim.control("hang 1500")
    async with connected(sim, tmp_path, card_timeout=0.5, abort_grace=0.3) as driver:
        await driver.pay(300, "sale-6a/card", on_status=Statuses())  # the terminal's last transaction
        sim.control("next timeout")
        with pytest.raises(Timeout):
            await driver.pay(400, "sale-6b/card", on_status=Statuses())
        await driver.close()
        await asyncio.sleep(1.5)  # the hung card reader gives up (or saw the link close)
        await driver.connect()
        assert await ask(driver, "sale-6b/card") is None  # same last transaction as before: none booked
        assert await driver.last_result("sale-6a/card") is not None
    assert [t["amount"] for t in sim.transactions()] == [300]


@pytest.mark.parametrize("stage", ["after", "before"])
async def test_dropped_link_then_exactly_one_outcome_after_reconnect(
    sim: TerminalSim, tmp_path: Path, stage: str
) -> None:
    sim.control(f"next drop {stage}")
    async with connected(sim, tmp_path, card_timeout=1.0, abort_grace=0.3) as driver:
        with pytest.raises((DeviceOffline, Timeout)):  # TCP closes; a dead serial line goes silent
            await driver.pay(1200, "sale-7/card", on_status=Statuses())
        await driver.close()
        await driver.connect()
        outcome = await ask(driver, "sale-7/card")
        again = await ask(driver, "sale-7/card")
    assert outcome == again
    if stage == "after":
        (booked,) = sim.transactions()
        assert outcome is not None and outcome.state == "approved"
        assert (outcome.trace, outcome.amount) == (booked["trace"], 1200)
        assert outcome.receipt_lines == booked["lines"]
    else:
        assert outcome is None and sim.transactions() == []


async def test_a_restarted_hub_settles_the_pending_payment_from_its_journal(
    sim: TerminalSim, tmp_path: Path
) -> None:
    sim.control("next drop")
    async with connected(sim, tmp_path, card_timeout=1.0, abort_grace=0.3) as driver:
        with pytest.raises(DeviceError):
            await driver.pay(1500, "sale-8/card", on_status=Statuses())
    # A new process: nothing in memory, only the journal file written before sending.
    async with connected(sim, tmp_path) as restarted:
        assert await restarted.last_result("never-sent") is None
        outcome = await ask(restarted, "sale-8/card")
        assert outcome is not None and outcome.state == "approved" and outcome.amount == 1500
        follow_up = await restarted.pay(200, "sale-9/card", on_status=Statuses())
    assert follow_up.state == "approved"
    assert [t["amount"] for t in sim.transactions()] == [1500, 200]


async def test_refund_reversal_end_of_day_and_text_blocks(sim: TerminalSim, tmp_path: Path) -> None:
    sim.control("print block")
    async with connected(sim, tmp_path) as driver:
        paid = await driver.pay(2000, "sale-10/card", on_status=Statuses())
        assert paid.receipt_lines[-1] == "APPROVED"  # the receipt came as a 06 D3 text block
        refund = await driver.refund(500, "refund-1/card", on_status=Statuses())
        reversal = await driver.reverse(paid.receipt_number, "void-1/card", on_status=Statuses())
        twice = await driver.reverse(paid.receipt_number, "void-2/card", on_status=Statuses())
        lines = await driver.end_of_day()
    assert refund.state == "approved" and refund.amount == 500 and "REFUND" in refund.receipt_lines
    assert reversal.state == "approved" and reversal.amount == 2000
    assert f"REVERSES RECEIPT {paid.receipt_number}" in reversal.receipt_lines
    assert twice.state == "declined" and twice.message == "already reversed"
    assert lines[0] == "END OF DAY" and "total -5.00" in lines  # 20.00 - 5.00 refunded - 20.00 reversed


async def test_serial_nak_makes_the_driver_send_the_frame_again(tmp_path: Path) -> None:
    terminal = TerminalSim("zvt", link=tmp_path / "ttyZVT").start()
    try:
        async with connected(terminal, tmp_path) as driver:
            terminal.control("nak_next")
            outcome = await driver.pay(100, "sale-11/card", on_status=Statuses())
            assert driver.link.resends == 1
        assert outcome.state == "approved" and terminal.status()["naks"] == 1
    finally:
        terminal.stop()


def test_options_are_validated() -> None:
    assert ZvtTerminal.parse_options({}).config_byte == 0xBE
    for bad in ({"password": "12"}, {"config_byte": 256}, {"card_timeout": 0}, {"colour": "red"}):
        with pytest.raises(msgspec.ValidationError):
            ZvtTerminal.parse_options(bad)


def test_the_journal_lives_in_the_service_state_directory_by_default(tmp_path: Path) -> None:
    assert journal_path("till 1", str(tmp_path)) == tmp_path / "zvt-till_1.json"
    state = {"STATE_DIRECTORY": "/var/lib/smartpos:/other"}
    assert journal_path("t", "", state) == Path("/var/lib/smartpos/payment-terminals/zvt-t.json")
    assert journal_path("t", "", {"SMARTPOS_DATA_DIR": "/data"}) == Path("/data/payment-terminals/zvt-t.json")
    assert journal_path("t", "", {}) is None


async def test_without_a_journal_a_restart_shows_the_last_transaction_as_unknown(
    sim: TerminalSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("SMARTPOS_DATA_DIR", raising=False)
    async with connected(sim, tmp_path, journal_dir="") as first:
        assert not first.journal.durable
        assert await first.last_result("sale-12/card") is None  # the terminal has booked nothing
        paid = await first.pay(800, "sale-12/card", on_status=Statuses())
    async with connected(sim, tmp_path, journal_dir="") as restarted:
        shown = await restarted.last_result("sale-12/card")
    # Nothing proves whose it is: the hub compares amount, trace and time with its own record.
    assert shown is not None and shown.state == "unknown"
    assert (shown.amount, shown.trace, shown.receipt_number) == (800, paid.trace, paid.receipt_number)


def test_the_recovery_rule() -> None:
    before = Snapshot(trace="000041", receipt_number="0041", amount=1000, date="0131", time="120000")
    pending = Pending(reference="r", kind="pay", amount=1000, before=before)
    # The repeated receipt may lack the time: the trace and receipt number decide.
    assert (
        decide(pending, Snapshot(trace="000041", receipt_number="0041", amount=1000), 1000) == "nothing_new"
    )
    assert decide(pending, Snapshot(empty=True), None) == "nothing_new"
    assert decide(pending, Snapshot(trace="000042", receipt_number="0042", amount=1000), 1000) == "ours"
    assert decide(pending, Snapshot(trace="000042", receipt_number="0042", amount=999), 999) == "someone_else"
    reversal = Pending(reference="v", kind="reverse", amount=0, before=before)
    assert decide(reversal, Snapshot(trace="000042", receipt_number="0042", amount=1000), 1000) == "ours"
    first = Pending(reference="f", kind="pay", amount=500, before=Snapshot(empty=True))
    assert decide(first, Snapshot(trace="000001", receipt_number="0001", amount=500), 500) == "ours"
