"""``smartpos-sim terminal`` (ZVT or nexo card terminal) and ``smartpos-sim scale`` as processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.procs import BIN, STARTUP_S, _port_open, control_line, free_port, terminate, wait_for


class DeviceSim:
    """A simulator started with ``--control-port`` and either ``--port`` or ``--link``."""

    def __init__(
        self, device: str, protocol: str, *, link: Path | None = None, extra: list[str] | None = None
    ) -> None:
        self.device = device
        self.protocol = protocol
        self.link = link
        self.port = free_port()
        self.control_port = free_port()
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DeviceSim:
        where = ["--link", str(self.link)] if self.link else ["--port", str(self.port)]
        command = [str(BIN / "smartpos-sim"), self.device, "--protocol", self.protocol, *where,
                   "--control-port", str(self.control_port), *self.extra]  # fmt: skip
        self.proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        wait_for(
            lambda: _port_open(self.control_port), STARTUP_S, what=f"{self.device} simulator control port"
        )
        return self

    def stop(self) -> None:
        terminate(self.proc)

    def control(self, command: str) -> str:
        return control_line(self.control_port, command)

    def json(self, command: str) -> Any:
        return json.loads(self.control(command))
