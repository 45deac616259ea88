"""Webhook secrets and signatures: HMAC-SHA256 over ``"<timestamp>.<body>"``.

A receiver recomputes the HMAC of the raw body it received, prefixed by the value of
``X-SmartPOS-Timestamp`` and a dot, with the endpoint's secret, compares it in constant time with
``X-SmartPOS-Signature`` (``sha256=<hex>``), and refuses timestamps too far from its clock so
a captured request cannot be replayed later. ``X-SmartPOS-Delivery`` is the event id: the same
on every retry, so a receiver can drop what it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105  (a visible prefix, not a secret)
EVENT_HEADER = "X-SmartPOS-Event"
DELIVERY_HEADER = "X-SmartPOS-Delivery"
TIMESTAMP_HEADER = "X-SmartPOS-Timestamp"
SIGNATURE_HEADER = "X-SmartPOS-Signature"
USER_AGENT = "SmartPOS-Webhooks/1"


def new_secret() -> str:
    """A fresh signing secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-SmartPOS-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signed: str, *, now: float, tolerance_s: float = 300.0
) -> bool:
    """True when ``signed`` is ``body``'s signature and ``timestamp`` is within the tolerance."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, sent, body), signed)


def headers(*, secret: str, event_type: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
