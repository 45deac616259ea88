"""The cloud service as its own process (``smartpos-cloud serve`` with the MQTT bridge).

It manages the test broker's password and ACL files and signals it after every claim or
revocation, exactly as in production. Used by end-to-end tests with real hub processes and
by the benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.broker import MosquittoBroker
from tests.support.procs import STARTUP_S, free_port, wait_for

CLOUD = [sys.executable, "-m", "cloud"]
ADMIN_EMAIL = "admin@store.example"
ADMIN_PASSWORD = "correct horse battery"

STORE = {
    "name": "Main street",
    "address": {"country": "DE", "line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin"},
    "pos_mode": "retail",
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "regional": {"locale": "de-DE", "prices_include_tax": True},
}


class CloudProcess:
    """``start()`` migrates, seeds a tenant with an admin, serves; ``api()`` calls it as that admin."""

    def __init__(self, workdir: Path, broker: MosquittoBroker, db_url: str | None = None) -> None:
        self.dir = workdir / "cloud"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite+aiosqlite:///{self.dir / 'cloud.db'}"
        self.port = free_port()
        self.broker = broker
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.env = {
            **os.environ,
            "SMARTPOS_CLOUD_DB_URL": self.db_url,
            # Its key file beside its database, not in the test runner's directory (PostgreSQL).
            "SMARTPOS_CLOUD_DATA_DIR": str(self.dir),
            "SMARTPOS_CLOUD_HOST": "127.0.0.1",
            "SMARTPOS_CLOUD_PORT": str(self.port),
            "SMARTPOS_CLOUD_BROKER_URL": f"mqtt://127.0.0.1:{broker.port}",
            "SMARTPOS_CLOUD_BRIDGE_USERNAME": "cloud",
            "SMARTPOS_CLOUD_BRIDGE_PASSWORD": "cloud-secret",
            "SMARTPOS_CLOUD_MOSQUITTO_PASSWORD_FILE": str(broker.password_file),
            "SMARTPOS_CLOUD_MOSQUITTO_ACL_FILE": str(broker.acl_file),
            "SMARTPOS_CLOUD_MOSQUITTO_PID_FILE": str(broker.pid_file),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run([*CLOUD, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"smartpos-cloud {args}: {done.stderr[-2000:]}"
        return done.stdout.strip()

    def start(self) -> CloudProcess:
        self.cli("migrate")
        if not self.token:
            tenant = self.cli("create-tenant", "Test Retail")
            self.cli("create-user", "--tenant", tenant, "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
                     "--role", "owner")  # fmt: skip
        log = (self.dir / "cloud.log").open("ab")
        self.proc = subprocess.Popen([*CLOUD, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._up, 2 * STARTUP_S, interval=0.1, what=f"the cloud on port {self.port}")
        if not self.token:
            status, body = self.api(
                "POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            assert status == 200, body
            self.token = body["token"]
        return self

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the cloud exited: {(self.dir / 'cloud.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/schema/openapi.json", timeout=1):
                return True
        except OSError:
            return False

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def new_store(self, name: str = "Main street") -> str:
        status, body = self.api("POST", "/api/v1/stores", {**STORE, "name": name})
        assert status == 201, body
        return str(body["id"])

    def new_hub(self, store_id: str, name: str = "Till 1") -> str:
        """A hub added to ``store_id``; returns its one-time claim code."""
        status, body = self.api("POST", f"/api/v1/stores/{store_id}/hubs", {"name": name})
        assert status == 201, body
        return str(body["claim_code"])

    def claim(self, code: str) -> dict[str, Any]:
        """What a box gets for its code (the same call ``smartpos-hub claim`` makes)."""
        status, body = self.api("POST", "/api/v1/hubs/claim", {"code": code})
        assert status == 200, body
        return dict(body)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def sync_toml_from_claim(claim: dict[str, Any], *, keepalive_s: int = 5, ack_timeout_s: float = 2) -> str:
    """A hub's ``[sync]`` section from a claim answer (what ``smartpos-hub claim`` writes)."""
    tenant, store, hub = claim["topic_prefix"].split("/")[2:5]
    return (
        f'[sync]\nenabled = true\nbroker = "{claim["broker_url"]}"\nusername = "{claim["broker_username"]}"\n'
        f'password = "{claim["broker_password"]}"\ntenant = "{tenant}"\nstore = "{store}"\nhub_id = "{hub}"\n'
        f"keepalive_s = {keepalive_s}\nack_timeout_s = {ack_timeout_s}\n"
    )
