"""Shared code of the transports built on asyncio streams (TCP, serial)."""

from __future__ import annotations

import asyncio
import contextlib

from drivers.errors import DeviceOffline, Timeout
from drivers.transports.base import Transport

READ_CHUNK = 4096


class StreamTransport(Transport):
    """A transport over an asyncio ``StreamReader``/``StreamWriter`` pair."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def _attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        # A peer that stopped reading can keep wait_closed() pending; don't let it hang us.
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    async def write(self, data: bytes, timeout: float) -> None:
        writer = self._writer
        if writer is None:
            raise DeviceOffline(f"{self.url}: not connected")
        try:
            writer.write(data)
            # drain() is where TCP backpressure from a busy printer is felt; bound it so a
            # printer that stops reading is reported instead of blocking its queue forever.
            await asyncio.wait_for(writer.drain(), timeout=timeout)
        except TimeoutError:
            raise Timeout(f"{self.url}: write not accepted within {timeout:.1f}s", sent=True) from None
        except (OSError, RuntimeError) as exc:
            raise DeviceOffline(f"{self.url}: connection lost while writing: {exc}", sent=True) from None

    async def read(self, timeout: float) -> bytes:
        reader = self._reader
        if reader is None:
            raise DeviceOffline(f"{self.url}: not connected")
        try:
            data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout=timeout)
        except TimeoutError:
            raise Timeout(f"{self.url}: no answer within {timeout:.1f}s") from None
        except OSError as exc:
            raise DeviceOffline(f"{self.url}: connection lost: {exc}") from None
        if not data:
            raise DeviceOffline(f"{self.url}: connection closed by the device")
        return data
