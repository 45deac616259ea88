"""Read an ESC/POS job back as styled text lines, for printers that cannot take ESC/POS.

A raster-only printer (Star TSP100) needs the receipt as an image, and the hub's jobs are
ESC/POS bytes. :func:`extract` walks the stream as a printer would and reports what lands on
paper: styled text lines, feeds, cuts, drawer pulses, QR codes, barcodes, raster images. It is
pure and total: nothing is raised, a command cut short at the end is dropped, and an unknown
``ESC``/``GS``/``FS`` command is skipped after its command byte, as a printer does. Every
command's length is known before its payload (``GS ( k pL pH``, ``GS v 0 xL xH yL yH``), so
image or QR data is never mistaken for text or commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protocols.escpos.codepages import CODEPAGES

Align = Literal["left", "center", "right"]
QrLevel = Literal["L", "M", "Q", "H"]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
HT, LF = 0x09, 0x0A

MAX_LINE = 1024  # characters held before a line is reported anyway: a stream without LF is bounded
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # larger raster images are skipped (no receipt logo is this big)
TAB_WIDTH = 8

_CODECS = {page.escpos_number: page.python_codec for page in CODEPAGES.values()}
_ALIGN: dict[int, Align] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_QR_LEVELS: dict[int, QrLevel] = {48: "L", 49: "M", 50: "Q", 51: "H"}

# Commands that only change settings we do not draw: command byte -> parameter bytes.
_ESC_SKIP = {
    **dict.fromkeys(b" %3?MRVU{Tre", 1),
    **dict.fromkeys(b"2LS<\x0c", 0),
    **dict.fromkeys(b"$\\c", 2),
    0x57: 8,  # ESC W: page mode print area
}
_GS_SKIP = {
    **dict.fromkeys(b"BHfhwabrIE/TZ", 1),
    **dict.fromkeys(b"LWP$\\", 2),
    0x3A: 0,  # GS :
    0x5E: 3,  # GS ^
    0x67: 4,  # GS g
}
_FS_SKIP = {**dict.fromkeys(b".&", 0), **dict.fromkeys(b"C!-W", 1), **dict.fromkeys(b"Sp?", 2)}
# DLE DC4 fn: whole command length by fn.
_DC4_LENGTH = {1: 5, 2: 5, 3: 8, 7: 4, 8: 10}


@dataclass(frozen=True, slots=True)
class TextRun:
    """Text in one style. ``width`` and ``height`` are character size multipliers (1 to 8)."""

    text: str
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1


@dataclass(frozen=True, slots=True)
class TextLine:
    """One printed line (ended by LF); no runs is a blank line."""

    runs: tuple[TextRun, ...] = ()
    align: Align = "left"

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True, slots=True)
class FeedLines:
    """Blank paper, ``lines`` text lines high (``ESC d n``)."""

    lines: int


@dataclass(frozen=True, slots=True)
class FeedDots:
    """Blank paper, ``dots`` dot rows high (``ESC J n``)."""

    dots: int


@dataclass(frozen=True, slots=True)
class CutMark:
    """Cut here (``GS V``, ``ESC i``/``ESC m``)."""

    partial: bool


@dataclass(frozen=True, slots=True)
class DrawerMark:
    """Pulse a cash drawer connector pin (``ESC p``, ``DLE DC4 1``)."""

    pin: Literal[2, 5]


@dataclass(frozen=True, slots=True)
class QrMark:
    """Print the stored QR code (``GS ( k`` function 181 after function 180)."""

    data: bytes
    module_size: int = 3
    error_correction: QrLevel = "L"
    align: Align = "left"


@dataclass(frozen=True, slots=True)
class BarcodeMark:
    """A 1D barcode (``GS k``): its symbology number and data, which is also its printed text."""

    system: int
    data: bytes
    align: Align = "left"


@dataclass(frozen=True, slots=True)
class ImageMark:
    """A ``GS v 0`` raster image: ``width_bytes`` x 8 dots by ``height`` rows, set bit = black."""

    width_bytes: int
    height: int
    data: bytes
    scale_x: int = 1
    scale_y: int = 1
    align: Align = "left"


# Anything extract() reports, in paper order.
Extracted = TextLine | FeedLines | FeedDots | CutMark | DrawerMark | QrMark | BarcodeMark | ImageMark


@dataclass
class _State:
    """Printer settings as the stream sets them, and the line being collected."""

    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1
    align: Align = "left"
    codec: str = "cp437"
    printing: bool = True  # ESC = n: text for a line display does not reach paper
    line_align: Align | None = None
    runs: list[TextRun] = field(default_factory=list)
    chars: int = 0
    qr_data: bytes = b""
    qr_size: int = 3
    qr_level: QrLevel = "L"


class _CutShort(Exception):
    """The data ends inside a command (internal: :func:`extract` stops there, raises nothing)."""


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.out: list[Extracted] = []
        self.state = _State()

    def run(self) -> list[Extracted]:
        i, end = 0, len(self.data)
        try:
            while i < end:
                byte = self.data[i]
                if byte >= 0x20:
                    stop = i + 1
                    while stop < end and self.data[stop] >= 0x20 and stop - i < MAX_LINE:
                        stop += 1
                    self.text(self.data[i:stop].decode(self.state.codec, errors="replace"))
                    i = stop
                elif byte in (ESC, GS, FS, DLE):
                    self.until(i + 2)
                    i = self.command(byte, self.data[i + 1], i)
                else:
                    if byte == LF:
                        self.end_line()
                    elif byte == HT:
                        self.text(" " * (TAB_WIDTH - self.state.chars % TAB_WIDTH))
                    i += 1
        except _CutShort:
            pass  # the printer would still be waiting for the rest of the command
        self.flush()
        return self.out

    # --- text -------------------------------------------------------------------------------
    def text(self, text: str) -> None:
        state = self.state
        if not state.printing:
            return
        if state.line_align is None:
            state.line_align = state.align
        style = (state.bold, state.underline, state.width, state.height)
        while text:
            piece, text = text[: MAX_LINE - state.chars], text[MAX_LINE - state.chars :]
            last = state.runs[-1] if state.runs else None
            if last is not None and (last.bold, last.underline, last.width, last.height) == style:
                state.runs[-1] = TextRun(last.text + piece, *style)
            else:
                state.runs.append(TextRun(piece, *style))
            state.chars += len(piece)
            if state.chars >= MAX_LINE:
                self.end_line()

    def end_line(self) -> None:
        state = self.state
        if state.printing:
            align = state.line_align if state.line_align is not None else state.align
            self.out.append(TextLine(tuple(state.runs), align))
        state.runs, state.chars, state.line_align = [], 0, None

    def flush(self) -> None:
        """Print a pending partial line, as a printer does before a feed, cut or image."""
        if self.state.runs:
            self.end_line()

    # --- commands: each returns the index after itself ----------------------------------------
    def until(self, end: int) -> int:
        """``end`` if the data reaches that far."""
        if end > len(self.data):
            raise _CutShort
        return end

    def param(self, i: int, count: int = 1) -> bytes:
        """The ``count`` bytes after the two-byte command at ``i``."""
        return self.data[i + 2 : self.until(i + 2 + count)]

    def command(self, prefix: int, cmd: int, i: int) -> int:
        if prefix == ESC:
            return self.esc(cmd, i)
        if prefix == GS:
            return self.gs(cmd, i)
        if prefix == DLE:
            return self.dle(cmd, i)
        return self.length_prefixed(i) if cmd == 0x28 else self.fixed(i, _FS_SKIP.get(cmd))

    def fixed(self, i: int, params: int | None) -> int:
        # An unknown command is skipped after its command byte, as printers do.
        return i + 2 if params is None else self.until(i + 2 + params)

    def length_prefixed(self, i: int, width: int = 2) -> int:
        """``X ( fn pL pH payload`` (``width`` 2) and ``GS 8 L p1..p4 payload`` (``width`` 4)."""
        size = int.from_bytes(self.param(i, 1 + width)[1:], "little")
        return self.until(i + 3 + width + size)

    def esc(self, cmd: int, i: int) -> int:
        state = self.state
        if cmd == 0x40:  # ESC @: clears the print buffer (a pending partial line) and settings
            self.state = _State()
            return i + 2
        if cmd in (0x69, 0x6D):  # ESC i / ESC m: partial cut (legacy)
            self.flush()
            self.out.append(CutMark(partial=True))
            return i + 2
        if cmd == 0x44:  # ESC D n1 ... NUL: tab stops
            nul = self.data.find(0, i + 2)
            return self.until(len(self.data) + 1 if nul < 0 else nul + 1)
        if cmd == 0x2A:  # ESC * m nL nH: column bit image, 3 bytes a column in 24-dot modes
            m, low, high = self.param(i, 3)
            return self.until(i + 5 + (low | high << 8) * (3 if m in (32, 33) else 1))
        if cmd == 0x28:  # ESC ( X pL pH ...
            return self.length_prefixed(i)
        if cmd == 0x26:  # ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
            y, first, last = self.param(i, 3)
            pos = i + 5
            for _ in range(max(0, last - first + 1)):
                self.until(pos + 1)
                pos += 1 + y * self.data[pos]
            return self.until(pos)
        if cmd == 0x70:  # ESC p m t1 t2: drawer kick
            self.out.append(DrawerMark(pin=5 if self.param(i, 3)[0] & 1 else 2))
            return i + 5
        if cmd not in (0x21, 0x74, 0x45, 0x47, 0x2D, 0x61, 0x64, 0x4A, 0x3D):
            return self.fixed(i, _ESC_SKIP.get(cmd))
        n = self.param(i)[0]
        if cmd == 0x21:  # ESC ! n: print mode
            state.bold, state.underline = bool(n & 0x08), bool(n & 0x80)
            state.height, state.width = 2 if n & 0x10 else 1, 2 if n & 0x20 else 1
        elif cmd == 0x74:  # ESC t n: code page
            state.codec = _CODECS.get(n, "cp437")
        elif cmd in (0x45, 0x47):  # ESC E n / ESC G n: emphasized / double-strike
            state.bold = bool(n & 1)
        elif cmd == 0x2D:  # ESC - n
            state.underline = n in (1, 2, 49, 50)
        elif cmd == 0x61:  # ESC a n
            state.align = _ALIGN.get(n, state.align)
        elif cmd == 0x64:  # ESC d n: print (a pending line counts as the first) and feed n lines
            lines = n - bool(state.runs)
            self.flush()
            if lines > 0:
                self.out.append(FeedLines(lines))
        elif cmd == 0x4A:  # ESC J n: print and feed n dots
            self.flush()
            if n:
                self.out.append(FeedDots(n))
        else:  # ESC = n: bit 0 selects the printer
            self.flush()
            state.printing = bool(n & 1)
        return i + 3

    def gs(self, cmd: int, i: int) -> int:
        if cmd == 0x21:  # GS ! n: character size, width in the high nibble
            n = self.param(i)[0]
            self.state.width, self.state.height = (n >> 4 & 7) + 1, (n & 7) + 1
            return i + 3
        if cmd == 0x28:  # GS ( X pL pH ...
            end = self.length_prefixed(i)
            if self.data[i + 2] == 0x6B:
                self.symbol(self.data[i + 5 : end])
            return end
        if cmd == 0x38:  # GS 8 X p1 p2 p3 p4 ...: 32-bit length form of GS ( X
            return self.length_prefixed(i, width=4)
        if cmd == 0x56:  # GS V m [n]
            m = self.param(i)[0]
            end = self.until(i + 3 if m in (0, 1, 48, 49) else i + 4)
            self.flush()
            self.out.append(CutMark(partial=m in (1, 49, 66, 98)))
            return end
        if cmd == 0x76:  # GS v 0 m xL xH yL yH data
            return self.raster(i)
        if cmd == 0x6B:  # GS k m ...
            return self.barcode(i)
        if cmd == 0x2A:  # GS * x y data: downloaded bit image
            x, y = self.param(i, 2)
            return self.until(i + 4 + x * y * 8)
        return self.fixed(i, _GS_SKIP.get(cmd))

    def dle(self, cmd: int, i: int) -> int:
        if cmd in (0x04, 0x05):  # DLE EOT n / DLE ENQ n: real-time requests
            return self.fixed(i, 1)
        if cmd != 0x14:
            return i + 2
        fn = self.param(i)[0]
        length = _DC4_LENGTH.get(fn)
        if length is None:
            return i + 3
        end = self.until(i + length)
        if fn == 1:  # DLE DC4 1 m t: real-time drawer pulse
            self.out.append(DrawerMark(pin=5 if self.data[i + 3] & 1 else 2))
        return end

    def symbol(self, payload: bytes) -> None:
        # GS ( k payload: cn fn [parameters]. cn 49 is QR: 67 module size, 69 error
        # correction, 80 store (m = 48, then the data), 81 print the stored symbol.
        state = self.state
        if len(payload) < 2 or payload[0] != 0x31:
            return
        fn, rest = payload[1], payload[2:]
        if fn == 0x43 and rest:
            state.qr_size = max(1, min(rest[0], 16))
        elif fn == 0x45 and rest:
            state.qr_level = _QR_LEVELS.get(rest[0], state.qr_level)
        elif fn == 0x50 and rest:
            state.qr_data = rest[1:]
        elif fn == 0x51 and state.qr_data and state.printing:
            self.flush()
            self.out.append(QrMark(state.qr_data, state.qr_size, state.qr_level, state.align))

    def barcode(self, i: int) -> int:
        m = self.param(i)[0]
        if m <= 6:  # GS k m d1..dk NUL
            nul = self.data.find(0, i + 3)
            end = self.until(len(self.data) + 1 if nul < 0 else nul + 1)
            data = self.data[i + 3 : end - 1]
        elif 65 <= m <= 79:  # GS k m n d1..dn
            end = self.until(i + 4 + self.param(i, 2)[1])
            data = self.data[i + 4 : end]
        else:
            return i + 3
        if self.state.printing:
            self.flush()
            self.out.append(BarcodeMark(m, data, self.state.align))
        return end

    def raster(self, i: int) -> int:
        zero, mode, x_low, x_high, y_low, y_high = self.param(i, 6)
        if zero != 0x30:
            return i + 3
        width_bytes, height = x_low | x_high << 8, y_low | y_high << 8
        end = self.until(i + 8 + width_bytes * height)
        if self.state.printing and 0 < width_bytes * height <= MAX_IMAGE_BYTES:
            self.flush()
            scale_x, scale_y = 2 if mode & 1 else 1, 2 if mode & 2 else 1
            data = self.data[i + 8 : end]
            self.out.append(ImageMark(width_bytes, height, data, scale_x, scale_y, self.state.align))
        return end


def extract(data: bytes) -> list[Extracted]:
    """What the ESC/POS job ``data`` puts on paper, in order. Never raises.

    Text after the last LF is a line too: a printer would hold it, and here it would be lost.
    """
    return _Walker(data).run()
