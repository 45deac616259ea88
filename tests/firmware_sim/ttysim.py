"""``smartpos-sim display`` and ``smartpos-sim scanner`` as real subprocesses on pseudo-terminals."""

from __future__ import annotations

import json
import select
import socket
import subprocess
from pathlib import Path
from typing import Any

import serial

from tests.firmware_sim.simproc import BIN, Events
from tests.support.procs import STARTUP_S, terminate


class TtySim:
    """One serial-device simulator process; its port is the symlink ``link`` (in a tmp dir)."""

    def __init__(self, kind: str, link: Path, *extra: str) -> None:
        self.link = link
        self.args = [str(BIN / "smartpos-sim"), kind, "--link", str(link), *extra]
        self.proc: subprocess.Popen[bytes] | None = None
        self.listening: dict[str, Any] = {}
        self.control_port = 0
        self.ports: list[serial.Serial] = []

    def start(self, timeout: float = STARTUP_S) -> TtySim:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stderr], [], [], timeout)
        assert ready, "the simulator printed no listening line"
        self.listening = json.loads(self.proc.stderr.readline())
        assert self.listening["event"] == "listening", self.listening
        self.control_port = self.listening["control_port"]
        return self

    def open(self, baudrate: int = 9600) -> serial.Serial:
        """The device's serial port, opened the way a host opens a USB-serial adapter."""
        port = serial.Serial(str(self.link), baudrate, timeout=2)
        self.ports.append(port)
        return port

    def control(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as sock:
            sock.sendall(command.encode() + b"\n")
            with sock.makefile("r", encoding="utf-8") as reader:
                return reader.readline().strip()

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.control("status")))

    def events(self) -> Events:
        return Events(self.control_port)

    def stop(self) -> int:
        for port in self.ports:
            port.close()
        return terminate(self.proc)
