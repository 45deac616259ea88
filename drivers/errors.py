"""Typed device errors shared by every driver.

The device manager decides what to do from the type alone: ``DeviceOffline``, ``PaperOut`` and
``CoverOpen`` hold work until the device recovers; ``Timeout`` and ``ProtocolError`` are retried
with backoff and eventually fail the job; ``Declined`` is a final answer from the device.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of all device errors. ``sent`` tells whether any bytes of the operation left us."""

    code = "device_error"

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class DeviceOffline(DeviceError):
    """The device cannot be reached, stopped answering, or reports itself offline."""

    code = "offline"


class PaperOut(DeviceError):
    """The printer is out of paper."""

    code = "paper_out"


class CoverOpen(DeviceError):
    """The printer's cover is open."""

    code = "cover_open"


class Busy(DeviceError):
    """The device is busy with something else; try again later."""

    code = "busy"


class ProtocolError(DeviceError):
    """The device sent bytes we cannot make sense of, or refused a command."""

    code = "protocol_error"


class Declined(DeviceError):
    """The device gave a final refusal (a card declined, a fiscal command rejected)."""

    code = "declined"


class Timeout(DeviceError):
    """The device did not answer within the time it is allowed."""

    code = "timeout"


class UnsupportedTransport(DeviceError):
    """The transport URL names a scheme or option this build cannot open."""

    code = "unsupported_transport"
