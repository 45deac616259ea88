"""sd_notify without libsystemd: READY, WATCHDOG, STATUS and STOPPING over ``$NOTIFY_SOCKET``.

The protocol is one datagram of ``KEY=VALUE`` lines to a unix socket; an address starting with
``@`` is in the abstract namespace. Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        own = not pid or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 1_000_000 / 2 if usec.isdigit() and own else None
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *lines: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:
            log.warning("sd_notify failed", extra={"error": str(exc)})

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    def start_watchdog(self) -> None:
        """Ping the watchdog at half its timeout from the event loop.

        The ping comes from the loop on purpose: if the loop hangs, systemd restarts the hub.
        """
        if self.watchdog_interval and self._address and self._task is None:
            self._task = asyncio.create_task(self._watchdog(self.watchdog_interval), name="sd-watchdog")

    async def _watchdog(self, interval: float) -> None:
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    async def stop_watchdog(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
