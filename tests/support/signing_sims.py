"""The signing-service simulators (``smartpos-sim sdc``, ``smartpos-sim tse``) as processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.procs import BIN, STARTUP_S, free_port, http, terminate, wait_for

TSS_ID = "0b7f3c1e-2d4a-4e5f-8a6b-7c8d9e0f1a2b"
CLIENT_ID = "0b7f3c1e-2d4a-4e5f-8a6b-7c8d9e0f10c1"
CLIENT_SERIAL = "KASSE-7"


class SdcSim:
    """``smartpos-sim sdc`` as a separate process; its log (listening line first) in a file."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / f"sdc-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SdcSim:
        with self.log.open("wb") as log:
            command = [str(BIN / "smartpos-sim"), "sdc", "--port", str(self.port)]
            self.proc = subprocess.Popen(command, stderr=log)
        wait_for(lambda: "listening" in self.log.read_text(), STARTUP_S, what=f"sdc simulator on {self.port}")
        return self

    def stop(self) -> None:
        terminate(self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def faults(self, **faults: Any) -> dict[str, Any]:
        status, body = http("POST", self.url + "/sim/faults", body=faults)
        assert status == 200, body
        return dict(body)

    def invoices(self, request_id: str | None = None) -> list[dict[str, Any]]:
        status, body = http("GET", self.url + "/sim/invoices")
        assert status == 200, body
        return [entry for entry in body if request_id is None or entry["requestId"] == request_id]


class TseSim:
    """``smartpos-sim tse`` as a separate process; ``listening`` holds its start-up line."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.log = workdir / f"tse-{self.port}.log"
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        self.listening: dict[str, Any] = {}

    def start(self) -> TseSim:
        command = [str(BIN / "smartpos-sim"), "tse", "--port", str(self.port), "--tss-id", TSS_ID]
        command += ["--client", f"{CLIENT_ID}={CLIENT_SERIAL}", *self.extra]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(command, stderr=log)
        line = wait_for(
            lambda: self.log.read_text().partition("\n")[0], STARTUP_S, what=f"tse simulator on {self.port}"
        )
        self.listening = json.loads(line)
        assert self.listening["event"] == "listening", line
        return self

    def stop(self) -> None:
        terminate(self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def faults(self, **faults: Any) -> dict[str, Any]:
        status, body = http("POST", self.url + "/sim/faults", body=faults)
        assert status == 200, body
        return dict(body)

    def transactions(self) -> list[dict[str, Any]]:
        status, body = http("GET", self.url + "/sim/transactions")
        assert status == 200, body
        return list(body)
