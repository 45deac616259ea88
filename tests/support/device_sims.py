"""Serial-device simulators on pseudo-terminals (display, scanner), as separate processes.

Each creates LINK, a symlink to its pty, named the way udev names ``/dev/serial/by-id``
entries, so the hub's serial discovery sees it as it would a USB-serial device.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.procs import BIN, STARTUP_S, _port_open, control_line, free_port, terminate, wait_for


class PtySim:
    """``smartpos-sim display|scanner --link LINK`` with its control port."""

    def __init__(self, device: str, link: Path, *args: str) -> None:
        self.device = device
        self.link = link
        self.args = list(args)
        self.control_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PtySim:
        self.link.parent.mkdir(parents=True, exist_ok=True)
        command = [str(BIN / "smartpos-sim"), self.device, "--link", str(self.link),
                   "--control-port", str(self.control_port), *self.args]  # fmt: skip
        self.proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        wait_for(
            lambda: _port_open(self.control_port) and self.link.exists(),
            STARTUP_S,
            what=f"{self.device} simulator",
        )
        return self

    def stop(self) -> None:
        terminate(self.proc)

    def control(self, command: str) -> str:
        return control_line(self.control_port, command)

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.control("status")))
