"""The ESC/POS driver against the printer simulator running as a separate process."""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.base import DeviceHealth
from drivers.errors import CoverOpen, DeviceOffline, PaperOut
from drivers.escpos_printer import EscposOptions, EscposPrinter
from drivers.transports import create_transport, parse_transport_url
from protocols.escpos import ReceiptDocument, Text, render
from tests.support.procs import PrinterSim


def make_driver(sim: PrinterSim, **options: object) -> EscposPrinter:
    opts = EscposOptions(**{"reply_timeout": 0.5, "poll_interval": 0.2, **options})  # type: ignore[arg-type]
    return EscposPrinter("p1", create_transport(parse_transport_url(f"tcp://127.0.0.1:{sim.port}")), opts)


def receipt_bytes(title: str, lines: int = 5) -> bytes:
    blocks = [Text(text=title)] + [Text(text=f"line {i}") for i in range(lines)]
    return render(ReceiptDocument(blocks=blocks, language="bs"))  # type: ignore[arg-type]


async def test_health_and_confirmed_print(sim: PrinterSim) -> None:
    driver = make_driver(sim)
    await driver.connect()
    try:
        assert await driver.health() == DeviceHealth(state="online")
        await driver.print(receipt_bytes("Šifra 1"))
        # Confirmed means printed: the paper already has it when print() returns.
        assert "Šifra 1" in sim.paper() and "--- CUT ---" in sim.paper()
    finally:
        await driver.close()


async def test_confirmation_waits_for_slow_paper(tmp_path: object) -> None:
    from pathlib import Path

    sim = PrinterSim(Path(str(tmp_path)), speed=100).start()  # 4.23 mm per line at 100 mm/s
    driver = make_driver(sim)
    try:
        await driver.connect()
        start = time.monotonic()
        await driver.print(receipt_bytes("Slow", lines=20))
        elapsed = time.monotonic() - start
        assert elapsed >= 21 * 4.23 / 100 * 0.8, (
            f"print() returned after {elapsed:.2f}s, before the paper was out"
        )
    finally:
        await driver.close()
        sim.stop()


async def test_paper_out_and_cover_open_refuse_before_sending(sim: PrinterSim) -> None:
    driver = make_driver(sim)
    await driver.connect()
    try:
        sim.control("paper_out on")
        with pytest.raises(PaperOut) as excinfo:
            await driver.ensure_ready()
        assert not excinfo.value.sent
        health = await driver.health()
        assert health.state == "error" and "paper_out" in health.conditions
        sim.control("paper_out off")
        sim.control("cover_open on")
        with pytest.raises(CoverOpen):
            await driver.ensure_ready()
        sim.control("cover_open off")
        sim.control("paper_near_end on")
        health = await driver.ensure_ready()
        assert health == DeviceHealth(state="online", conditions=("paper_near_end",))
    finally:
        await driver.close()


async def test_paper_out_mid_print_is_held_then_finishes(sim: PrinterSim) -> None:
    driver = make_driver(sim)
    await driver.connect()
    seen: list[DeviceHealth] = []

    async def on_health(health: DeviceHealth) -> None:
        seen.append(health)

    try:
        await driver.ensure_ready()
        sim.control("paper_out on")  # runs out right after the check
        task = asyncio.create_task(driver.print(receipt_bytes("Held"), on_health=on_health))
        await asyncio.sleep(1.0)
        assert not task.done(), "not confirmed while the printer holds the data"
        assert any("paper_out" in h.conditions for h in seen)
        sim.control("paper_out off")
        await asyncio.wait_for(task, 5)
        assert sim.paper().count("Held") == 1
    finally:
        await driver.close()


async def test_silent_printer_is_offline(sim: PrinterSim) -> None:
    driver = make_driver(sim)
    await driver.connect()
    try:
        sim.control("offline on")
        start = time.monotonic()
        with pytest.raises(DeviceOffline, match="no status answer"):
            await driver.health()
        assert time.monotonic() - start < 2
    finally:
        sim.control("offline off")
        await driver.close()
