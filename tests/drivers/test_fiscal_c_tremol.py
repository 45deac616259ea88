"""The Datecs C and Tremol ZFP drivers against ``smartpos-sim fiscal`` as a real process.

Each test drives a driver directly (no hub) over TCP, or over a pseudo-terminal, and asks the
simulator's control port what the fiscal memory holds: whatever goes wrong on the way, one
sale gives exactly one fiscal receipt, and its number is the one the driver reports.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DeviceOffline, PaperOut
from drivers.fiscal.datecs_c import DatecsCPrinter
from drivers.fiscal.resumable import ResumableFiscalPrinter
from drivers.fiscal.tremol import TremolPrinter
from drivers.transports import create_transport, parse_transport_url
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt
from tests.support.fiscal_sim import FiscalSim

PROTOCOLS = ("datecs-c", "tremol")
# The commands of one receipt's flow, each of whose replies a test drops once.
FLOW_COMMANDS = {
    "datecs-c": ("4c", "71", "30", "31", "35", "36", "38"),
    "tremol": ("72", "30", "31", "35", "37", "38", "71"),
}


class MemoryJournal:
    """The journal the hub keeps in SQLite, kept in memory (it outlives driver instances)."""

    def __init__(self) -> None:
        self._marks: dict[str, Any] = {}

    @property
    def marks(self) -> dict[str, Any]:
        return self._marks

    async def mark(self, **values: Any) -> None:
        self._marks.update(values)


@pytest.fixture
def sims() -> Iterator[list[FiscalSim]]:
    started: list[FiscalSim] = []
    yield started
    for sim in started:
        sim.stop()


def start(sims: list[FiscalSim], protocol: str, link: Path | None = None) -> FiscalSim:
    sim = FiscalSim(protocol, link=link).start()
    sims.append(sim)
    return sim


def make_driver(fp: FiscalSim, **options: Any) -> ResumableFiscalPrinter:
    cls: type[DatecsCPrinter] | type[TremolPrinter] = (
        DatecsCPrinter if fp.protocol == "datecs-c" else TremolPrinter
    )
    url = fp.url + ("?baudrate=115200" if fp.link else "")
    return cls("fp", create_transport(parse_transport_url(url)), cls.parse_options(options))


@asynccontextmanager
async def connected(fp: FiscalSim, **options: Any) -> AsyncIterator[ResumableFiscalPrinter]:
    driver = make_driver(fp, **options)
    await driver.connect()
    try:
        yield driver
    finally:
        await driver.close()


def sale(key: str = "s1", *, payments: list[FiscalPayment] | None = None) -> FiscalReceipt:
    """Milk 2 x 2.50 (A) and bread 1.00 less 0.10 (B): 5.90, paid with 10.00 in cash."""
    items = [
        FiscalItem(name="Milk 1l", quantity="2", unit_price=250, total=500, tax_group="A", tax_rate="17"),
        FiscalItem(name="Bread", quantity="1", unit_price=100, total=90, discount=10, tax_group="B",
                   tax_rate="9"),
    ]  # fmt: skip
    return FiscalReceipt(
        request_id=key, kind="sale", number=f"T1-{key}", at="2024-05-01T10:00:00+02:00", cashier="Ana",
        items=items, total=590, comments=["Thank you"],
        payments=payments or [FiscalPayment(type="cash", amount=590, tendered=1000)],
    )  # fmt: skip


def refund_of(number: str) -> FiscalReceipt:
    item = FiscalItem(name="Milk 1l", quantity="1", unit_price=250, total=250, tax_group="A", tax_rate="17")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return FiscalReceipt(
        request_id="r1", kind="refund", number="T1-R-1", at=at, cashier="Ana", items=[item], total=250,
        payments=[FiscalPayment(type="cash", amount=250, tendered=250)], refund_of_number=number,
        refund_of_at=at,
    )  # fmt: skip


def state(fp: FiscalSim) -> dict[str, Any]:
    return dict(json.loads(fp.control("state")))


def counters(fp: FiscalSim) -> dict[str, int]:
    return dict(json.loads(fp.control("status"))["counters"])


def one_issued(fp: FiscalSim, number: str) -> dict[str, Any]:
    issued = fp.issued()
    assert len(issued) == 1, issued
    assert str(issued[0]["number"]) == number
    return issued[0]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_receipt_is_issued_once_with_the_devices_number(sims: list[FiscalSim], protocol: str) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    async with connected(fp) as driver:
        result = await driver.fiscalise(sale(), journal)
    receipt = one_issued(fp, result.fiscal_number)
    assert (receipt["total"], receipt["paid"], receipt["change"]) == (590, 1000, 410)
    assert [item["quantity"] for item in receipt["items"]] == ["2.000", "1.000"]
    assert [item["tax_group"] for item in receipt["items"]] == ["A", "B"]
    assert receipt["items"][1]["adjustment"] == -10 and receipt["comments"] == ["Thank you"]
    assert result.device_serial == "02123456" and result.details["serial_number"] == "DT123456"
    assert journal.marks["close_sent"] is True and journal.marks["before_number"] == 0
    assert fp.receipts() == fp.issued()  # nothing cancelled on the way


@pytest.mark.parametrize(
    ("protocol", "command"), [(p, c) for p in PROTOCOLS for c in FLOW_COMMANDS[p]]
)  # fmt: skip
async def test_a_reply_lost_at_each_step_still_gives_exactly_one(
    sims: list[FiscalSim], protocol: str, command: str
) -> None:
    fp = start(sims, protocol)
    async with connected(fp) as driver:
        fp.control(f"drop_cmd {command}")
        result = await driver.fiscalise(sale(), MemoryJournal())
    one_issued(fp, result.fiscal_number)
    seen = counters(fp)
    # The reply was withheld once and the resend with the same sequence number got it repeated.
    assert seen["dropped"] == 1 and seen["repeated"] == 1, seen


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_busy_device_is_waited_for_and_a_nak_resends(sims: list[FiscalSim], protocol: str) -> None:
    fp = start(sims, protocol)
    async with connected(fp) as driver:
        fp.control("busy 900")  # longer than the reply timeout: only busy bytes keep us waiting
        fp.control("nak_next")
        result = await driver.fiscalise(sale(), MemoryJournal())
    one_issued(fp, result.fiscal_number)
    seen = counters(fp)
    assert seen["naks"] == 1 and seen["repeated"] == 0, seen


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_paper_out_refuses_and_the_journal_resumes_once_paper_is_back(
    sims: list[FiscalSim], protocol: str
) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    async with connected(fp) as driver:
        fp.control("paper_out on")
        with pytest.raises(PaperOut):
            await driver.fiscalise(sale(), journal)
        assert fp.receipts() == [] and state(fp)["open_receipt"] is None
        fp.control("paper_out off")
        result = await driver.fiscalise(sale(), journal)
    one_issued(fp, result.fiscal_number)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_paper_out_mid_sales_cancels_the_unfinished_receipt_and_issues_it_whole(
    sims: list[FiscalSim], protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    async with connected(fp) as driver:
        register = driver._sale
        sold: list[FiscalItem] = []

        async def sale_until_the_roll_ends(item: FiscalItem, exponent: int) -> None:
            if len(sold) == 1:
                fp.control("paper_out on")
            sold.append(item)
            await register(item, exponent)

        monkeypatch.setattr(driver, "_sale", sale_until_the_roll_ends)
        with pytest.raises(PaperOut):
            await driver.fiscalise(sale(), journal)
        assert state(fp)["open_receipt"] is not None
        fp.control("paper_out off")
        result = await driver.fiscalise(sale(), journal)
    receipt = one_issued(fp, result.fiscal_number)
    assert len(receipt["items"]) == 2 and receipt["total"] == 590
    assert [r["cancelled"] for r in fp.receipts()] == [True, False]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_paper_out_between_payments_is_resumed_or_reissued_once(
    sims: list[FiscalSim], protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    payments = [FiscalPayment(type="card", amount=300), FiscalPayment(type="cash", amount=290, tendered=500)]
    async with connected(fp) as driver:
        pay = driver._pay
        paid: list[FiscalPayment] = []

        async def pay_until_the_roll_ends(payment: FiscalPayment, value: int, exponent: int) -> None:
            if len(paid) == 1:
                fp.control("paper_out on")
            paid.append(payment)
            await pay(payment, value, exponent)

        monkeypatch.setattr(driver, "_pay", pay_until_the_roll_ends)
        with pytest.raises(PaperOut):
            await driver.fiscalise(sale(payments=payments), journal)
        fp.control("paper_out off")
        result = await driver.fiscalise(sale(payments=payments), journal)
    receipt = one_issued(fp, result.fiscal_number)
    assert receipt["paid"] == 800 and receipt["change"] == 210
    if protocol == "datecs-c":
        # A C device cannot cancel once paid: our own receipt is finished, not issued again.
        assert len(fp.receipts()) == 1 and [p["kind"] for p in receipt["payments"]] == ["debit_card", "cash"]
    else:
        assert [r["cancelled"] for r in fp.receipts()] == [True, False]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_close_whose_answer_was_lost_is_reconciled_by_the_next_attempt(
    sims: list[FiscalSim], protocol: str
) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    async with connected(fp, attempts=1, reply_timeout=0.3) as driver:
        fp.control("drop_cmd 38")
        with pytest.raises(DeviceOffline):
            await driver.fiscalise(sale(), journal)
    assert journal.marks["close_sent"] is True and len(fp.issued()) == 1
    # A restarted hub: a new driver, its sequence numbers starting over.
    async with connected(fp) as driver:
        result = await driver.fiscalise(sale(), journal)
    one_issued(fp, result.fiscal_number)
    assert len(fp.receipts()) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_close_marked_but_never_sent_is_closed_by_the_next_attempt(
    sims: list[FiscalSim], protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp = start(sims, protocol)
    journal = MemoryJournal()
    async with connected(fp) as driver:

        async def killed_before_close() -> int:
            raise DeviceOffline("the hub stopped right after marking close_sent")

        monkeypatch.setattr(driver, "_close", killed_before_close)
        with pytest.raises(DeviceOffline):
            await driver.fiscalise(sale(), journal)
    assert journal.marks["close_sent"] is True and state(fp)["open_receipt"] is not None
    async with connected(fp) as driver:
        result = await driver.fiscalise(sale(), journal)
    one_issued(fp, result.fiscal_number)
    assert len(fp.receipts()) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_new_driver_whose_first_sequence_number_collides_is_not_fooled(
    sims: list[FiscalSim], protocol: str
) -> None:
    fp = start(sims, protocol)
    async with connected(fp) as first:
        await first.health()  # the device's last message is now a status read
    second = make_driver(fp)
    # Start where the first driver's last request was: the device repeats that reply.
    if isinstance(second, DatecsCPrinter):
        second.link._seq = 0x21
    else:
        assert isinstance(second, TremolPrinter)
        second.link._nbl = 0x21
    await second.connect()
    try:
        assert second.fm_number == "02123456"
        result = await second.fiscalise(sale(), MemoryJournal())
    finally:
        await second.close()
    one_issued(fp, result.fiscal_number)
    assert counters(fp)["repeated"] == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_x_and_z_reports_cash_and_duplicate(sims: list[FiscalSim], protocol: str) -> None:
    fp = start(sims, protocol)
    async with connected(fp) as driver:
        await driver.cash_in_out(2000)
        await driver.cash_in_out(-500)
        await driver.fiscalise(sale(), MemoryJournal())
        await driver.duplicate()
        x = await driver.report("X")
        z = await driver.report("Z")
    assert fp.issued()[0]["duplicated"] is True
    memory = state(fp)
    assert memory["z_counter"] == 1 and memory["daily"]["sales"]["A"] == 0  # zeroed by the Z
    if protocol == "datecs-c":
        assert (x.number, z.number) == (1, 1)
        assert x.totals["A"] == z.totals["A"] == 500 and z.totals["B"] == 90
    else:
        assert (x.kind, z.kind) == ("X", "Z")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_refund_is_a_storno_receipt_naming_the_sale(sims: list[FiscalSim], protocol: str) -> None:
    fp = start(sims, protocol)
    async with connected(fp) as driver:
        sold = await driver.fiscalise(sale(), MemoryJournal())
        refunded = await driver.fiscalise(refund_of(sold.fiscal_number), MemoryJournal())
    storno = [r for r in fp.issued() if r["kind"] == "storno"]
    assert len(storno) == 1 and str(storno[0]["number"]) == refunded.fiscal_number
    assert storno[0]["storno_of"]["document"] == int(sold.fiscal_number) and storno[0]["total"] == 250


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_over_a_serial_line(sims: list[FiscalSim], protocol: str, tmp_path: Path) -> None:
    fp = start(sims, protocol, link=tmp_path / "fiscal-tty")
    async with connected(fp) as driver:
        assert (await driver.health()).state == "online"
        fp.control("drop_cmd 38")
        result = await driver.fiscalise(sale(), MemoryJournal())
    one_issued(fp, result.fiscal_number)


async def test_tremol_lan_password_goes_first_and_paper_shows_in_health(sims: list[FiscalSim]) -> None:
    fp = start(sims, "tremol")
    async with connected(fp, lan_password="1234") as driver:
        assert counters(fp)["noise"] >= 1  # the simulator takes no password: it skips the bytes
        fp.control("paper_out on")
        health = await driver.health()
    assert health.state == "error" and "paper_out" in health.conditions
