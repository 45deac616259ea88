"""A real Mosquitto for tests: its own port, generated password and ACL files, persistence.

Each hub gets a username (its hub id), a password and ACL lines that confine it to its own
topic subtree (``protocols.sync.topics.acl_lines``); the cloud's bridge user reads and writes
everything under ``smartpos/v1/#``. Changes to users take effect with :meth:`reload` (SIGHUP),
as they do for the cloud in production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from protocols.sync.topics import HubTopics, acl_lines
from tests.support.procs import STARTUP_S, free_port, wait_for

MOSQUITTO = "/usr/sbin/mosquitto"
PASSWD = "/usr/bin/mosquitto_passwd"


class MosquittoBroker:
    """``start()``, ``stop()``, ``restart()``; ``add_hub()`` / ``add_user()`` then ``reload()``."""

    def __init__(self, workdir: Path, port: int | None = None, *, tls: bool = False) -> None:
        self.dir = workdir / "mosquitto"
        self.tls = tls
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.password_file = self.dir / "passwd"
        self.acl_file = self.dir / "acl"
        self.password_file.touch()
        self._acl: dict[str, list[str]] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.add_user("cloud", "cloud-secret", ["user cloud", "topic readwrite smartpos/v1/#"])

    def add_user(self, username: str, password: str, acl: list[str]) -> None:
        subprocess.run(
            [PASSWD, "-b", str(self.password_file), username, password], check=True, capture_output=True
        )
        self._acl[username] = acl
        self._write_acl()

    def add_hub(self, topics: HubTopics, password: str) -> None:
        self.add_user(topics.hub, password, acl_lines(topics, topics.hub))

    def remove_user(self, username: str) -> None:
        subprocess.run([PASSWD, "-D", str(self.password_file), username], check=True, capture_output=True)
        self._acl.pop(username, None)
        self._write_acl()

    def _write_acl(self) -> None:
        self.acl_file.write_text("\n\n".join("\n".join(lines) for lines in self._acl.values()) + "\n")

    def start(self) -> MosquittoBroker:
        config = self.dir / "mosquitto.conf"
        tls_lines: list[str] = []
        if self.tls:
            self._make_certificates()
            tls_lines = [
                f"cafile {self.ca_file}",
                f"certfile {self.dir}/server.crt",
                f"keyfile {self.dir}/server.key",
            ]
        config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *tls_lines,
                    "allow_anonymous false",
                    f"password_file {self.password_file}",
                    f"acl_file {self.acl_file}",
                    "persistence true",
                    f"persistence_location {self.dir}/",
                    "max_queued_messages 100000",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    # Started as root (CI containers), Mosquitto would drop to the "mosquitto"
                    # user, which cannot read the test's private temp directory.
                    *(["user root"] if os.geteuid() == 0 else []),
                ]
            )
            + "\n"
        )
        log = (self.dir / "broker.log").open("ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._listening, STARTUP_S, what=f"mosquitto on port {self.port}")
        # Where the cloud finds the broker to SIGHUP after it rewrote the files.
        self.pid_file.write_text(f"{self.proc.pid}\n")
        return self

    @property
    def pid_file(self) -> Path:
        return self.dir / "mosquitto.pid"

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.crt"

    def _make_certificates(self) -> None:
        """A throwaway CA and a server certificate for 127.0.0.1 (as the cloud would issue)."""
        if (self.dir / "server.crt").exists():
            return

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.dir)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=SmartPOS test CA",
                "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        )
        (self.dir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
        for name in ("server.key", "ca.key"):
            (self.dir / name).chmod(0o600)

    def _listening(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited: {(self.dir / 'broker.log').read_text()[-2000:]}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def reload(self) -> None:
        """Re-read passwords and ACLs (what the cloud does after a claim or a revocation)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
