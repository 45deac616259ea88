"""Customer line displays (pole displays): text in, command bytes out.

Sans-I/O: these encoders build the bytes a driver writes; nothing here opens a port. Two
command sets cover nearly every pole display on the market, as listed in
``shared/reference/device-protocols.md`` ("Customer displays and drawers"):

| command | Epson DM-D | CD5220 |
|---|---|---|
| initialise | ``1B 40`` | ``1B 40`` |
| clear | ``0C`` | ``0C`` |
| cursor home | ``0B`` | (not used) |
| cursor to column x, row y (1-based) | ``1F 24 x y`` | (not used) |
| brightness n = 1..4 | ``1F 58 n`` | ``1B 2A n`` |
| write the upper / lower line | (cursor, then text) | ``1B 51 41`` / ``1B 51 42`` + text + ``0D`` |

A DM-D display hung off an Epson printer's display port is reached through the printer:
the data is wrapped in ``1B 3D 02`` (send to the display) ... ``1B 3D 01`` (back to the
printer), see :func:`through_printer`.

Text is fitted to the display one character per cell: cut or padded with spaces, and encoded
in CP437 (the power-on character table of both families). A character CP437 lacks becomes its
unaccented ASCII letter ("č" shows as "c") or ``?``; control characters never reach the wire,
since a stray ``0C`` or ``1B`` inside a product name would be taken for a command.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from protocols.escpos.codepages import ONE_CELL_STAND_INS

CODEC = "cp437"

INIT = b"\x1b\x40"
CLEAR = b"\x0c"
DMD_HOME = b"\x0b"
PRINTER_TO_DISPLAY = b"\x1b\x3d\x02"
PRINTER_TO_PRINTER = b"\x1b\x3d\x01"

CD5220_UPPER = b"\x1b\x51\x41"
CD5220_LOWER = b"\x1b\x51\x42"
CD5220_LINE_END = b"\x0d"

BRIGHTNESS_LEVELS = range(1, 5)
# Both command sets put x and y in one byte each; no line display comes near that bound.
_MAX_CELLS = 255

# Characters without a useful decomposition that still have an obvious one-cell stand-in: the
# printer's table, plus the euro sign, which CP437 lacks.
_FOLD = {**ONE_CELL_STAND_INS, "€": "E"}


class DisplayError(ValueError):
    """A display command was asked for with parameters no display can take.

    Brightness outside 1..4, fewer than one column or row, more rows than the command set can
    address, a cursor position off the display.
    """


def _encodable(char: str) -> bool:
    try:
        char.encode(CODEC)
    except UnicodeEncodeError:
        return False
    return True


def _cell(char: str) -> str:
    """One display cell for ``char``: itself, an ASCII stand-in, a space or ``?``."""
    if char.isspace():
        # Tabs and newlines inside a line mean "some space", never a control byte.
        return " "
    if unicodedata.category(char) == "Cc":
        return "?"
    if _encodable(char):
        return char
    folded = _FOLD.get(char)
    if folded is None:
        # "č" -> "c" + combining caron -> "c"; "ﬁ" would become two cells, so it is refused.
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        folded = base if len(base) == 1 and base.isascii() and base.isprintable() else "?"
    return folded


def display_text(text: str) -> str:
    """``text`` as a display shows it: every character one CP437 byte, no control characters.

    NFC first, so a decomposed "c" + caron finds "č"; a combining mark left over, and an
    invisible format character (zero-width joiner, soft hyphen), has no cell of its own and is
    dropped rather than shown as ``?``.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case: prices and plain product names
    text = unicodedata.normalize("NFC", text)
    return "".join(_cell(c) for c in text if not _zero_width(c))


def _zero_width(char: str) -> bool:
    return bool(unicodedata.combining(char)) or unicodedata.category(char) == "Cf"


def fit(text: str, columns: int) -> str:
    """``text`` made displayable and cut or padded with spaces to exactly ``columns`` cells."""
    _check_columns(columns)
    return display_text(text)[:columns].ljust(columns)


def encode_line(text: str, columns: int) -> bytes:
    """The bytes of one line of exactly ``columns`` cells."""
    return fit(text, columns).encode(CODEC)


