"""The printer's command-stream parser: a sans-I/O state machine fed arbitrary chunks.

It knows the length of every command it accepts, so it never loses its place: a ``10 04 01``
inside image data, a QR payload or any length-prefixed block is data, not a status request.
Feeding one byte at a time gives exactly the same actions as feeding the stream at once.

Framing works in three steps. A command's *header* (prefix, command byte and the parameters
that say how long it is) is collected into a small buffer until :func:`_resolve` can tell what
follows; then a *payload* of known length, or one running to a NUL, is counted off the stream
without being buffered (only the first ``keep`` bytes that the action needs are kept, so a
megabyte of image data costs no memory); then the action is built. Text is held until a
non-text byte or :data:`MAX_TEXT_RUN` bytes arrive: a rule that depends only on the bytes, never
on where the chunks happened to end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto

from smartpos_sim.printer.actions import (
    Action,
    Barcode,
    BitImage,
    Cut,
    DrawerKick,
    DrawerPulse,
    Feed,
    FeedDots,
    FormFeed,
    GraphicsPrint,
    GraphicsStore,
    Initialize,
    LineFeed,
    NvImage,
    ProcessId,
    RasterImage,
    RealtimeCommand,
    RealtimeRequest,
    SelectCodePage,
    SelectPeripheral,
    SetTabs,
    Setting,
    StatusRequest,
    SymbolPrint,
    SymbolStore,
    Tab,
    Text,
    Unknown,
)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
HT, LF, FF = 0x09, 0x0A, 0x0C
MAX_TEXT_RUN = 512

# (header, kept payload, size) -> action
Builder = Callable[[bytes, bytes, int], Action]

_CONTROL = re.compile(rb"[\x00-\x1f]")


@dataclass(frozen=True, slots=True)
class _Frame:
    """How a command continues once its header is known."""

    build: Builder
    payload: int = 0  # bytes after the header (unused when until_nul)
    keep: int = 0  # leading payload bytes the builder needs
    until_nul: bool = False


def _setting(h: bytes, _k: bytes, s: int) -> Action:
    return Setting(size=s, command=h)


def _unknown(h: bytes, _k: bytes, s: int) -> Action:
    return Unknown(size=s, command=h)


def _cut(h: bytes, _k: bytes, s: int) -> Action:
    partial = h[0] == ESC or h[2] in (1, 49, 66, 98, 104)
    return Cut(size=s, partial=partial)


def _drawer_kick(h: bytes, _k: bytes, s: int) -> Action:
    return DrawerKick(size=s, pin=5 if h[2] & 1 else 2, on_ms=h[3] * 2, off_ms=h[4] * 2)


def _process_id(h: bytes, k: bytes, s: int) -> Action:
    if len(k) == 6 and k[:2] == b"00" and all(0x20 <= d <= 0x7E for d in k[2:]):
        return ProcessId(size=s, ident=k[2:])
    return Setting(size=s, command=h)


_SYMBOLS = {0x30: "PDF417", 0x31: "QR", 0x32: "MAXICODE", 0x33: "DATABAR", 0x34: "COMPOSITE"}


def _symbol(h: bytes, k: bytes, s: int) -> Action:
    symbol = _SYMBOLS.get(k[0]) if len(k) >= 3 else None
    if symbol is not None and k[1] == 0x50:
        return SymbolStore(size=s, symbol=symbol, data=k[3:])
    if symbol is not None and k[1] == 0x51:
        return SymbolPrint(size=s, symbol=symbol)
    return Setting(size=s, command=h)


def _graphics(h: bytes, k: bytes, s: int) -> Action:
    if len(k) >= 10 and k[1] == 0x70:
        return GraphicsStore(size=s, width=k[6] | k[7] << 8, height=k[8] | k[9] << 8)
    if len(k) >= 2 and k[1] in (0x02, 0x32):
        return GraphicsPrint(size=s)
    return Setting(size=s, command=h)


_SETTING = _Frame(_setting)
_UNKNOWN = _Frame(_unknown)
_CUT = _Frame(_cut)

# Fixed-length commands: command byte -> (parameter bytes, builder).
_ESC_FIXED: dict[int, tuple[int, Builder]] = {
    0x40: (0, lambda h, k, s: Initialize(size=s)),  # @
    0x74: (1, lambda h, k, s: SelectCodePage(size=s, table=h[2])),  # t
    0x64: (1, lambda h, k, s: Feed(size=s, lines=h[2])),  # d
    0x4A: (1, lambda h, k, s: FeedDots(size=s, dots=h[2])),  # J
    0x70: (3, _drawer_kick),  # p
    0x3D: (1, lambda h, k, s: SelectPeripheral(size=s, n=h[2])),  # =
    0x69: (0, _cut),  # i: legacy partial cut
    0x6D: (0, _cut),  # m: legacy partial cut
    **dict.fromkeys(b"!EG-MaV3{RUre T%?", (1, _setting)),
    **dict.fromkeys(b"2LS\x0c", (0, _setting)),
    **dict.fromkeys(b"c$\\", (2, _setting)),
    0x57: (8, _setting),  # W: print area in page mode
}
_GS_FIXED: dict[int, tuple[int, Builder]] = {
    **dict.fromkeys(b"!BhwHfbarI/TE", (1, _setting)),
    **dict.fromkeys(b"LWP$\\", (2, _setting)),
    0x3A: (0, _setting),  # :
    0x5E: (3, _setting),  # ^
    0x67: (4, _setting),  # g 0 m nL nH / g 2 m nL nH
}
_FS_FIXED: dict[int, tuple[int, Builder]] = {
    0x70: (2, lambda h, k, s: NvImage(size=s, number=h[2])),  # p
    **dict.fromkeys(b".&", (0, _setting)),
    **dict.fromkeys(b"C!-W", (1, _setting)),
    **dict.fromkeys(b"S?", (2, _setting)),
}
# DLE DC4 fn: total command length by fn.
_DC4_LENGTH = {1: 5, 2: 5, 3: 8, 7: 4, 8: 10}


def _fixed(head: bytearray, table: dict[int, tuple[int, Builder]]) -> int | _Frame:
    entry = table.get(head[1])
    if entry is None:
        return _UNKNOWN
    params, build = entry
    if len(head) < 2 + params:
        return 2 + params
    return _Frame(build)


def _length_prefixed(head: bytearray, keep: dict[int, tuple[int, Builder]]) -> int | _Frame:
    # X ( fn pL pH payload: the two length bytes make every such command safe to skip, even
    # functions this printer does not implement.
    if len(head) < 5:
        return 5
    keep_bytes, build = keep.get(head[2], (0, _setting))
    return _Frame(build, payload=head[3] | head[4] << 8, keep=keep_bytes)


_GS_PAREN: dict[int, tuple[int, Builder]] = {
    0x6B: (65535, _symbol),
    0x48: (6, _process_id),
    0x4C: (10, _graphics),
}


def _resolve_esc(head: bytearray) -> int | _Frame:
    cmd = head[1]
    if cmd == 0x2A:  # ESC * m nL nH: 1 byte per column in 8-dot modes, 3 in 24-dot modes
        if len(head) < 5:
            return 5
        columns = head[3] | head[4] << 8
        per_column = 3 if head[2] in (32, 33) else 1
        return _Frame(lambda h, k, s: BitImage(size=s, columns=columns), payload=columns * per_column)
    if cmd == 0x44:  # ESC D n1 ... NUL
        return _Frame(lambda h, k, s: SetTabs(size=s, columns=k), keep=32, until_nul=True)
    if cmd == 0x28:  # ESC ( X pL pH ...
        return _length_prefixed(head, {})
    return _fixed(head, _ESC_FIXED)


def _resolve_gs(head: bytearray) -> int | _Frame:
    cmd = head[1]
    if cmd == 0x28:  # GS ( X pL pH ...
        return _length_prefixed(head, _GS_PAREN)
    if cmd == 0x38:  # GS 8 X p1 p2 p3 p4 ...: the 32-bit length form of GS ( L
        if len(head) < 7:
            return 7
        length = head[3] | head[4] << 8 | head[5] << 16 | head[6] << 24
        return _Frame(_graphics if head[2] == 0x4C else _setting, payload=length, keep=10)
    if cmd in (0x56, 0x6B, 0x76) and len(head) < 3:
        return 3
    if cmd == 0x56:  # GS V m [n]
        if head[2] in (0, 1, 48, 49):
            return _CUT
        if head[2] in (65, 66, 97, 98, 103, 104):
            return 4 if len(head) < 4 else _CUT
        return _UNKNOWN
    if cmd == 0x6B:  # GS k m ...
        if head[2] <= 6:
            return _Frame(lambda h, k, s: Barcode(size=s, system=h[2], data=k), keep=255, until_nul=True)
        if 65 <= head[2] <= 79:
            if len(head) < 4:
                return 4
            return _Frame(lambda h, k, s: Barcode(size=s, system=h[2], data=k), payload=head[3], keep=255)
        return _UNKNOWN
    if cmd == 0x76:  # GS v 0 m xL xH yL yH: (xL + xH*256) bytes per row, (yL + yH*256) rows
        if head[2] != 0x30:
            return _UNKNOWN
        if len(head) < 8:
            return 8
        width_bytes, height = head[4] | head[5] << 8, head[6] | head[7] << 8
        return _Frame(
            lambda h, k, s: RasterImage(size=s, width=width_bytes * 8, height=height),
            payload=width_bytes * height,
        )
    if cmd == 0x2A:  # GS * x y: downloaded bit image, x*8 columns of y bytes
        if len(head) < 4:
            return 4
        return _Frame(_setting, payload=head[2] * head[3] * 8)
    return _fixed(head, _GS_FIXED)


def _resolve_fs(head: bytearray) -> int | _Frame:
    if head[1] == 0x28:  # FS ( X pL pH ...
        return _length_prefixed(head, {})
    return _fixed(head, _FS_FIXED)


def _resolve_dle(head: bytearray) -> int | _Frame:
    cmd = head[1]
    if cmd not in (0x04, 0x05, 0x14):
        return _UNKNOWN
    if len(head) < 3:
        return 3
    if cmd == 0x04:
        return _Frame(lambda h, k, s: StatusRequest(size=s, n=h[2]))
    if cmd == 0x05:
        return _Frame(lambda h, k, s: RealtimeRequest(size=s, n=h[2]))
    length = _DC4_LENGTH.get(head[2])
    if length is None:
        return _UNKNOWN
    if len(head) < length:
        return length
    if head[2] == 1:  # DLE DC4 1 m t: m 0 = pin 2, 1 = pin 5; t x 100 ms
        return _Frame(lambda h, k, s: DrawerPulse(size=s, pin=5 if h[3] & 1 else 2, pulse_ms=h[4] * 100))
    return _Frame(lambda h, k, s: RealtimeCommand(size=s, fn=h[2]))


_RESOLVERS = {ESC: _resolve_esc, GS: _resolve_gs, FS: _resolve_fs, DLE: _resolve_dle}
_SINGLE: dict[int, Callable[[], Action]] = {
    LF: lambda: LineFeed(size=1),
    HT: lambda: Tab(size=1),
    FF: lambda: FormFeed(size=1),
}


class _Mode(Enum):
    IDLE = auto()
    HEADER = auto()
    PAYLOAD = auto()
    UNTIL_NUL = auto()


class CommandParser:
    """Turns an ESC/POS byte stream into :class:`~smartpos_sim.printer.actions.Action` values.

    One parser per connection: it keeps an incomplete command (or text run) for the next
    :meth:`feed`. Bytes that are neither text nor a known control (``CR``, ``NUL`` ...) are
    ignored, as a printer ignores them. An unknown ``ESC``/``GS``/``FS``/``DLE`` command
    becomes :class:`~smartpos_sim.printer.actions.Unknown` and parsing resumes after its
    command byte (after the function byte for a known command with an undefined function).
    """

    def __init__(self, max_text_run: int = MAX_TEXT_RUN) -> None:
        self._max_text = max_text_run
        self._text = bytearray()
        self._head = bytearray()
        self._kept = bytearray()
        self._mode = _Mode.IDLE
        self._frame = _SETTING
        self._remaining = 0
        self._size = 0

    def feed(self, data: bytes) -> list[Action]:
        """Parse ``data``; returns the actions it completed, in stream order."""
        out: list[Action] = []
        i, end = 0, len(data)
        while i < end:
            if self._mode is _Mode.IDLE:
                i = self._idle(data, i, out)
            elif self._mode is _Mode.HEADER:
                i = self._header(data, i, out)
            elif self._mode is _Mode.PAYLOAD:
                i = self._payload(data, i, out)
            else:
                i = self._until_nul(data, i, out)
        return out

    def close(self) -> list[Action]:
        """The stream ended: returns held text; an incomplete command is dropped."""
        out: list[Action] = [self._take_text()] if self._text else []
        self._mode = _Mode.IDLE
        self._head.clear()
        self._kept.clear()
        return out

    def _take_text(self) -> Text:
        text = Text(size=len(self._text), data=bytes(self._text))
        self._text.clear()
        return text

    def _idle(self, data: bytes, i: int, out: list[Action]) -> int:
        byte = data[i]
        if byte >= 0x20:
            limit = min(len(data), i + self._max_text - len(self._text))
            match = _CONTROL.search(data, i, limit)
            stop = match.start() if match else limit
            self._text += data[i:stop]
            if len(self._text) >= self._max_text:
                out.append(self._take_text())
            return stop
        if self._text:
            out.append(self._take_text())
        if byte in _RESOLVERS:
            self._head.append(byte)
            self._mode = _Mode.HEADER
        elif byte in _SINGLE:
            out.append(_SINGLE[byte]())
        return i + 1

    def _header(self, data: bytes, i: int, out: list[Action]) -> int:
        head = self._head
        while True:
            need = _RESOLVERS[head[0]](head) if len(head) >= 2 else 2
            if isinstance(need, _Frame):
                break
            if i >= len(data):
                return i
            piece = data[i : i + need - len(head)]
            head += piece
            i += len(piece)
        self._frame, self._size = need, len(head)
        if need.until_nul:
            self._mode = _Mode.UNTIL_NUL
        elif need.payload > 0:
            self._mode, self._remaining = _Mode.PAYLOAD, need.payload
        else:
            self._finish(out)
        return i

    def _keep(self, piece: bytes) -> None:
        room = self._frame.keep - len(self._kept)
        if room > 0:
            self._kept += piece[:room]

    def _payload(self, data: bytes, i: int, out: list[Action]) -> int:
        take = min(self._remaining, len(data) - i)
        self._keep(data[i : i + take])
        self._remaining -= take
        self._size += take
        if self._remaining == 0:
            self._finish(out)
        return i + take

    def _until_nul(self, data: bytes, i: int, out: list[Action]) -> int:
        nul = data.find(0, i)
        stop = len(data) if nul < 0 else nul
        self._keep(data[i:stop])
        self._size += stop - i
        if nul < 0:
            return stop
        self._size += 1
        self._finish(out)
        return nul + 1

    def _finish(self, out: list[Action]) -> None:
        out.append(self._frame.build(bytes(self._head), bytes(self._kept), self._size))
        self._head.clear()
        self._kept.clear()
        self._mode = _Mode.IDLE


def parse(data: bytes) -> list[Action]:
    """All complete actions of ``data``, plus any trailing text (for tests and tools)."""
    parser = CommandParser()
    return parser.feed(data) + parser.close()
