"""A pseudo-terminal pair that plays a serial device in tests.

The driver opens the slave as ``serial:///dev/pts/N`` through the real ``SerialTransport``;
the test reads and writes the master as the device would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import tty


class PtyDevice:
    """The device end of a pty; ``unplug()`` hangs the port up like a pulled adapter."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        self.url = f"serial://{os.ttyname(self.slave)}?baudrate=9600"
        self.unplugged = False

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        if not self.unplugged:
            self.unplugged = True
            os.close(self.master)

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(OSError):
            os.close(self.slave)

    def _drain(self, quiet: float) -> bytes:
        data = bytearray()
        while select.select([self.master], [], [], quiet)[0]:
            data += os.read(self.master, 4096)
        return bytes(data)

    async def wire(self, quiet: float = 0.3) -> bytes:
        """Everything the driver wrote until the line has been quiet for ``quiet`` s."""
        return await asyncio.get_running_loop().run_in_executor(None, self._drain, quiet)
