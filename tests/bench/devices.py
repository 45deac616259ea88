"""Device fleet benchmark: discovery time for 20 simulated devices, and the hub's idle CPU.

    python tests/bench/devices.py [--idle-seconds 60]

Twenty simulators run as separate processes before the hub starts: 8 on pseudo-terminals
under a by-id style directory (4 serial ESC/POS printers the hub may probe, 2 CD5220 customer
displays, 2 barcode scanners), 6 printers on TCP ports configured in hub.toml, and 6
printers advertised over mDNS on loopback.

- ``discovery_s``: from spawning the hub process until all 20 are listed: the 14 found by
  discovery in ``GET /api/v1/discovery`` with their drivers, and the 6 configured ones online
  in ``GET /api/v1/devices``. It includes the hub's own start-up.
- ``idle_cpu_pct``: the 14 discovered devices are then adopted, so the hub owns and watches
  all 20 (status polls, serial and USB rescans, mDNS); its CPU time (user + system, from
  /proc) over ``--idle-seconds`` divided by the wall time.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.device_sims import PtySim
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for

SERIAL_PRINTERS, DISPLAYS, SCANNERS, TCP_PRINTERS, MDNS_PRINTERS = 4, 2, 2, 6, 6


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields after the command name: utime and stime are the 12th and 13th (clock ticks).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        root = Path(tmp)
        byid = root / "by-id"
        byid.mkdir()
        sims: list[Any] = []
        sims += [PrinterSim(root, extra=["--serial", str(byid / f"usb-SmartPOS_SIM-80_Printer_P{n:03d}-if00-port0")])
                 for n in range(SERIAL_PRINTERS)]  # fmt: skip
        sims += [PtySim("display", byid / f"usb-Generic_CD5220_Customer_Display_D{n:03d}-if00-port0",
                        "--protocol", "cd5220") for n in range(DISPLAYS)]  # fmt: skip
        sims += [
            PtySim("scanner", byid / f"usb-Honeywell_Barcode_Scanner_S{n:03d}-if00-port0")
            for n in range(SCANNERS)
        ]
        tcp = [PrinterSim(root) for _ in range(TCP_PRINTERS)]
        mdns = [PrinterSim(root, extra=["--mdns", f"Bench printer {n}"]) for n in range(MDNS_PRINTERS)]
        sims += tcp + mdns
        for sim in sims:
            sim.start()
        hub = HubProcess(
            root, [printer_device(sim, f"tcp-{n}") for n, sim in enumerate(tcp)], extra_toml=hub_extra(byid)
        )
        expected = SERIAL_PRINTERS + DISPLAYS + SCANNERS + MDNS_PRINTERS
        try:
            started = time.monotonic()
            hub.start(wait=False)

            def listed() -> dict[str, Any] | None:
                try:
                    found = hub.api("GET", "/api/v1/discovery", token=hub.admin_token)[1]["found"]
                    devices = hub.api("GET", "/api/v1/devices")[1]["devices"]
                except Exception:
                    return None
                ours = [f for f in found if f["id"].startswith(("serial:", "mdns:Bench")) and f["supported"]]
                online = [d for d in devices if d["status"] == "online"]
                return {"found": ours} if len(ours) == expected and len(online) == TCP_PRINTERS else None

            result = wait_for(listed, 30, interval=0.02, what="20 devices listed")
            discovery_s = time.monotonic() - started
            for found in result["found"]:
                role = {
                    "printer": "receipt_printer",
                    "line_display": "customer_display",
                    "scanner": "scanner",
                }[found["kind"]]
                name = found["id"].rsplit("/", 1)[-1].split("-")[1][-4:].lower()
                status, body = hub.api("POST", "/api/v1/devices",
                                       {"found_id": found["id"], "role": role, "terminal": f"t-{name}"},
                                       token=hub.admin_token)  # fmt: skip
                assert status == 201, body
            wait_for(lambda: all(d["status"] == "online" for d in hub.api("GET", "/api/v1/devices")[1]["devices"]),
                     30, what="all 20 online")  # fmt: skip
            devices = len(hub.api("GET", "/api/v1/devices")[1]["devices"])
            time.sleep(2.0)  # let start-up work (first polls, mDNS re-queries) settle
            assert hub.proc is not None
            cpu_before, wall_before = cpu_seconds(hub.proc.pid), time.monotonic()
            time.sleep(args.idle_seconds)
            cpu_used, wall = cpu_seconds(hub.proc.pid) - cpu_before, time.monotonic() - wall_before
        finally:
            hub.stop()
            for sim in sims:
                sim.stop()
    print(json.dumps({
        "discovery_s": round(discovery_s, 3), "devices_watched": devices,
        "idle_cpu_pct": round(100 * cpu_used / wall, 3), "idle_seconds": round(wall, 1),
        "targets": {"discovery_s": 3.0, "idle_cpu_pct": 2.0},
    }))  # fmt: skip


def hub_extra(byid: Path) -> str:
    return "\n".join(["[discovery]", "usb = true", "ble = false", f'serial = ["{byid}/*"]',
                      f'serial_probe = ["{byid}/*Printer*"]', 'mdns_interfaces = ["127.0.0.1"]', ""])  # fmt: skip


if __name__ == "__main__":
    main()
