"""Card payment and weighing benchmark through a real hub and the simulators.

    python tests/bench/payments.py [--payments 30] [--weights 50]

- ``card_overhead_ms``: an approved ZVT card payment through the checkout API (a one-line cart),
  median, minus the simulator's own waits for that payment (the card holder presenting the
  card and the host authorising: at least one 50 ms screen step each, as the simulator
  reports them in ``last_own_ms``).
- ``weight_event_ms``: with the weighing dialog open, the p99 time from changing the weight on
  the MT-SICS simulator (control port) to the ``scale.weight`` event on the websocket. The
  scale is read every ``stream_interval`` (50 ms here), so this is bounded by it.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, wait_for
from tests.support.terminal_sim import DeviceSim


def card_payments(hub: HubProcess, terminal: DeviceSim, ids: dict[str, int], count: int) -> list[float]:
    terminal.control("card 0")
    terminal.control("delay 0")
    times = []
    for n in range(count + 1):
        cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})[1]
        hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids["SOK1"]})
        started = time.perf_counter()
        status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                               {"idempotency_key": f"bench-{n}", "print_receipt": False,
                                "payments": [{"tender_id": "card", "amount": 250}]}, timeout=60)  # fmt: skip
        elapsed = (time.perf_counter() - started) * 1000
        assert status == 201, sale
        own = float(terminal.json("status")["last_own_ms"])  # the simulated card holder and host
        if n:  # the first pays for connection set-up
            times.append(elapsed - own)
    return times


async def weight_events(hub: HubProcess, scale: DeviceSim, count: int) -> list[float]:
    hub.api("POST", "/api/v1/devices/scale-t1/weighing", {"seconds": 600})
    latencies = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{hub.url}/api/v1/events", headers={"Authorization": f"Bearer {hub.token}"}
        ) as ws,
    ):
        for n in range(count):
            grams = 100 + n * 10
            started = time.perf_counter()
            await asyncio.to_thread(scale.control, f"weight {grams}")
            async with asyncio.timeout(10):
                async for message in ws:
                    event = json.loads(message.data)
                    if event.get("type") == "scale.weight" and event["data"]["milligrams"] == grams * 1000:
                        latencies.append((time.perf_counter() - started) * 1000)
                        break
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--weights", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-payments-") as tmp:
        root = Path(tmp)
        terminal = DeviceSim("terminal", "zvt").start()
        scale = DeviceSim("scale", "sics", link=root / "scale-tty").start()
        devices: list[dict[str, Any]] = [
            {"id": "card-t1", "kind": "payment_terminal", "driver": "zvt", "url": f"tcp://127.0.0.1:{terminal.port}",
             "role": "payment_terminal", "terminal": "T1"},
            {"id": "scale-t1", "kind": "scale", "driver": "sics", "url": f"serial://{scale.link}", "role": "scale",
             "terminal": "T1", "options": {"stream_interval": 0.05}},
        ]  # fmt: skip
        hub = HubProcess(root, devices)
        try:
            hub.start()
            for device in ("card-t1", "scale-t1"):
                wait_for(lambda d=device: hub.api("GET", f"/api/v1/devices/{d}")[1]["status"] == "online", 15,  # type: ignore[misc]
                         what=device)  # fmt: skip
            ids = seed_catalog(hub)
            card = card_payments(hub, terminal, ids, args.payments)
            weights = sorted(asyncio.run(weight_events(hub, scale, args.weights)))
        finally:
            hub.stop()
            terminal.stop()
            scale.stop()
    print(json.dumps({
        "payments": len(card), "card_overhead_ms": round(statistics.median(card), 2),
        "card_p99_ms": round(sorted(card)[min(len(card) - 1, int(len(card) * 0.99))], 2),
        "weight_events": len(weights), "weight_event_ms": round(weights[min(len(weights) - 1, int(len(weights) * 0.99))], 2),
        "weight_event_p50_ms": round(statistics.median(weights), 2),
        "targets": {"card_overhead_ms": 50, "weight_event_ms": 100},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
