"""Sans-I/O parser of customer-display byte streams: Epson DM-D style and CD5220.

Bytes go in through :meth:`DisplayParser.feed` in chunks of any size; a command split across
chunks is held until its last byte arrives. Commands understood (hex):

==========================  ======================  ==========================
what                        DM-D (``dmd``)          CD5220 (``cd5220``)
==========================  ======================  ==========================
initialize                  ``1B 40``               ``1B 40``
clear (and home)            ``0C``                  ``0C``
home                        ``0B``                  ``0B``
carriage return, line feed  ``0D``, ``0A``          ``0D``, ``0A``
cursor to column x, row y   ``1F 24 x y`` (1-based) --
brightness                  ``1F 58 n``             ``1B 2A n``
whole upper / lower line    --                      ``1B 51 41|42 <text> 0D``
==========================  ======================  ==========================

Any other byte >= ``20`` is text, written at the cursor: printable ASCII as itself, bytes from
``80`` up as code page 437 (the character set these displays start in). Everything else is
counted in :attr:`DisplayParser.unknown` and skipped; nothing raises, so a host's garbage can
never stop the display.
"""

from __future__ import annotations

from typing import Literal

from smartpos_sim.display.screen import Screen

DisplayProtocol = Literal["dmd", "cd5220"]
PROTOCOLS: tuple[DisplayProtocol, ...] = ("dmd", "cd5220")

ESC, US, CR, LF, FF, VT = 0x1B, 0x1F, 0x0D, 0x0A, 0x0C, 0x0B


def decode_char(byte: int) -> str | None:
    """The character a text byte shows; None for control bytes and DEL."""
    if 0x20 <= byte <= 0x7E:
        return chr(byte)
    if byte >= 0x80:
        return bytes((byte,)).decode("cp437")
    return None


class DisplayParser:
    """Turns a display's byte stream into changes of its :class:`Screen`.

    ``writes`` counts the commands and text characters acted on, ``unknown`` the commands and
    bytes skipped (an unknown ``ESC x`` or ``US x`` counts once and takes both bytes).
    """

    def __init__(self, protocol: DisplayProtocol = "dmd", columns: int = 20, rows: int = 2) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown display protocol {protocol!r}")
        self.protocol: DisplayProtocol = protocol
        self.screen = Screen(columns, rows)
        self.writes = 0
        self.unknown = 0
        # An incomplete command, at most 4 bytes: it is all the state framing needs, except
        # for a CD5220 line command, whose text runs to its CR and is collected below.
        self._pending = bytearray()
        self._line_row: int | None = None
        self._line_text: list[str] = []

    def state(self) -> tuple[list[str], int]:
        """What the customer sees: the lines and the brightness."""
        return self.screen.lines(), self.screen.brightness

    def feed(self, data: bytes) -> bool:
        """Act on ``data``; returns whether what the customer sees changed."""
        before = self.state()
        for byte in data:
            self._byte(byte)
        return self.state() != before

    # -- framing --------------------------------------------------------------------------
    def _byte(self, byte: int) -> None:
        if self._line_row is not None:
            if byte != ESC:
                self._line_byte(byte)
                return
            # A new command before the CR: the line command was cut off. Drop it, as a display
            # resynchronises on the next ESC, and read the ESC as the start of that command.
            self._line_row = None
            self.unknown += 1
        self._pending.append(byte)
        if self._command(bytes(self._pending)):
            self._pending.clear()

    def _line_byte(self, byte: int) -> None:
        assert self._line_row is not None
        if byte == CR:
            self.screen.set_line(self._line_row, "".join(self._line_text))
            self._line_row = None
            self.writes += 1
            return
        char = decode_char(byte)
        # Characters past the width, and control bytes, are dropped as the display drops them;
        # the CR still ends the command, so the stream stays in step.
        if char is not None and len(self._line_text) < self.screen.columns:
            self._line_text.append(char)

    def _command(self, seq: bytes) -> bool:
        """Act on ``seq`` if it is a whole command; False: wait for more bytes."""
        first = seq[0]
        if len(seq) == 1:
            return self._single(first)
        if first == ESC:
            return self._escape(seq)
        return self._unit_separator(seq)

    def _single(self, byte: int) -> bool:
        char = decode_char(byte)
        screen = self.screen
        if char is not None:
            screen.put(char)
        elif byte == FF:
            screen.clear()
        elif byte == VT:
            screen.home()
        elif byte == CR:
            screen.carriage_return()
        elif byte == LF:
            screen.line_feed()
        elif byte == ESC or (byte == US and self.protocol == "dmd"):
            return False
        else:
            self.unknown += 1
            return True
        self.writes += 1
        return True

    def _escape(self, seq: bytes) -> bool:
        code = seq[1]
        if code == 0x40:
            self.screen.reset()
            self.writes += 1
            return True
        if self.protocol == "cd5220" and code in (0x51, 0x2A):
            if len(seq) < 3:
                return False
            if code == 0x2A:
                self.screen.brightness = seq[2]
                self.writes += 1
            elif seq[2] in (0x41, 0x42) and seq[2] - 0x41 < self.screen.rows:
                self._line_row = seq[2] - 0x41
                self._line_text = []
            else:
                self.unknown += 1
            return True
        self.unknown += 1
        return True

    def _unit_separator(self, seq: bytes) -> bool:
        code = seq[1]
        if code == 0x24:  # 1F 24 x y: cursor, 1-based; off the screen it is ignored
            if len(seq) < 4:
                return False
            if self.screen.move_to(seq[2] - 1, seq[3] - 1):
                self.writes += 1
            else:
                self.unknown += 1
            return True
        if code == 0x58:  # 1F 58 n: brightness
            if len(seq) < 3:
                return False
            self.screen.brightness = seq[2]
            self.writes += 1
            return True
        self.unknown += 1
        return True
