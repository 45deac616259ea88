"""An integrator's webhook endpoint for end-to-end tests: a real HTTP server on 127.0.0.1.

It records every POST (headers and body) and can refuse the first attempts of each delivery
with a 500, so tests see the cloud's retries carry the same delivery id. It runs its own event
loop in a thread, so synchronous tests can use it beside processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.procs import free_port


@dataclass(frozen=True)
class Received:
    """One POST as the receiver saw it, and what it answered."""

    delivery: str
    event: str
    timestamp: str
    signature: str
    body: bytes
    answered: int

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def signed_with(self, secret: str) -> bool:
        """The signature is HMAC-SHA256 over ``<timestamp>.<body>`` with the endpoint's secret."""
        expected = hmac.new(secret.encode(), self.timestamp.encode() + b"." + self.body, hashlib.sha256)
        return hmac.compare_digest(self.signature, f"sha256={expected.hexdigest()}")


class WebhookReceiver:
    """``start()``, ``url``, ``received``; ``fail_first`` attempts of every delivery answer 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.port = free_port()
        self.fail_first = fail_first
        self.received: list[Received] = []
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-receiver", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/smartpos"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        delivery = request.headers.get("X-SmartPOS-Delivery", "")
        with self._lock:
            self._attempts[delivery] += 1
            status = 500 if self._attempts[delivery] <= self.fail_first else 200
            self.received.append(
                Received(
                    delivery=delivery,
                    event=request.headers.get("X-SmartPOS-Event", ""),
                    timestamp=request.headers.get("X-SmartPOS-Timestamp", ""),
                    signature=request.headers.get("X-SmartPOS-Signature", ""),
                    body=body,
                    answered=status,
                )
            )
        return web.Response(status=status, text="nope" if status >= 500 else "ok")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/smartpos", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    def delivered(self, event: str | None = None) -> list[Received]:
        """Accepted deliveries (answered 2xx), of ``event`` if given."""
        with self._lock:
            return [r for r in self.received if r.answered < 300 and (event is None or r.event == event)]

    def attempts(self, delivery: str) -> int:
        with self._lock:
            return self._attempts[delivery]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
