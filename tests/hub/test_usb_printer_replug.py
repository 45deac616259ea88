"""A USB receipt printer unplugged mid-job and plugged back: the job waits, then prints.

The hub's real ``PrinterWorker`` and ``PrintJobs`` on SQLite drive an ESC/POS printer through
the USB transport; the printer is a pyusb backend bridged to a ``smartpos-sim printer`` process
(tests/support/fake_usb.py), and USB discovery reports the replug as the hub's would.
Principle 3: the job is never lost and never failed by an unplug; what may already have
reached paper is printed again marked as a copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec

from drivers.base import DeviceHealth
from drivers.discovery.base import FoundDevice
from drivers.discovery.usb import UsbDiscovery
from drivers.transports.factory import TransportOptions
from hub.config import DeviceConfig
from hub.db.database import Database
from hub.devices.printer_worker import PrinterWorker
from hub.devices.registry import resolve
from hub.domain.events import EventLog
from hub.domain.print_jobs import PrintJob, PrintJobs
from protocols.escpos import ReceiptDocument, Text, render
from tests.support.fake_usb import FakeUsbBackend, FakeUsbDevice
from tests.support.procs import PrinterSim

SERIAL = "TM-REPLUG-7"


async def until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Wait until ``condition()`` holds, letting the worker run meanwhile."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class WakeOnReplug:
    """A discovery sink that wakes the printer's worker when its USB id comes back.

    This is what the hub's discovery does for an adopted device: the worker reconnects at once
    instead of after its reconnect backoff.
    """

    def __init__(self, found_id: str, worker: PrinterWorker) -> None:
        self.found_id = found_id
        self.worker = worker
        self.seen: list[str] = []

    def appeared(self, found: FoundDevice) -> None:
        self.seen.append(f"+{found.id}")
        if found.id == self.found_id:
            self.worker.wake()

    def disappeared(self, device_id: str) -> None:
        self.seen.append(f"-{device_id}")


async def test_unplugged_job_is_held_then_prints_after_replug(tmp_path: Path) -> None:
    # Slow paper, so the receipt is still printing (not yet confirmed) when the cable is pulled.
    sim = PrinterSim(tmp_path, speed=40).start()
    device = FakeUsbDevice(
        0x04B8, 0x0E15, serial=SERIAL, manufacturer="EPSON", product="TM-T20", printer_port=sim.port
    )
    fake = FakeUsbBackend([device])
    db = Database(tmp_path / "hub.db")
    await db.open()
    jobs = PrintJobs(db, EventLog(db))
    config = DeviceConfig(
        id="usb-receipt",
        kind="printer",
        driver="escpos",
        url=f"usb://04b8:0e15?serial={SERIAL}",
        options={"reply_timeout": 0.5, "poll_interval": 0.2},
    )
    spec = resolve(0, config, transport_options=TransportOptions(usb_backend=fake))
    healths: list[DeviceHealth] = []

    async def on_health(device_id: str, health: DeviceHealth) -> None:
        healths.append(health)

    worker = PrinterWorker(spec, jobs, on_health, language="bs")
    discovery = UsbDiscovery(interval=0.2, backend=fake)
    sink = WakeOnReplug(f"usb:{SERIAL}", worker)
    states: list[str] = []

    async def wait_job(job_id: int, state: str, timeout: float = 15.0) -> PrintJob:
        """Poll the store until the job is in ``state``, noting every state it passes."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await jobs.get(job_id)
            if not states or states[-1] != job.state:
                states.append(job.state)
            if job.state == state:
                return job
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job {job_id} is {job.state}, not {state}; went through {states}")
            await asyncio.sleep(0.05)

    def health() -> str:
        return worker.health.state

    try:
        await discovery.start(sink)
        worker.start()
        await until(lambda: health() == "online", "printer online")

        lines = [Text(text=f"Stavka {i} ........ {i}.00 KM") for i in range(1, 25)]
        document = ReceiptDocument(language="bs", blocks=[Text(text="USB račun 42"), *lines])
        job, created = await jobs.submit(
            device_id="usb-receipt",
            kind="document",
            payload=msgspec.json.encode(document),
            rendered=render(document),
            idempotency_key="sale-42-receipt",
            source="test",
        )
        assert created
        worker.wake()
        await wait_job(job.id, "printing")
        await asyncio.sleep(0.3)
        fake.unplug(device)

        # Not lost, not failed: held as offline while the printer is away.
        held = await wait_job(job.id, "held", timeout=10)
        assert held.reason == "offline" and held.attempts == 1
        assert health() == "offline"
        await until(lambda: f"-usb:{SERIAL}" in sink.seen, "discovery saw the unplug")
        await asyncio.sleep(1.0)
        assert (await wait_job(job.id, "held")).attempts == 1

        # Let the printer finish what it had already received, then plug the cable back in.
        sim.control("speed 0")
        fake.plug(device)
        done = await wait_job(job.id, "done")
        assert done.attempts == 2 and done.copies_printed == 1
        assert "failed" not in states, states
        assert states.index("printing") < states.index("held") < states.index("done"), states
        assert [h.state for h in healths].count("offline") >= 1 and health() == "online"

        # The first attempt had reached the printer before the unplug; the reprint says COPY.
        paper = sim.wait_paper("--- CUT ---", count=2)
        assert paper.count("USB račun 42") == 2
        assert "KOPIJA" in paper.split("USB račun 42")[-2], "the second print is marked as a copy"
    finally:
        await worker.stop(grace=2.0)
        await discovery.stop()
        await db.close()
        fake.close()
        sim.stop()
