"""The transport interface and transport URLs.

A transport moves bytes and nothing else: framing and meaning live in ``protocols``, retries and
backoff in the hub's device manager. Every read takes a timeout, because a device that stops
answering must never hang the task that owns it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from drivers.errors import UnsupportedTransport

SCHEMES = ("tcp", "serial", "usb", "ble")


@dataclass(frozen=True, slots=True)
class TransportUrl:
    """A parsed transport URL such as ``tcp://10.0.0.5:9100`` or ``serial:///dev/ttyUSB0?baudrate=9600``."""

    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.host}:{self.port}"
        query = "&".join(f"{k}={v}" for k, v in sorted(self.query.items()))
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{query}" if query else "")


def parse_transport_url(url: str, *, default_port: int | None = None) -> TransportUrl:
    """Parse and check a transport URL; raises :class:`UnsupportedTransport` with the reason."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise UnsupportedTransport(
            f"unknown transport {parts.scheme!r} in {url!r}; expected one of {', '.join(SCHEMES)}"
        )
    query: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if len(values) != 1:
            raise UnsupportedTransport(f"option {key!r} given more than once in {url!r}")
        query[key] = values[0]
    if parts.scheme == "tcp":
        try:
            port = parts.port or default_port
        except ValueError:
            raise UnsupportedTransport(f"bad port in {url!r}") from None
        if not parts.hostname or port is None:
            raise UnsupportedTransport(f"{url!r} needs a host and a port, like tcp://10.0.0.5:9100")
        return TransportUrl("tcp", host=parts.hostname, port=port, query=query)
    if parts.scheme == "serial":
        if not parts.path:
            raise UnsupportedTransport(f"{url!r} needs a device path, like serial:///dev/ttyUSB0")
        return TransportUrl("serial", path=parts.path, query=query)
    return TransportUrl(parts.scheme, host=parts.netloc, path=parts.path, query=query)


class Transport(abc.ABC):
    """A byte stream to one device.

    Implementations raise :class:`drivers.errors.DeviceOffline` when the link cannot be opened
    or breaks, and :class:`drivers.errors.Timeout` when a read gets nothing in time.
    """

    url: TransportUrl

    @abc.abstractmethod
    async def open(self, timeout: float) -> None:
        """Open the link; raises ``DeviceOffline`` when the device cannot be reached."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the link. Safe to call twice or on a link that never opened."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """Whether the link is open (it may still have broken unnoticed)."""

    @abc.abstractmethod
    async def write(self, data: bytes, timeout: float) -> None:
        """Send all of ``data``; returns when the OS has taken it (flow control honoured)."""

    @abc.abstractmethod
    async def read(self, timeout: float) -> bytes:
        """Return what has arrived (at least one byte), waiting at most ``timeout`` seconds."""
