"""``smartpos-sim printer`` as a real subprocess, for the simulator's own process tests."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.support.procs import STARTUP_S, terminate

BIN = Path(sys.executable).parent
T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def stays(predicate: Callable[[], bool], seconds: float) -> bool:
    """Whether ``predicate`` holds throughout ``seconds`` (for "it does not happen" checks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(0.01)
    return predicate()


def recv_exactly(sock: socket.socket, count: int, timeout: float = 3.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_nothing(sock: socket.socket, seconds: float) -> bool:
    """True if nothing arrives on ``sock`` within ``seconds``."""
    sock.settimeout(seconds)
    try:
        sock.recv(1)  # data, or b"" if the simulator closed the connection: either is "something"
    except TimeoutError:
        return True
    return False


class Events:
    """A ``subscribe`` connection to the control port."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"subscribe\n")
        self.reader = self.sock.makefile("r", encoding="utf-8")
        assert self.reader.readline().strip() == "ok"
        self.seen: list[dict[str, Any]] = []

    def wait(self, event: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        """The next event named ``event`` whose fields match ``fields``."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            line = self.reader.readline()
            assert line, "event stream closed"
            item: dict[str, Any] = json.loads(line)
            self.seen.append(item)
            if item["event"] == event and all(item.get(k) == v for k, v in fields.items()):
                return item

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Sim:
    """One ``smartpos-sim printer`` process on free 127.0.0.1 ports, paper in ``workdir``."""

    def __init__(self, workdir: Path, *extra: str, port: int = 0, control_port: int = 0) -> None:
        self.paper_path = workdir / "paper.txt"
        self.args = [
            str(BIN / "smartpos-sim"),
            "printer",
            "--port",
            str(port),
            "--control-port",
            str(control_port),
            "--output",
            str(self.paper_path),
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.control_port = 0
        self.open_sockets: list[socket.socket] = []

    def start(self, timeout: float = STARTUP_S) -> Sim:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stderr], [], [], timeout)
        assert ready, "the simulator printed no listening line"
        line = json.loads(self.proc.stderr.readline())
        assert line["event"] == "listening", line
        self.listening: dict[str, Any] = line
        self.port, self.control_port = line["port"], line["control_port"]
        return self

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.open_sockets.append(sock)
        return sock

    def control(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as sock:
            sock.sendall(command.encode() + b"\n")
            with sock.makefile("r", encoding="utf-8") as reader:
                return reader.readline().strip()

    def set(self, command: str) -> None:
        answer = self.control(command)
        assert answer == "ok", f"{command!r} -> {answer!r}"

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.control("status")))

    def events(self) -> Events:
        return Events(self.control_port)

    def paper(self) -> str:
        try:
            return self.paper_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def wait_paper(self, needle: str, timeout: float = 5.0) -> str:
        return wait_until(lambda: self.paper() if needle in self.paper() else None, timeout, f"{needle!r}")

    def stop(self) -> int:
        for sock in self.open_sockets:
            sock.close()
        return terminate(self.proc)