def through_printer(data: bytes) -> bytes:
    """``data`` for a display connected behind an Epson printer (``ESC = 2`` ... ``ESC = 1``).

    Switching back to the printer at the end matters: otherwise the next receipt would be
    written onto the display.
    """
    return PRINTER_TO_DISPLAY + data + PRINTER_TO_PRINTER


def _check_columns(columns: int) -> None:
    if not 1 <= columns <= _MAX_CELLS:
        raise DisplayError(f"a display has 1..{_MAX_CELLS} columns, not {columns}")


def _check_brightness(level: int) -> None:
    if level not in BRIGHTNESS_LEVELS:
        raise DisplayError(f"brightness is 1..4, not {level}")


def _rows_of(lines: tuple[str, ...] | list[str], rows: int) -> list[str]:
    """Exactly ``rows`` lines: extra ones dropped, missing ones blank."""
    return [*lines[:rows], *([""] * (rows - len(lines)))]


@dataclass(frozen=True, slots=True)
class DmdEncoder:
    """Epson DM-D command set for a display of ``columns`` x ``rows`` cells."""

    columns: int = 20
    rows: int = 2

    def __post_init__(self) -> None:
        _check_columns(self.columns)
        if not 1 <= self.rows <= _MAX_CELLS:
            raise DisplayError(f"a display has 1..{_MAX_CELLS} rows, not {self.rows}")

    def init(self) -> bytes:
        """``ESC @``: reset to power-on settings."""
        return INIT

    def clear(self) -> bytes:
        """``FF``: blank the display (the cursor goes home)."""
        return CLEAR

    def home(self) -> bytes:
        """``VT``: cursor to the upper left cell."""
        return DMD_HOME

    def cursor(self, x: int, y: int) -> bytes:
        """``US $ x y``: cursor to column ``x``, row ``y``, both counted from 1."""
        if not (1 <= x <= self.columns and 1 <= y <= self.rows):
            raise DisplayError(f"cursor ({x}, {y}) is off a {self.columns}x{self.rows} display")
        return bytes((0x1F, 0x24, x, y))

    def brightness(self, level: int) -> bytes:
        """``US X n``: brightness 1 (dimmest) to 4 (brightest)."""
        _check_brightness(level)
        return bytes((0x1F, 0x58, level))

    def show(self, lines: tuple[str, ...] | list[str]) -> bytes:
        """Every row rewritten in place: cursor to its start, then exactly ``columns`` cells.

        Positioning each row explicitly, rather than writing past the end of a row, keeps the
        result independent of the display's wrap and scroll mode.
        """
        out = bytearray()
        for y, line in enumerate(_rows_of(lines, self.rows), start=1):
            out += self.cursor(1, y) + encode_line(line, self.columns)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Cd5220Encoder:
    """CD5220 command set: two lines, each written whole with ``ESC Q A`` / ``ESC Q B``."""

    columns: int = 20
    rows: int = 2

    def __post_init__(self) -> None:
        _check_columns(self.columns)
        if self.rows not in (1, 2):
            raise DisplayError(f"CD5220 addresses an upper and a lower line, not {self.rows} rows")

    def init(self) -> bytes:
        """``ESC @``: reset to power-on settings."""
        return INIT

    def clear(self) -> bytes:
        """``FF``: blank the display."""
        return CLEAR

    def brightness(self, level: int) -> bytes:
        """``ESC * n``: brightness 1 (dimmest) to 4 (brightest)."""
        _check_brightness(level)
        return bytes((0x1B, 0x2A, level))

    def line(self, row: int, text: str) -> bytes:
        """Row 1 (upper) or 2 (lower): prefix, exactly ``columns`` cells, ``CR``.

        The display expects the full width before the ``CR``; a short line would leave the
        previous text's tail standing, so it is always padded.
        """
        if row not in range(1, self.rows + 1):
            raise DisplayError(f"row {row} is off a {self.rows}-row display")
        prefix = CD5220_UPPER if row == 1 else CD5220_LOWER
        return prefix + encode_line(text, self.columns) + CD5220_LINE_END

    def show(self, lines: tuple[str, ...] | list[str]) -> bytes:
        """Both lines (or the one) rewritten."""
        rows = _rows_of(lines, self.rows)
        return b"".join(self.line(row, text) for row, text in enumerate(rows, start=1))


LineEncoder = DmdEncoder | Cd5220Encoder
"""Either command set; both build ``init``, ``clear``, ``brightness`` and ``show`` frames."""
