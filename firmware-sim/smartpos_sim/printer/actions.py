"""What the command stream asks the printer to do: one small value per command.

The parser (:mod:`smartpos_sim.printer.parser`) produces these; the paper model
(:mod:`smartpos_sim.printer.paper`) and the print engine act on them. ``size`` is how many bytes
of the stream the command took, which is what the receive buffer accounts in.
"""

from __future__ import annotations

from dataclasses import dataclass

BARCODE_NAMES: dict[int, str] = {
    0: "UPC-A",
    1: "UPC-E",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1-128",
    75: "GS1-DATABAR-OMNI",
    76: "GS1-DATABAR-TRUNCATED",
    77: "GS1-DATABAR-LIMITED",
    78: "GS1-DATABAR-EXPANDED",
    79: "CODE128-AUTO",
}


@dataclass(frozen=True, slots=True)
class Action:
    """Base of every action; ``size`` is the number of stream bytes the command took."""

    size: int


@dataclass(frozen=True, slots=True)
class Realtime(Action):
    """Base of real-time commands (``DLE ...``): acted on when received, not in print order."""


@dataclass(frozen=True, slots=True)
class Text(Action):
    """A run of printable bytes, still in the printer's code page."""

    data: bytes


@dataclass(frozen=True, slots=True)
class LineFeed(Action):
    """``LF``: print the line buffer and feed one line."""


@dataclass(frozen=True, slots=True)
class Tab(Action):
    """``HT``: move to the next tab stop."""


@dataclass(frozen=True, slots=True)
class FormFeed(Action):
    """``FF``: print what is buffered (the end of a page in page mode)."""


@dataclass(frozen=True, slots=True)
class Initialize(Action):
    """``ESC @``: clear the line buffer, reset code page and styles."""


@dataclass(frozen=True, slots=True)
class SelectCodePage(Action):
    """``ESC t n``."""

    table: int


@dataclass(frozen=True, slots=True)
class SelectPeripheral(Action):
    """``ESC = n``: bit 0 set routes data to the printer, clear routes it to a line display."""

    n: int


@dataclass(frozen=True, slots=True)
class SetTabs(Action):
    """``ESC D n1 ... nk NUL``: tab stops, in characters."""

    columns: bytes


@dataclass(frozen=True, slots=True)
class Setting(Action):
    """A command that changes state but puts nothing on paper (styles, spacing, barcode size).

    ``command`` is the command's header: prefix, command byte and fixed parameters.
    """

    command: bytes


@dataclass(frozen=True, slots=True)
class Feed(Action):
    """``ESC d n``: print the line buffer and feed ``n`` lines."""

    lines: int


@dataclass(frozen=True, slots=True)
class FeedDots(Action):
    """``ESC J n``: print the line buffer and feed ``n`` motion units."""

    dots: int


@dataclass(frozen=True, slots=True)
class Cut(Action):
    """``GS V`` (and the legacy ``ESC i`` / ``ESC m``)."""

    partial: bool


@dataclass(frozen=True, slots=True)
class DrawerKick(Action):
    """``ESC p m t1 t2``: a drawer pulse in print order."""

    pin: int
    on_ms: int
    off_ms: int


@dataclass(frozen=True, slots=True)
class BitImage(Action):
    """``ESC * m nL nH data``: one stripe of a column bit image, part of the current line."""

    columns: int


@dataclass(frozen=True, slots=True)
class RasterImage(Action):
    """``GS v 0 m xL xH yL yH data``."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class GraphicsStore(Action):
    """``GS ( L`` / ``GS 8 L`` fn 112: raster graphics stored in the print buffer."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class GraphicsPrint(Action):
    """``GS ( L`` fn 50: print the stored graphics."""


@dataclass(frozen=True, slots=True)
class SymbolStore(Action):
    """``GS ( k`` fn 80: store 2D symbol data (QR, PDF417 ...)."""

    symbol: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SymbolPrint(Action):
    """``GS ( k`` fn 81: print the stored symbol."""

    symbol: str


@dataclass(frozen=True, slots=True)
class Barcode(Action):
    """``GS k m ...``: form A (NUL-terminated, m 0..6) or form B (length byte, m 65..79)."""

    system: int
    data: bytes

    @property
    def name(self) -> str:
        return BARCODE_NAMES.get(self.system, f"SYSTEM-{self.system}")


@dataclass(frozen=True, slots=True)
class NvImage(Action):
    """``FS p n m``: print NV bit image ``n``."""

    number: int


@dataclass(frozen=True, slots=True)
class ProcessId(Action):
    """``GS ( H`` fn 48: answer ``37 22 d1..d4 00`` once everything before it has printed."""

    ident: bytes


@dataclass(frozen=True, slots=True)
class Unknown(Action):
    """A command the printer does not know; ``command`` are the bytes it skipped."""

    command: bytes


@dataclass(frozen=True, slots=True)
class StatusRequest(Realtime):
    """``DLE EOT n``: answer one status byte now."""

    n: int


@dataclass(frozen=True, slots=True)
class RealtimeRequest(Realtime):
    """``DLE ENQ n``: error recovery request (no answer)."""

    n: int


@dataclass(frozen=True, slots=True)
class DrawerPulse(Realtime):
    """``DLE DC4 1 m t``: a drawer pulse now, ``t`` x 100 ms."""

    pin: int
    pulse_ms: int


@dataclass(frozen=True, slots=True)
class RealtimeCommand(Realtime):
    """Any other ``DLE DC4 fn`` (power off, buzzer, clear buffers): framed, otherwise ignored."""

    fn: int
