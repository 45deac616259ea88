"""``smartpos-sim fiscal`` as a separate process: a fiscal printer on a TCP port or a pty."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.procs import BIN, STARTUP_S, _port_open, control_line, free_port, terminate, wait_for


class FiscalSim:
    """A simulated fiscal printer with its control port (faults, the receipts it issued)."""

    def __init__(
        self, protocol: str = "datecs-x", *, link: Path | None = None, extra: list[str] | None = None
    ) -> None:
        self.protocol = protocol
        self.link = link
        self.port = free_port()
        self.control_port = free_port()
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"serial://{self.link}" if self.link else f"tcp://127.0.0.1:{self.port}"

    def start(self) -> FiscalSim:
        where = ["--link", str(self.link)] if self.link else ["--port", str(self.port)]
        command = [str(BIN / "smartpos-sim"), "fiscal", "--protocol", self.protocol, *where,
                   "--control-port", str(self.control_port), *self.extra]  # fmt: skip
        self.proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        wait_for(lambda: _port_open(self.control_port), STARTUP_S, what="fiscal simulator control port")
        return self

    def stop(self) -> None:
        terminate(self.proc)

    def control(self, command: str) -> str:
        return control_line(self.control_port, command)

    def receipts(self) -> list[dict[str, Any]]:
        return list(json.loads(self.control("receipts")))

    def issued(self) -> list[dict[str, Any]]:
        """Fiscal receipts that were closed (cancelled ones are not fiscal receipts)."""
        return [r for r in self.receipts() if not r.get("cancelled")]
