"""Real processes for tests: the printer simulator and the hub daemon, on free 127.0.0.1 ports."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
# How long a simulator may take to start listening (a hub takes twice that): a Python process
# importing its modules on a loaded 2-core box, with fifty hubs starting in a parallel test,
# has been seen to need more than ten seconds. Only start-up waits use it, not behaviour.
STARTUP_S = 30.0


# Servers under test listen below Linux's ephemeral range (32768-60999 by default): a port the
# kernel handed out with bind(0) can be taken by any outgoing connection (a hub's MQTT link, an
# HTTP client) before the server binds it, which fifty hubs starting together made happen. Each
# pytest-xdist worker draws from its own slice, and a port is never handed out twice by one
# process (fifty hubs are given their ports before any of them binds).
_LISTEN_FIRST, _LISTEN_END = 20000, 32000
_issued: set[int] = set()


def _port_slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    size = (_LISTEN_END - _LISTEN_FIRST) // max(count, 1)
    start = _LISTEN_FIRST + (index % max(count, 1)) * size
    return range(start, start + size)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and not yet handed out by this process."""
    ports = _port_slice()
    for _ in range(500):
        port = random.choice(ports)
        if port in _issued:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _issued.add(port)
        return port
    raise RuntimeError(f"no free TCP port in {ports.start}-{ports.stop - 1} on 127.0.0.1")


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> int:
    """SIGTERM a simulator (SIGKILL if it does not stop in time), close its pipes; its exit code."""
    if proc is None:
        return 0
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


def control_line(port: int, command: str) -> str:
    """Send one line to a simulator's control port and return its one-line answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    text = reply.decode().strip()
    assert not text.startswith("error"), f"simulator refused {command!r}: {text}"
    return text


class PrinterSim:
    """``smartpos-sim printer`` as a separate process, with its control port and paper file."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        speed: float = 0.0,
        extra: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.control_port = free_port()
        self.paper_path = workdir / f"paper-{self.port}.txt"
        self.speed = speed
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrinterSim:
        args = [
            str(BIN / "smartpos-sim"),
            "printer",
            "--port",
            str(self.port),
            "--control-port",
            str(self.control_port),
            "--output",
            str(self.paper_path),
            "--paper-speed",
            str(self.speed),
            *self.extra,
        ]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE)
        wait_for(
            lambda: _port_open(self.control_port),
            STARTUP_S,
            what=f"simulator control port {self.control_port}",
        )
        return self

    def stop(self) -> None:
        terminate(self.proc)

    def control(self, command: str) -> str:
        return control_line(self.control_port, command)

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.control("status")))

    def paper(self) -> str:
        try:
            return self.paper_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def wait_paper(self, needle: str, timeout: float = 10.0, count: int = 1) -> str:
        return str(
            wait_for(
                lambda: self.paper() if self.paper().count(needle) >= count else "",
                timeout,
                what=f"{needle!r} x{count} on paper",
            )
        )


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One HTTP request; returns (status, decoded JSON body or None)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None and "Content-Type" not in request.headers:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return exc.code, json.loads(payload)
        except ValueError:
            return exc.code, payload.decode(errors="replace")


class HubProcess:
    """``smartpos-hub serve`` as a separate process with its own config and data dir."""

    def __init__(
        self,
        workdir: Path,
        devices: list[dict[str, Any]] | None = None,
        *,
        extra_toml: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.data_dir = workdir / "data"
        self.config_path = workdir / "hub.toml"
        self.log_path = workdir / "hub.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._device_token: str | None = None
        self.write_config(devices or [], extra_toml)

    def write_config(self, devices: list[dict[str, Any]], extra_toml: str = "") -> None:
        lines = [
            "[hub]",
            'name = "test-hub"',
            'language = "bs"',
            "",
            "[api]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            "",
            "[storage]",
            f'data_dir = "{self.data_dir}"',
            "",
            "[log]",
            'level = "debug"',
            "",
        ]
        if "[mdns]" not in extra_toml:
            lines += ["[mdns]", "enabled = false", ""]
        if "[discovery]" not in extra_toml:
            # Device discovery is tested where a test asks for it; elsewhere it would browse
            # mDNS on every interface and enumerate the machine's USB for nothing.
            lines += ["[discovery]", "enabled = false", ""]
        lines.append(extra_toml)
        for device in devices:
            lines.append("[[devices]]")
            for key, value in device.items():
                if isinstance(value, dict):
                    continue
                lines.append(f"{key} = {json.dumps(value)}")
            if isinstance(device.get("options"), dict):
                lines.append("[devices.options]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in device["options"].items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> HubProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            [str(BIN / "smartpos-hub"), "serve", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        if wait:
            # Generous: a loaded CI box (fifty hubs starting in a parallel test) slows start-up.
            wait_for(
                self._ready, timeout=2 * STARTUP_S, what=f"hub ready on {self.url} (log: {self.log_path})"
            )
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(
                f"hub exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}"
            )
        try:
            status, _ = http("GET", self.url + "/readyz", timeout=0.5)
        except OSError:
            return False
        return status == 200

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    @property
    def token(self) -> str:
        """A paired tablet's device token (pairs once per hub)."""
        if self._device_token is None:
            status, code = http("POST", self.url + "/api/v1/pairing-codes", token=self.admin_token)
            assert status == 201, code
            status, paired = http(
                "POST",
                self.url + "/api/v1/pair",
                body={"code": code["code"], "name": "test-tablet"},
            )
            assert status == 201, paired
            self._device_token = paired["token"]
        return self._device_token

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return http(method, self.url + path, token=kwargs.pop("token", self.token), body=body, **kwargs)

    def api_raw(self, method: str, path: str, *, token: str | None = None) -> tuple[int, bytes]:
        """A request whose answer is not JSON (a PDF, a CSV file): (status, body bytes)."""
        request = urllib.request.Request(self.url + path, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10.0) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "smartpos-hub"), *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.env},
        )

    def job(self, job_id: int) -> dict[str, Any]:
        status, job = self.api("GET", f"/api/v1/jobs/{job_id}")
        assert status == 200, job
        return dict(job)

    def wait_job(self, job_id: int, state: str = "done", timeout: float = 15.0) -> dict[str, Any]:
        return dict(
            wait_for(
                lambda: (j := self.job(job_id))["state"] == state and j,
                timeout,
                what=f"job {job_id} {state}",
            )
        )


def printer_device(sim: PrinterSim, device_id: str = "receipt", **options: Any) -> dict[str, Any]:
    device: dict[str, Any] = {
        "id": device_id,
        "kind": "printer",
        "driver": "escpos",
        "url": f"tcp://127.0.0.1:{sim.port}",
    }
    if options:
        device["options"] = options
    return device


def receipt(title: str, lines: int = 3, *, language: str = "bs") -> dict[str, Any]:
    """A receipt document whose first line is ``title`` (so tests can find it on paper)."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": title, "bold": True}]
    blocks += [{"type": "columns", "left": f"Item {i}", "right": f"{i}.00"} for i in range(1, lines + 1)]
    return {"language": language, "blocks": blocks}
