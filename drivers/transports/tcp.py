"""TCP transport for network devices (raw port 9100 printers, TCP fiscal and terminal links)."""

from __future__ import annotations

import asyncio
import socket

from drivers.errors import DeviceOffline
from drivers.transports.base import TransportUrl
from drivers.transports.stream import StreamTransport


class TcpTransport(StreamTransport):
    """A TCP connection with keepalive and no Nagle delay."""

    def __init__(self, url: TransportUrl) -> None:
        super().__init__()
        self.url = url

    async def open(self, timeout: float) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.url.host, self.url.port), timeout=timeout
            )
        except TimeoutError:
            raise DeviceOffline(f"{self.url}: no connection within {timeout:.1f}s") from None
        except OSError as exc:
            raise DeviceOffline(f"{self.url}: cannot connect: {exc.strerror or exc}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Receipts are small bursts followed by a status poll; Nagle would add up to 40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Keepalive notices a printer that was unplugged while idle.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._attach(reader, writer)
