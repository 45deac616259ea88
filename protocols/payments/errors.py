"""Typed errors of the payment terminal codecs: bad bytes or JSON never surface as anything else."""

from __future__ import annotations


class PaymentProtocolError(Exception):
    """Base of every payment codec error."""


class ZvtError(PaymentProtocolError):
    """Bytes that are not a well-formed ZVT APDU, frame, BMP or TLV, or a value that cannot be sent."""


class NexoError(PaymentProtocolError):
    """JSON that is not a well-formed nexo (Terminal API) message, or a value that cannot be sent."""
