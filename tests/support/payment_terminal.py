"""``smartpos-sim terminal`` as a real process for the terminal's own tests and the drivers'.

The simulator picks its own free ports (``--port 0``) and announces them in its ``listening``
line, which :meth:`TerminalSim.start` reads, so two parallel test workers never race for one.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.support.procs import BIN, STARTUP_S, terminate


class TerminalSim:
    """One simulated card terminal: ``protocol`` ``zvt`` (TCP, or serial with ``link``) or ``nexo``."""

    def __init__(self, protocol: str, *, link: Path | None = None, extra: list[str] | None = None) -> None:
        self.protocol = protocol
        self.link = link
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.control_port = 0

    def start(self, timeout: float = STARTUP_S) -> TerminalSim:
        where = ["--link", str(self.link)] if self.link else ["--port", "0"]
        command = [str(BIN / "smartpos-sim"), "terminal", "--protocol", self.protocol, *where,
                   "--control-port", "0", *self.extra]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stderr], [], [], timeout)
        assert ready, "the terminal simulator printed no listening line"
        line = json.loads(self.proc.stderr.readline())
        assert line["event"] == "listening", line
        self.port = line["port"] or 0
        self.control_port = line["control_port"]
        return self

    @property
    def url(self) -> str:
        """The device URL a driver is given."""
        if self.link is not None:
            return f"serial://{self.link}?baudrate=9600&stopbits=2"
        return f"tcp://127.0.0.1:{self.port}"

    def control(self, command: str) -> str:
        """One control line; fails the test on an ``error`` answer."""
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as sock:
            sock.sendall(command.encode() + b"\n")
            with sock.makefile("r", encoding="utf-8") as reader:
                answer = reader.readline().strip()
        assert not answer.startswith("error"), f"{command!r} -> {answer}"
        return answer

    def transactions(self) -> list[dict[str, Any]]:
        return list(json.loads(self.control("transactions")))

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.control("status")))

    def wait_transactions(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the journal holds ``count`` transactions."""
        deadline = time.monotonic() + timeout
        while True:
            booked = self.transactions()
            if len(booked) >= count or time.monotonic() > deadline:
                return booked
            time.sleep(0.05)

    def stop(self) -> int:
        return terminate(self.proc)
