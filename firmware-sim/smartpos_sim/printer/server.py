"""The printer's raw data port (TCP 9100 on a real one): one protocol object per connection.

Each connection has its own parser, so a command split across reads, or interleaved with
another client's traffic, is still framed right; all of them feed the one print queue of the
printer in the order their bytes arrive.
"""

from __future__ import annotations

import asyncio
import socket
import time

from smartpos_sim.printer.engine import Printer
from smartpos_sim.printer.parser import CommandParser

# The kernel's receive buffer for data connections. Small, as on a printer's network card, so
# once the simulator stops reading (full buffer, offline) the host feels it after a few KiB
# instead of after the megabytes Linux would otherwise buffer on loopback.
SOCKET_RECEIVE_BUFFER = 16384


class DataConnection(asyncio.Protocol):
    """One client of the data port.

    Bytes read from the socket go to the parser only while the printer accepts them (online
    and room in its buffer), and never more than the room left; the rest is held here and the
    socket is not read until the printer takes it, which is what pushes back on the host.
    Real-time commands among the bytes taken are answered at once.
    """

    def __init__(self, printer: Printer) -> None:
        self._printer = printer
        self._parser = CommandParser()
        self._held = bytearray()
        self._transport: asyncio.Transport | None = None
        self._reading = True
        self._eof = False
        self._parser_closed = False
        self._queued = 0
        self.peer = "?"

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        self._printer.attach(self, self.peer)
        # An offline printer's kernel still completes the handshake, but nothing is read.
        self.update()

    def data_received(self, data: bytes) -> None:
        self._printer.counters.bytes_received += len(data)
        self._held += data
        self.update()

    def eof_received(self) -> bool:
        self._closed_by_client()
        self.update()
        # Keep our side open: the answers to what was sent before the EOF (a GS ( H after
        # the receipt, say) still go out; the connection closes once they have.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed_by_client()
        self._transport = None
        self.update()

    # -- engine.Client --------------------------------------------------------------------
    def reply(self, data: bytes) -> None:
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def job_queued(self) -> None:
        self._queued += 1

    def job_done(self) -> None:
        self._queued -= 1
        self._maybe_finish()

    def update(self) -> None:
        printer = self._printer
        while self._held and printer.accepting:
            take = min(len(self._held), printer.room)
            chunk = bytes(self._held[:take])
            del self._held[:take]
            # The time these bytes reached the printer: a cut event's "t" is taken here, at
            # reception, not after the paper has moved.
            self.reply(printer.receive(self._parser.feed(chunk), time.time(), self))
        if self._eof:
            self._maybe_finish()
            return
        want = printer.accepting and not self._held
        if self._transport is not None and want != self._reading:
            if want:
                self._transport.resume_reading()
            else:
                self._transport.pause_reading()
            self._reading = want

    # -- closing --------------------------------------------------------------------------
    def _closed_by_client(self) -> None:
        if not self._eof:
            self._eof = True
            self._printer.detach(self, self.peer)

    def _maybe_finish(self) -> None:
        if not self._eof or self._held:
            return
        if not self._parser_closed:
            # Text the client sent without a terminator still goes into the line buffer; a
            # command cut off by the disconnect is dropped.
            self._parser_closed = True
            self._printer.receive(self._parser.close(), time.time(), self)
        if self._queued == 0:
            self._printer.forget(self)
            if self._transport is not None:
                self._transport.close()

    def abort(self) -> None:
        """Drop the connection now (the simulator is shutting down)."""
        if self._transport is not None:
            self._transport.abort()


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Set before listen() so every accepted socket inherits it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
        sock.bind(address)
        sock.listen(64)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def start_data_server(printer: Printer, host: str, port: int) -> asyncio.Server:
    """Listen on ``host:port`` (port 0 picks a free one) for print data."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: DataConnection(printer), sock=_listening_socket(host, port))


def close_connections(printer: Printer) -> None:
    """Abort every data connection (used on shutdown)."""
    for client in list(printer.clients):
        if isinstance(client, DataConnection):
            client.abort()
