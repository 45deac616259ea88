"""The event types an endpoint can subscribe to, and which hub facts become which of them."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal[
    "order.created",
    "refund.created",
    "shift.opened",
    "shift.closed",
    "z_report.created",
    "cash.moved",
    "stock.moved",
    "device.status_changed",
    "product.updated",
    "config.published",
    "hub.online",
    "hub.offline",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))

# Facts from ``protocols.sync.messages.PAYLOADS`` (hub -> cloud) and the webhook event each
# becomes; ``audit.recorded`` stays internal.
FROM_FACT: dict[str, str] = {
    "sale.completed": "order.created",
    "sale.refunded": "refund.created",
    "shift.opened": "shift.opened",
    "shift.closed": "shift.closed",
    "z_report.created": "z_report.created",
    "cash.moved": "cash.moved",
    "stock.moved": "stock.moved",
    "device.status": "device.status_changed",
}
