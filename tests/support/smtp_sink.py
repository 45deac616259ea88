"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, for e-mail tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.procs import free_port, wait_for


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        # Recipients answered "550": a mailbox that does not exist (a permanent failure).
        self.refuse: set[str] = set()
        # While set, a message's DATA is held unanswered (a slow relay, a send in flight).
        self.hold: threading.Event | None = None
        self.holding = threading.Event()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold is not None:
            self.holding.set()
            await asyncio.to_thread(self.hold.wait, 30)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


class SmtpSink:
    """Start, stop and start again on the same port (a relay that goes down and comes back)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.collector = _Collector()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.collector.lock:
            return list(self.collector.messages)

    def wait_messages(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        wait_for(lambda: len(self.messages) >= count, timeout)
        return self.messages

    def toml(self, **extra: Any) -> str:
        lines = ["[smtp]", "enabled = true", 'host = "127.0.0.1"', f"port = {self.port}", 'security = "none"']
        lines += ['from_addr = "racuni@zeljo.ba"', "retry_delays_s = [0.3]"]
        lines += [f"{key} = {value}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"
