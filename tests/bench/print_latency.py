"""Print latency benchmark: API call -> the simulated printer receiving the receipt's last byte.

    python tests/bench/print_latency.py [--receipts 500] [--lines 40]

Phases (the printer simulator runs with paper speed off):
1. bare: the same pre-rendered receipt bytes written straight to the printer socket, one at a
   time, timed to the simulator's "cut received" event: the floor for any hub.
2. latency: receipts posted one at a time through the hub's API as a paired tablet would,
   each timed from the moment the request starts to the simulator receiving its cut.
3. throughput: the same number of receipts posted by 8 concurrent clients; receipts/s is the
   count over the time from the first request to the last cut.
It also measures the hub's start-up (process start to /readyz) and its idle RSS, the hub's CPU
time per receipt in the burst, and the machine's steal time then: on a shared VM the host
takes CPU away at will, which moves receipts/s from run to run but not CPU per receipt.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.escpos_cache import use_persistent_escpos_cache

use_persistent_escpos_cache(None)  # the hub measured for start-up runs with a warm cache, as in service

from protocols.escpos import ReceiptDocument, render
from tests.support.procs import HubProcess, PrinterSim, printer_device, receipt


class CutEvents:
    """Subscribes to the simulator's control port and queues the times cuts were received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cuts: asyncio.Queue[float] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"subscribe\n")
        await writer.drain()
        assert (await reader.readline()).strip() == b"ok"
        self._writer = writer
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            event = json.loads(line)
            if event.get("event") == "cut":
                self.cuts.put_nowait(float(event["t"]))

    async def next_cut(self, timeout: float = 30.0) -> float:
        return await asyncio.wait_for(self.cuts.get(), timeout)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self._writer.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def bare(sim: PrinterSim, cuts: CutEvents, data: bytes, count: int) -> list[float]:
    _, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    latencies = []
    for _ in range(count):
        start = time.time()
        writer.write(data)
        await writer.drain()
        latencies.append((await cuts.next_cut()) - start)
    writer.close()
    return latencies


async def through_hub(hub: HubProcess, cuts: CutEvents, document: dict[str, Any], count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {hub.token}"}
    latencies = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(count):
            start = time.time()
            async with session.post(
                f"{hub.url}/api/v1/devices/receipt/jobs", json={"document": document}
            ) as response:
                assert response.status == 201, await response.text()
            latencies.append((await cuts.next_cut()) - start)
    return latencies


async def burst(
    hub: HubProcess, cuts: CutEvents, document: dict[str, Any], count: int, clients: int = 8
) -> float:
    headers = {"Authorization": f"Bearer {hub.token}"}
    remaining = list(range(count))

    async def client(session: aiohttp.ClientSession) -> None:
        while remaining:
            remaining.pop()
            async with session.post(
                f"{hub.url}/api/v1/devices/receipt/jobs", json={"document": document}
            ) as response:
                assert response.status == 201, await response.text()

    start = time.time()
    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    last = start
    for _ in range(count):
        last = await cuts.next_cut(60)
    return count / (last - start)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine: on a shared VM, time the host gave elsewhere."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (values[7] if len(values) > 7 else 0), sum(values)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=500)
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()
    document = receipt("Benchmark receipt", lines=args.lines)
    import msgspec

    data = render(msgspec.convert(document, ReceiptDocument))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sim = PrinterSim(workdir, extra=[]).start()
        cuts = CutEvents(sim.control_port)
        await cuts.start()
        hub = HubProcess(workdir, [printer_device(sim)])
        try:
            bare_latencies = await bare(sim, cuts, data, args.receipts)
            started = time.monotonic()
            hub.start()
            startup_s = time.monotonic() - started
            await asyncio.sleep(2.0)
            assert hub.proc is not None
            idle_rss = rss_mb(hub.proc.pid)
            hub_latencies = await through_hub(hub, cuts, document, args.receipts)
            cpu_before, steal_before = cpu_seconds(hub.proc.pid), steal_ticks()
            receipts_per_s = await burst(hub, cuts, document, args.receipts)
            burst_cpu = cpu_seconds(hub.proc.pid) - cpu_before
            steal_after = steal_ticks()
        finally:
            await cuts.stop()
            hub.stop()
            sim.stop()
    p50 = percentile(hub_latencies, 50) * 1000
    bare_p50 = percentile(bare_latencies, 50) * 1000
    return {
        "receipts": args.receipts,
        "lines_per_receipt": args.lines,
        "receipt_bytes": len(data),
        "p50_ms": round(p50, 2),
        "p99_ms": round(percentile(hub_latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(hub_latencies) * 1000, 2),
        "bare_p50_ms": round(bare_p50, 2),
        "bare_p99_ms": round(percentile(bare_latencies, 99) * 1000, 2),
        "ratio_p50_vs_bare": round(p50 / bare_p50, 2),
        "receipts_per_s": round(receipts_per_s, 1),
        # CPU the hub spent per receipt in the burst: unlike receipts/s, not moved by steal.
        "hub_cpu_ms_per_receipt": round(burst_cpu / args.receipts * 1000, 2),
        "steal_pct_during_burst": round(
            100 * (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1]), 1
        ),
        "idle_rss_mb": round(idle_rss, 1),
        "startup_s": round(startup_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
