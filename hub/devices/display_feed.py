"""What customer displays show: driven by the sales events of their terminal.

During a sale the display shows the item last added (name and price) and the running total; at
payment the total and the change; a while later, or when the cart is parked or voided, the
idle message. It follows the event log rather than being called by the sales flow, so a slow
or unplugged display can never delay a sale, and every display of a terminal shows the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from hub.devices.manager import DeviceManager
from hub.domain.events import EventLog
from hub.domain.money import format_amount
from hub.domain.sales.schemas import CartView

log = logging.getLogger(__name__)

CartLoader = Callable[[str], Awaitable[CartView]]


def fit(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line of ``width``, the left cut when both do not fit."""
    room = max(0, width - len(right) - 1)
    left = left[:room]
    return left + " " * (width - len(left) - len(right)) + right


def sale_lines(cart: CartView, width: int, labels: dict[str, str]) -> tuple[str, str]:
    """Last item and running total."""
    total = fit(labels["total"], format_amount(cart.total), width)
    if not cart.lines:
        return ("", total)
    last = cart.lines[-1]
    quantity = "" if last.quantity in ("1", "1.000") else f"{last.quantity} x "
    return (fit(quantity + last.name, format_amount(last.total), width), total)


def payment_lines(total: int, change: int, width: int, labels: dict[str, str]) -> tuple[str, str]:
    """Total and change, shown when the sale is paid."""
    return (
        fit(labels["total"], format_amount(total), width),
        fit(labels["change"], format_amount(change), width),
    )


class DisplayFeed:
    """Follows ``cart.updated`` and ``sale.completed`` and updates each terminal's displays."""

    def __init__(
        self,
        devices: DeviceManager,
        events: EventLog,
        carts: CartLoader,
        *,
        thanks_s: float = 20.0,
        labels: dict[str, str] | None = None,
    ) -> None:
        self._devices = devices
        self._events = events
        self._carts = carts
        self._thanks_s = thanks_s
        self._labels = labels or {"total": "TOTAL", "change": "CHANGE"}
        self._task: asyncio.Task[None] | None = None
        self._idle_timers: dict[str, asyncio.TimerHandle] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="display-feed")

    async def stop(self) -> None:
        for timer in self._idle_timers.values():
            timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        subscription = self._events.subscribe()
        try:
            while True:
                event = await subscription.queue.get()
                if event.type not in ("cart.updated", "sale.completed"):
                    continue
                try:
                    await self._handle(event.type, msgspec.json.decode(event.data))
                except Exception:
                    log.exception("customer display update failed", extra={"event": event.id})
        finally:
            self._events.unsubscribe(subscription)

    async def _handle(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "cart.updated":
            # Most terminals have no display: don't price the cart again just to find that out.
            if not self._devices.displays_for(str(data.get("terminal_id", ""))):
                return
            cart = await self._carts(str(data["id"]))
            displays = self._devices.displays_for(cart.terminal_id)
            self._cancel_idle(cart.terminal_id)
            for worker in displays:
                if cart.state == "open" and cart.lines:
                    worker.show(sale_lines(cart, self._width(worker), self._labels))
                elif cart.state != "completed":
                    worker.show(self._idle_lines(worker))
            return
        terminal = data.get("terminal_id")
        if not isinstance(terminal, str):
            return
        displays = self._devices.displays_for(terminal)
        for worker in displays:
            worker.show(
                payment_lines(
                    int(data["total"]), int(data.get("change", 0)), self._width(worker), self._labels
                )
            )
        if displays:
            self._cancel_idle(terminal)
            loop = asyncio.get_running_loop()
            self._idle_timers[terminal] = loop.call_later(self._thanks_s, self._go_idle, terminal)

    def _cancel_idle(self, terminal: str) -> None:
        timer = self._idle_timers.pop(terminal, None)
        if timer is not None:
            timer.cancel()

    def _go_idle(self, terminal: str) -> None:
        self._idle_timers.pop(terminal, None)
        for worker in self._devices.displays_for(terminal):
            worker.show(self._idle_lines(worker))

    @staticmethod
    def _width(worker: Any) -> int:
        return int(getattr(worker.spec.options, "columns", 20))

    @staticmethod
    def _idle_lines(worker: Any) -> tuple[str, ...]:
        return (str(getattr(worker.spec.options, "idle_text", "")),)
