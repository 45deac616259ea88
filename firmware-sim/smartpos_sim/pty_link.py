"""A pseudo-terminal as the simulator's serial port, reachable through a symlink.

The simulator holds the master side of a pty; the slave side (``/dev/pts/N``) plays the host's
serial port, and a symlink at a stable path (``LINK``) points to it, so a test or a hub config
can name the same path on every run. :func:`open_pty_link` wraps the master in an
:class:`asyncio.Transport`, so the same protocol objects that serve a TCP connection serve a
pty, read with ``loop.add_reader`` on the master fd.

Three things differ from a socket and are handled here:

* The slave starts in the terminal's cooked mode, which echoes input, turns CR into LF, eats
  XON/XOFF (``11``/``13``) and turns ``03`` into SIGINT. All of these would corrupt binary
  device traffic, so the slave is put in raw mode before anyone can open it.
* When no process has the slave open, reading the master fails with EIO at once, every time,
  which would spin the event loop. We keep a slave fd open ourselves, so the master always has
  a peer: a host that closes the port and opens it again simply finds the line still there, as
  with a real serial cable. EIO is still handled (as "no client": wait, then read again).
* A pty has no flow control of its own toward us beyond the kernel's small buffers: replies the
  host does not read yet are held here (bounded) and written as the master becomes writable.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import tty
from pathlib import Path
from typing import Any

READ_SIZE = 65536
OUTGOING_LIMIT = 1 << 20  # bytes held for a host that does not read; the rest is dropped
EIO_RETRY_S = 0.2  # after EIO ("no client") wait this long before reading again


def replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target``; an existing symlink is replaced, anything else is refused."""
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        # Never clobber a real file or device: LINK is ours only if it is a symlink.
        raise FileExistsError(errno.EEXIST, "exists and is not a symlink", str(link))
    os.symlink(target, link)


def remove_symlink(link: Path, target: str) -> None:
    """Remove ``link`` if it still points at ``target`` (another simulator may have taken it)."""
    with contextlib.suppress(OSError):
        if link.is_symlink() and os.readlink(link) == target:
            link.unlink()


class PtyTransport(asyncio.Transport):
    """The master side of a pty, as a transport for an :class:`asyncio.Protocol`.

    ``write`` never blocks: what the master cannot take now is held and written when it is
    writable. ``pause_reading`` stops reading the master, so the host's writes pile up in the
    kernel's pty buffer and finally block it, which is the only back-pressure a pty offers.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        master: int,
        slave: int,
        link: Path,
        protocol: asyncio.Protocol,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(extra)
        self._loop = loop
        self._master = master
        self._slave = slave
        self.link = link
        self.slave_path = os.ttyname(slave)
        self._protocol = protocol
        self._outgoing = bytearray()
        self._reading = False
        self._paused = False
        self._closing = False
        self._retry: asyncio.TimerHandle | None = None
        self.dropped = 0  # reply bytes dropped because the host never read them

    # -- reading --------------------------------------------------------------------------
    def _start_reading(self) -> None:
        if not self._reading and not self._paused and not self._closing:
            self._loop.add_reader(self._master, self._read_ready)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def _read_ready(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                self._fail(exc)
                return
            data = b""
        if not data:
            # EIO (or EOF): no process holds the slave open. That is "no client yet", not an
            # error; the master stays readable while it lasts, so back off instead of spinning.
            self._stop_reading()
            self._retry = self._loop.call_later(EIO_RETRY_S, self._retry_read)
            return
        self._protocol.data_received(data)

    def _retry_read(self) -> None:
        self._retry = None
        self._start_reading()

    def pause_reading(self) -> None:
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        self._paused = False
        if self._retry is None:
            self._start_reading()

    def is_reading(self) -> bool:
        return self._reading

    # -- writing --------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        payload = bytes(data)
        if not self._outgoing:
            payload = payload[self._write_some(payload) :]
            if not payload or self._closing:
                return
            self._loop.add_writer(self._master, self._write_ready)
        room = OUTGOING_LIMIT - len(self._outgoing)
        self._outgoing += payload[:room]
        self.dropped += max(0, len(payload) - room)

    def _write_some(self, data: bytes) -> int:
        """Write what the master takes now; returns the count written."""
        try:
            return os.write(self._master, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            if exc.errno != errno.EIO:
                self._fail(exc)
                return 0
            # No reader on the slave side: the bytes go nowhere, as on an unplugged cable.
            self.dropped += len(data)
            return len(data)

    def _write_ready(self) -> None:
        del self._outgoing[: self._write_some(bytes(self._outgoing))]
        if not self._outgoing and not self._closing:
            self._loop.remove_writer(self._master)

    def get_write_buffer_size(self) -> int:
        return len(self._outgoing)

    # -- closing --------------------------------------------------------------------------
    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Close both pty fds and remove the symlink; the protocol hears ``connection_lost``."""
        self._shut(None)

    def abort(self) -> None:
        self._shut(None)

    def _fail(self, exc: OSError) -> None:
        # Anything but EIO on a pty master means the fd itself is broken: raising from a
        # reader callback would only have the loop call us again, so close and report it.
        self._shut(exc)

    def _shut(self, exc: Exception | None) -> None:
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if self._retry is not None:
            self._retry.cancel()
        if self._outgoing:
            self._loop.remove_writer(self._master)
            self._outgoing.clear()
        remove_symlink(self.link, self.slave_path)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._loop.call_soon(self._protocol.connection_lost, exc)


def open_pty_link(
    link: str | Path, protocol: asyncio.Protocol, extra: dict[str, Any] | None = None
) -> PtyTransport:
    """Open a raw pty, point ``link`` at its slave and start feeding ``protocol``.

    Must be called from a running event loop; ``protocol.connection_made`` is called before
    the first read. ``extra`` goes to ``get_extra_info`` (``"pty"`` and ``"link"`` are added).
    """
    loop = asyncio.get_running_loop()
    path = Path(link)
    master, slave = os.openpty()
    try:
        # Raw before the link exists, so no host ever sees the cooked (echoing) line.
        tty.setraw(slave)
        os.set_blocking(master, False)
        transport = PtyTransport(
            loop,
            master,
            slave,
            path,
            protocol,
            {"pty": os.ttyname(slave), "link": str(path), **(extra or {})},
        )
        replace_symlink(path, transport.slave_path)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    protocol.connection_made(transport)
    transport._start_reading()
    return transport
