"""What gets printed: the print-side state of the printer, sans-I/O, and the paper writer.

:class:`PrintModel` turns actions, in print order, into :class:`Step` values: a line of paper
text (or a pure feed) and how many millimetres of paper it moves, which the engine turns into
time at the configured paper speed. The paper is plain UTF-8 text, one printed line per line:

* text lines as decoded in the selected code page; styles and alignment change state only
  (the line shows the text as received); a line longer than the printable width wraps, as on
  a real printer (``--width-chars``, halved by double width, 4/3 for font B);
* ``--- CUT ---`` / ``--- PARTIAL CUT ---``; ``[DRAWER pin=2 on_ms=100 off_ms=500]``;
  ``[DRAWER pin=5 pulse_ms=200]``; ``[QR] data``; ``[BARCODE EAN13] data``; ``[IMAGE WxH]``;
  ``[BITIMAGE n cols]`` (part of the line it is printed in); ``[NV IMAGE n]``;
  ``[UNKNOWN 1B 01]`` for commands the printer does not know;
* an unterminated line is printed before a cut or marker; ``ESC d n`` prints the line buffer
  and feeds without writing blank lines, while ``LF`` on an empty line writes an empty line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

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
    RasterImage,
    Realtime,
    SelectCodePage,
    SelectPeripheral,
    SetTabs,
    Setting,
    SymbolPrint,
    SymbolStore,
    Tab,
    Text,
    Unknown,
)
from smartpos_sim.printer.codepages import DEFAULT_CODEPAGE, codec_for, decode
from smartpos_sim.printer.parser import ESC, GS, parse

LINE_MM = 4.23  # default line spacing, 1/6 inch
DOTS_PER_MM = 8.0  # 203 dpi
TAB_EVERY = 8  # default tab stops, in characters


class Step(NamedTuple):
    """One thing the print head does: ``line`` goes on paper (None: a pure feed), moving ``mm``."""

    line: str | None
    mm: float


@dataclass
class Style:
    """Character and layout settings; they change state but not the paper text."""

    bold: bool = False
    underline: int = 0
    double_strike: bool = False
    font: int = 0
    align: int = 0  # 0 left, 1 center, 2 right
    width: int = 1  # character width multiplier
    height: int = 1
    upside_down: bool = False
    reverse: bool = False
    line_spacing: int | None = None  # dots; None is the default 1/6 inch


def _code128_text(data: bytes) -> str:
    """Human-readable CODE128 data: code-set selectors dropped, code set C pairs as digits."""
    out: list[str] = []
    code_set, i = "B", 0
    while i < len(data):
        byte = data[i]
        if byte == 0x7B and i + 1 < len(data):  # "{A", "{B", "{C", "{{", FNC and shift codes
            following = data[i + 1]
            if following in b"ABC":
                code_set = chr(following)
            elif following == 0x7B:
                out.append("{")
            i += 2
            continue
        if code_set == "C":
            out.append(f"{byte:02d}" if byte < 100 else "\ufffd")
        else:
            out.append(chr(byte) if 0x20 <= byte < 0x7F else "\ufffd")
        i += 1
    return "".join(out)


@dataclass
class PrintModel:
    """The printer's print buffer and modes; :meth:`apply` acts on one action in print order."""

    width_chars: int = 48
    codepage: int = DEFAULT_CODEPAGE
    style: Style = field(default_factory=Style)
    enabled: bool = True  # ESC = : data goes to the printer (not a daisy-chained display)
    display_text: str = ""  # what was sent to the daisy-chained display

    def __post_init__(self) -> None:
        self._line: list[str] = []
        self._column = 0
        self._tabs: list[int] = []
        self._default_tabs = True
        self._symbols: dict[str, bytes] = {}
        self._graphics: tuple[int, int] | None = None

    @property
    def pending_line(self) -> str:
        """Text received for the current line but not printed yet (no LF so far)."""
        return "".join(self._line)

    def apply(self, action: Action) -> list[Step]:
        """What printing ``action`` does to the paper."""
        if isinstance(action, Realtime):
            # Real-time commands bypass the print buffer (and a disabled printer still obeys them).
            if isinstance(action, DrawerPulse):
                return [Step(f"[DRAWER pin={action.pin} pulse_ms={action.pulse_ms}]", 0.0)]
            return []
        if not self.enabled:
            # Routed to a display on the printer's display port: nothing reaches the paper. The
            # text is kept (the last 160 characters, cleared by CLR) so tests can see it arrived.
            match action:
                case SelectPeripheral(n=n):
                    self.enabled = bool(n & 1)
                case Text(data=data):
                    self.display_text = (self.display_text + decode(data, self.codepage))[-160:]
                case FormFeed():
                    self.display_text = ""
            return []
        steps: list[Step] = []
        match action:
            case Text(data=data):
                self._add_text(decode(data, self.codepage), steps)
            case LineFeed():
                steps.append(self._take_line(LINE_MM))
            case Tab():
                self._tab()
            case FormFeed():
                self._flush(steps)
            case Feed(lines=lines):
                self._flush(steps)
                feed = lines - 1 if steps else lines
                if feed > 0:
                    steps.append(Step(None, feed * LINE_MM))
            case FeedDots(dots=dots):
                self._flush(steps)
                steps.append(Step(None, dots / DOTS_PER_MM))
            case Cut(partial=partial):
                self._marker(steps, "--- PARTIAL CUT ---" if partial else "--- CUT ---", 0.0)
            case DrawerKick(pin=pin, on_ms=on_ms, off_ms=off_ms):
                self._marker(steps, f"[DRAWER pin={pin} on_ms={on_ms} off_ms={off_ms}]", 0.0)
            case BitImage(columns=columns):
                self._line.append(f"[BITIMAGE {columns} cols]")
            case RasterImage(width=width, height=height):
                self._marker(steps, f"[IMAGE {width}x{height}]", height / DOTS_PER_MM)
            case GraphicsStore(width=width, height=height):
                self._graphics = (width, height)
            case GraphicsPrint() if self._graphics is not None:
                width, height = self._graphics
                self._marker(steps, f"[IMAGE {width}x{height}]", height / DOTS_PER_MM)
            case SymbolStore(symbol=symbol, data=data):
                self._symbols[symbol] = data
            case SymbolPrint(symbol=symbol) if symbol in self._symbols:
                text = self._symbols[symbol].decode("utf-8", errors="replace")
                self._marker(steps, f"[{symbol}] {text}", LINE_MM)
            case Barcode():
                digits = action.data
                text = _code128_text(digits) if action.system == 73 else digits.decode("latin-1")
                self._marker(steps, f"[BARCODE {action.name}] {text}", LINE_MM)
            case NvImage(number=number):
                self._marker(steps, f"[NV IMAGE {number}]", LINE_MM)
            case Unknown(command=command):
                self._marker(steps, f"[UNKNOWN {command.hex(' ').upper()}]", 0.0)
            case Initialize():
                self._reset()
            case SelectCodePage(table=table) if codec_for(table) is not None:
                self.codepage = table
            case SelectPeripheral(n=n):
                self.enabled = bool(n & 1)
            case SetTabs(columns=columns):
                self._set_tabs(columns)
            case Setting(command=command):
                self._setting(command)
        return steps

    # -- the line buffer ------------------------------------------------------------------
    def _printable_width(self) -> int:
        base = self.width_chars * 4 // 3 if self.style.font == 1 else self.width_chars
        return max(1, base // self.style.width)

    def _add_text(self, text: str, steps: list[Step]) -> None:
        # A printer prints a full line when the next character no longer fits; so a line of
        # exactly the printable width followed by LF is one line, not a line and a blank one.
        while text:
            room = self._printable_width() - self._column
            if room <= 0:
                steps.append(self._take_line(LINE_MM))
                continue
            piece, text = text[:room], text[room:]
            self._line.append(piece)
            self._column += len(piece)

    def _tab(self) -> None:
        stops = range(TAB_EVERY, 256, TAB_EVERY) if self._default_tabs else self._tabs
        stop = next((s for s in stops if s > self._column), None)
        if stop is not None and stop <= self._printable_width():
            self._line.append(" " * (stop - self._column))
            self._column = stop

    def _set_tabs(self, columns: bytes) -> None:
        self._default_tabs = False
        self._tabs = []
        for column in columns:  # stops must increase; the first that does not ends the list
            if self._tabs and column <= self._tabs[-1]:
                break
            self._tabs.append(column)

    def _take_line(self, mm: float) -> Step:
        line = "".join(self._line)
        self._line.clear()
        self._column = 0
        return Step(line, mm)

    def _flush(self, steps: list[Step]) -> None:
        if self._line:
            steps.append(self._take_line(LINE_MM))

    def _marker(self, steps: list[Step], text: str, mm: float) -> None:
        self._flush(steps)
        steps.append(Step(text, mm))

    # -- modes ----------------------------------------------------------------------------
    def _reset(self) -> None:
        self.codepage = DEFAULT_CODEPAGE
        self.style = Style()
        self._line.clear()
        self._column = 0
        self._default_tabs = True
        self._symbols.clear()
        self._graphics = None

    def _setting(self, command: bytes) -> None:
        style = self.style
        key, n = command[:2], command[2] if len(command) > 2 else 0
        if key == bytes((ESC, 0x21)):  # ESC ! n: print mode
            style.font, style.bold = n & 1, bool(n & 0x08)
            style.height, style.width = (2 if n & 0x10 else 1), (2 if n & 0x20 else 1)
            style.underline = 1 if n & 0x80 else 0
        elif key == bytes((ESC, 0x45)):  # ESC E n
            style.bold = bool(n & 1)
        elif key == bytes((ESC, 0x2D)):  # ESC - n
            style.underline = n & 3
        elif key == bytes((ESC, 0x47)):  # ESC G n
            style.double_strike = bool(n & 1)
        elif key == bytes((ESC, 0x4D)):  # ESC M n
            style.font = n & 3
        elif key == bytes((ESC, 0x61)):  # ESC a n
            style.align = n & 3
        elif key == bytes((ESC, 0x7B)):  # ESC { n
            style.upside_down = bool(n & 1)
        elif key == bytes((ESC, 0x33)):  # ESC 3 n
            style.line_spacing = n
        elif key == bytes((ESC, 0x32)):  # ESC 2
            style.line_spacing = None
        elif key == bytes((GS, 0x21)):  # GS ! n: width and height multipliers
            style.width, style.height = (n >> 4 & 7) + 1, (n & 7) + 1
        elif key == bytes((GS, 0x42)):  # GS B n
            style.reverse = bool(n & 1)


class PaperWriter:
    """Appends printed lines to a text stream.

    Lines are buffered; the engine calls :meth:`flush` whenever the printer waits (queue empty,
    paper moving at a set speed, a stall, before confirming a job), so a reader of the file sees
    everything printed so far without a write syscall per line at full speed.
    """

    def __init__(self, stream: TextIO, *, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self.lines = 0

    @classmethod
    def open(cls, path: str) -> PaperWriter:
        """``-`` is standard output; a path is appended to (created if missing)."""
        if path == "-":
            return cls(sys.stdout)
        return cls(open(path, "a", encoding="utf-8"), owned=True)

    def write_line(self, line: str) -> None:
        self._stream.write(line + "\n")
        self.lines += 1

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
        if self._owned:
            self._stream.close()


def render(data: bytes, width_chars: int = 48) -> list[str]:
    """The paper lines ``data`` prints (real-time pulses in stream order); for tests and tools."""
    model = PrintModel(width_chars=width_chars)
    return [step.line for action in parse(data) for step in model.apply(action) if step.line is not None]
