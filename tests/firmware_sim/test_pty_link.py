"""The simulators' pseudo-terminal transport, in-process: symlink, raw mode, flow, EIO, close."""

from __future__ import annotations

import asyncio
import os
import termios
from pathlib import Path

import pytest

from smartpos_sim.pty_link import PtyTransport, open_pty_link, remove_symlink


class Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.received = asyncio.Event()
        self.lost = asyncio.Event()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.received.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    async def wait_for(self, size: int, timeout: float = 3.0) -> bytes:
        async with asyncio.timeout(timeout):
            while len(self.data) < size:
                self.received.clear()
                await self.received.wait()
        return bytes(self.data)


def read_client(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += os.read(fd, size - len(data))
    return data


async def test_link_raw_mode_and_both_directions(tmp_path: Path) -> None:
    link = tmp_path / "tty"
    recorder = Recorder()
    transport = open_pty_link(link, recorder, {"peername": ("tty", str(link))})
    assert recorder.transport is transport
    assert os.readlink(link) == transport.get_extra_info("pty") and transport.is_reading()
    client = os.open(link, os.O_RDWR | os.O_NOCTTY)
    try:
        lflag = termios.tcgetattr(client)[3]
        assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG), "raw before anyone opens it"
        # XON/XOFF, ^C and CR are data on a device line, never line-discipline controls.
        os.write(client, b"\x11\x13\x03\r\n\x1b@")
        assert await recorder.wait_for(7) == b"\x11\x13\x03\r\n\x1b@"
        transport.write(b"\x16\r")
        assert await asyncio.to_thread(read_client, client, 2) == b"\x16\r"
    finally:
        os.close(client)
        transport.close()
    await asyncio.wait_for(recorder.lost.wait(), 3)
    assert not link.is_symlink()


async def test_pause_holds_input_in_the_kernel(tmp_path: Path) -> None:
    recorder = Recorder()
    transport = open_pty_link(tmp_path / "tty", recorder)
    client = os.open(tmp_path / "tty", os.O_RDWR | os.O_NOCTTY)
    try:
        transport.pause_reading()
        os.write(client, b"held")
        await asyncio.sleep(0.1)
        assert recorder.data == b""
        transport.resume_reading()
        assert await recorder.wait_for(4) == b"held"
    finally:
        os.close(client)
        transport.close()


async def test_eio_without_any_slave_is_no_client_not_an_error(tmp_path: Path) -> None:
    recorder = Recorder()
    transport = open_pty_link(tmp_path / "tty", recorder)
    # Swap our own slave fd for /dev/null: now nobody holds the slave, and the master reads EIO.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, transport._slave)
    os.close(null)
    try:
        await asyncio.sleep(0.5)  # several EIO back-offs
        assert not transport.is_closing()
        client = os.open(tmp_path / "tty", os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(client, b"back")
            assert await recorder.wait_for(4) == b"back"
        finally:
            os.close(client)
    finally:
        transport.close()


async def test_replies_are_held_while_the_host_does_not_read(tmp_path: Path) -> None:
    recorder = Recorder()
    transport: PtyTransport = open_pty_link(tmp_path / "tty", recorder)
    client = os.open(tmp_path / "tty", os.O_RDWR | os.O_NOCTTY)
    try:
        block = bytes(range(256)) * 1024  # more than the kernel's pty buffer
        transport.write(block)
        assert transport.get_write_buffer_size() > 0
        assert await asyncio.to_thread(read_client, client, len(block)) == block
        await asyncio.sleep(0.05)
        assert transport.get_write_buffer_size() == 0
    finally:
        os.close(client)
        transport.close()


async def test_existing_symlink_replaced_other_files_refused(tmp_path: Path) -> None:
    link = tmp_path / "tty"
    link.symlink_to("/dev/null")
    transport = open_pty_link(link, Recorder())
    assert os.readlink(link).startswith("/dev/pts/")
    transport.close()
    regular = tmp_path / "file"
    regular.write_text("mine")
    with pytest.raises(FileExistsError):
        open_pty_link(regular, Recorder())
    assert regular.read_text() == "mine"


def test_remove_symlink_leaves_a_link_taken_over_by_another(tmp_path: Path) -> None:
    link = tmp_path / "tty"
    link.symlink_to("/dev/pts/999")
    remove_symlink(link, "/dev/pts/1")
    assert link.is_symlink()
    remove_symlink(link, "/dev/pts/999")
    assert not link.is_symlink()
