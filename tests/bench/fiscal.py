"""Fiscal receipt benchmark: a 20-item receipt through the Datecs X driver and the simulator.

    python tests/bench/fiscal.py [--receipts 50] [--items 20]

The simulator (``smartpos-sim fiscal --protocol datecs-x``, no simulated delay) runs as its own
process on a TCP port; the hub's real driver fiscalises each receipt with its full flow
(transaction status, open, one sale command per item, payment, the status check, close), the
journal kept in memory. ``receipt_ms`` is the median time of one receipt, ``receipt_p99_ms``
the slowest 1 %, and ``round_trips`` the commands one receipt takes. The last line printed is
one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drivers.fiscal.datecs_x import DatecsXOptions, DatecsXPrinter
from drivers.transports import create_transport, parse_transport_url
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt
from tests.support.fiscal_sim import FiscalSim


class MemoryJournal:
    def __init__(self) -> None:
        self.marks: dict[str, Any] = {}

    async def mark(self, **values: Any) -> None:
        self.marks.update(values)


def receipt(number: int, items: int) -> FiscalReceipt:
    lines = [FiscalItem(name=f"Artikal {i}", quantity="1", unit_price=100 + i, total=100 + i, tax_group="A",
                        tax_rate="17") for i in range(items)]  # fmt: skip
    total = sum(line.total for line in lines)
    return FiscalReceipt(request_id=f"bench{number:08d}", kind="sale", number=f"B-{number}", at="2026-11-30T10:00:00+01:00",
                         cashier="bench", items=lines, payments=[FiscalPayment(type="cash", amount=total)], total=total)  # fmt: skip


async def run(sim: FiscalSim, receipts: int, items: int) -> dict[str, Any]:
    transport = create_transport(parse_transport_url(sim.url))
    printer = DatecsXPrinter("bench", transport, DatecsXOptions())
    await printer.connect()
    try:
        await printer.fiscalise(receipt(0, items), MemoryJournal())  # warm-up
        times, trips = [], []
        for n in range(1, receipts + 1):
            before = printer.link.round_trips
            started = time.perf_counter()
            await printer.fiscalise(receipt(n, items), MemoryJournal())
            times.append((time.perf_counter() - started) * 1000)
            trips.append(printer.link.round_trips - before)
    finally:
        await printer.close()
    times.sort()
    return {
        "receipts": receipts, "items_per_receipt": items,
        "receipt_ms": round(statistics.median(times), 2),
        "receipt_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
        "round_trips": max(trips), "target_receipt_ms": 100,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    args = parser.parse_args()
    sim = FiscalSim().start()
    try:
        figures = asyncio.run(run(sim, args.receipts, args.items))
        figures["issued_by_device"] = len(sim.issued())
    finally:
        sim.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
