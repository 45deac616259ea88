"""A minimal host side for the fiscal simulator's process tests: frames out, parsed items back.

The host speaks through the codecs in ``protocols.fiscal`` (the same ones a driver uses) over
the simulator's pseudo-terminal or TCP port, and keeps every control byte it saw on the way,
so a test can assert "SYN came before the reply" or "NAK, nothing else".
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import serial

from protocols.fiscal import datecs_c as dc
from protocols.fiscal import datecs_x as dx
from protocols.fiscal import tremol as tr
from tests.firmware_sim.ttysim import TtySim


class HostParser(Protocol):
    def feed(self, data: bytes) -> list[Any]: ...


class Wire:
    """A byte stream to the device: a serial port or a TCP socket."""

    def __init__(self, write: Callable[[bytes], object], read: Callable[[], bytes]) -> None:
        self.write = write
        self._read = read
        self.log: list[tuple[float, bytes]] = []  # (monotonic time, bytes) as they arrived

    @classmethod
    def serial(cls, port: serial.Serial) -> Wire:
        port.timeout = 0.02
        return cls(port.write, lambda: port.read(4096))

    @classmethod
    def tcp(cls, sock: socket.socket) -> Wire:
        sock.settimeout(0.02)

        def read() -> bytes:
            try:
                return sock.recv(4096)
            except TimeoutError:
                return b""

        return cls(sock.sendall, read)

    def read(self) -> bytes:
        data = self._read()
        if data:
            self.log.append((time.monotonic(), data))
        return data

    def exchange(
        self, frame: bytes, parser: HostParser, done: Callable[[Any], bool], timeout: float = 3.0
    ) -> list[Any]:
        """Send ``frame`` (may be empty) and read parsed items until one satisfies ``done``."""
        if frame:
            self.write(frame)
        items: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in parser.feed(self.read()):
                items.append(item)
                if done(item):
                    return items
        raise AssertionError(f"no answer within {timeout}s; got {items!r}")

    def quiet(self, seconds: float) -> bytes:
        """Whatever arrives within ``seconds`` (b"" when the device stays silent)."""
        data = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            data += self.read()
        return data


class XHost:
    """Datecs X requests with an incrementing SEQ; ``send`` returns the reply."""

    def __init__(self, wire: Wire, seq: int = 0x20) -> None:
        self.wire = wire
        self.seq = seq
        self.seen: list[Any] = []  # every item of the last exchange (controls, corrupt notes)

    def frame(self, command: tuple[int, bytes], seq: int | None = None) -> bytes:
        cmd, data = command
        return dx.encode_request(dx.Request(self.seq if seq is None else seq, cmd, data))

    def send(
        self, command: tuple[int, bytes], *, frame: bytes | None = None, timeout: float = 3.0
    ) -> dx.Reply:
        """Send (the frame for) ``command`` and wait for its reply; the SEQ moves on after it."""
        self.seen = self.wire.exchange(
            frame if frame is not None else self.frame(command),
            dx.HostParser(),
            lambda item: isinstance(item, dx.Reply),
            timeout,
        )
        reply = self.seen[-1]
        assert isinstance(reply, dx.Reply) and reply.seq == self.seq, reply
        self.seq = dx.next_seq(self.seq)
        return reply

    def control_bytes(self) -> list[int]:
        return [item.byte for item in self.seen if isinstance(item, dx.Control)]


class CHost:
    """Datecs C requests with an incrementing SEQ."""

    def __init__(self, wire: Wire, seq: int = 0x20) -> None:
        self.wire = wire
        self.seq = seq

    def send(self, cmd: int, data: bytes = b"", *, frame: bytes | None = None) -> dc.Reply:
        items = self.wire.exchange(
            frame if frame is not None else dc.encode_request(dc.Request(self.seq, cmd, data)),
            dc.HostParser(),
            lambda item: isinstance(item, dc.Reply),
        )
        reply = items[-1]
        assert isinstance(reply, dc.Reply), reply
        self.seq = dc.next_seq(reply.seq)
        return reply


class TremolHost:
    """Tremol requests with an incrementing NBL; answers are :class:`tr.Answer` or :class:`tr.Ack`."""

    def __init__(self, wire: Wire, nbl: int = 0x20) -> None:
        self.wire = wire
        self.nbl = nbl

    def send(self, cmd: int, *fields: object, nbl: int | None = None) -> tr.Answer | tr.Ack:
        number = self.nbl if nbl is None else nbl
        frame = tr.encode_request(tr.Request(number, cmd, tr.params(*fields) if fields else b""))
        items = self.wire.exchange(frame, tr.HostParser(), lambda i: isinstance(i, tr.Answer | tr.Ack))
        answer = items[-1]
        assert answer.nbl == number, answer
        self.nbl = tr.next_nbl(number)
        return answer  # type: ignore[no-any-return]

    def ack(self, cmd: int, *fields: object, nbl: int | None = None) -> tr.Ack:
        """Send a command that answers with an acknowledgement."""
        answer = self.send(cmd, *fields, nbl=nbl)
        assert isinstance(answer, tr.Ack), answer
        return answer

    def answer(self, cmd: int, *fields: object) -> tr.Answer:
        """Send a command that answers with data."""
        answer = self.send(cmd, *fields)
        assert isinstance(answer, tr.Answer), answer
        return answer

    def ping(self) -> int:
        items = self.wire.exchange(bytes((tr.PING,)), tr.HostParser(), lambda i: isinstance(i, tr.PingReply))
        return int(items[-1].byte)


def start_fiscal(tmp_path: Path, protocol: str, *extra: str) -> TtySim:
    """``smartpos-sim fiscal`` on a pty linked in ``tmp_path``."""
    return TtySim("fiscal", tmp_path / f"ttyFP-{protocol}", "--protocol", protocol, *extra).start()


def control_json(sim: TtySim, command: str) -> Any:
    return json.loads(sim.control(command))


def set_fault(sim: TtySim, command: str) -> None:
    answer = sim.control(command)
    assert answer == "ok", f"{command!r} -> {answer!r}"
