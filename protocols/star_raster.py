"""Star raster mode: 1-bit images to printer bytes, and printer bytes back to rows.

Star TSP100-series printers print raster images only; ESC/POS text is ignored. Sans-I/O: this
module turns a :class:`Bitmap` into bytes and (for tests and tools) parses such bytes again.

What the reference sheet states (``shared/reference/device-protocols.md``, ESC/POS section)::

    1B 2A 72 41          enter raster mode (ESC * r A)
    62 nL nH data        one dot row of nL + nH x 256 bytes (b n1 n2 d1...dk)
    1B 2A 72 42          quit raster mode (ESC * r B)

What we use beyond it comes from Star's "STAR Line Mode Command Specifications", raster mode
chapter (Rev. 0.00 pp. 3-91 to 3-103; Rev. 1.x pp. 3-66 to 3-77), as published on manual sites
(manualsdir.com "star-micronics-line-thermal_dot-printer", manualsdump.com "line_thermal_printer"):

- ``ESC * r A`` itself initialises raster mode (page length, margins, EOT and FF modes, image
  buffer), so no separate initialise command is sent.
- ``b n1 n2 data``: the row is ORed into the image buffer from the left margin, then the
  position moves down one dot row. A row may be shorter than the paper; the rest stays blank.
- ``ESC * r E n NUL`` (``1B 2A 72 45 n 00``) sets the EOT mode, with ``n`` written as ASCII
  decimal digits: 2 form feed + cut feed, 9 cut feed + full cut, 13 cut feed + partial cut.
- ``ESC FF EOT`` (``1B 0C 04``) executes the EOT mode: prints the buffer, feeds and cuts.
- ``ESC * r Y n NUL`` (``1B 2A 72 59 n 00``) moves down ``n`` dots (ASCII decimal ``n``).
- ``ESC * r D n NUL`` (``1B 2A 72 44 n 00``) drives the drawer in raster mode: 1 external
  device 1, 2 external device 2, 3 both; the pulse widths are the printer's ``ESC BEL n1 n2``.
  (``BEL``, ``07``, is the drawer command of Star *line* mode, per the same spec's "External
  Device Drive" section; the raster chapter lists ``ESC * r D`` instead, so that is sent.)
- ``ESC * r B`` runs the EOT mode first when raster data is still buffered.

In the data a set bit prints a dot; the first byte of a row is its leftmost 8 dots, MSB first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ENTER_RASTER = b"\x1b*rA"
"""``ESC * r A`` (sheet): enter raster mode."""
QUIT_RASTER = b"\x1b*rB"
"""``ESC * r B`` (sheet): quit raster mode."""
EXECUTE_EOT = b"\x1b\x0c\x04"
"""``ESC FF EOT`` (Star line mode spec): print what is buffered, then feed/cut per the EOT mode."""
EXECUTE_FF = b"\x1b\x0c\x00"
"""``ESC FF NUL`` (Star line mode spec): the same with the FF mode; only parsed, never sent."""

CutMode = Literal["full", "partial", "none"]

# EOT mode numbers (Star line mode spec, "Set raster EOT mode"). "none" still feeds the last
# rows out past the tear bar, since a receipt left under the head cannot be torn off.
EOT_MODES: dict[CutMode, int] = {"none": 2, "full": 9, "partial": 13}

MAX_ROW_BYTES = 0xFFFF
# The spec gives no range for a move; long blank runs are split into moves of this many dots
# at most so that no number in the stream grows with the image.
_MAX_MOVE = 255


class StarRasterError(Exception):
    """A bitmap that cannot be encoded, or bytes that are not a raster job we understand.

    ``offset`` is the index of the offending byte when decoding (``None`` when encoding).
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Bitmap:
    """A 1-bit image: ``width`` dots (a multiple of 8) and one ``bytes`` per dot row."""

    width: int
    rows: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.width <= 0 or self.width % 8:
            raise StarRasterError(f"bitmap width must be a positive multiple of 8 dots, not {self.width}")
        if self.width // 8 > MAX_ROW_BYTES:
            raise StarRasterError(f"bitmap width {self.width} exceeds a raster row's {MAX_ROW_BYTES} bytes")
        for index, row in enumerate(self.rows):
            if len(row) != self.width // 8:
                raise StarRasterError(f"row {index} has {len(row)} bytes, expected {self.width // 8}")

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def row_bytes(self) -> int:
        return self.width // 8


@dataclass(frozen=True, slots=True)
class RasterPage:
    """One piece of paper: its image and how it ends (cut fully, partially, or not at all)."""

    bitmap: Bitmap
    cut: CutMode = "partial"


def _decimal_command(letter: bytes, value: int) -> bytes:
    # Star raster settings spell their number in ASCII decimal digits, ended by NUL.
    if value < 0:
        raise StarRasterError(f"ESC * r {letter.decode()} takes a non-negative number, not {value}")
    return b"\x1b*r" + letter + str(value).encode("ascii") + b"\x00"


def raster_row(data: bytes) -> bytes:
    """``b nL nH data``: send one dot row (1 to 65535 bytes) and move down one row."""
    if not 1 <= len(data) <= MAX_ROW_BYTES:
        raise StarRasterError(f"a raster row holds 1 to {MAX_ROW_BYTES} bytes, not {len(data)}")
    return b"b" + len(data).to_bytes(2, "little") + data


def set_eot_mode(cut: CutMode) -> bytes:
    """``ESC * r E n NUL``: what ``ESC FF EOT`` (and quitting raster mode) does to the paper."""
    return _decimal_command(b"E", EOT_MODES[cut])


def move_down(dots: int) -> bytes:
    """``ESC * r Y n NUL``: move the print position down ``dots`` dot rows (blank paper)."""
    if dots < 1:
        raise StarRasterError(f"a move needs at least one dot, not {dots}")
    return _decimal_command(b"Y", dots)


def drawer_drive(devices: int) -> bytes:
    """``ESC * r D n NUL``: pulse drawer 1 (``1``), drawer 2 (``2``) or both (``3``)."""
    if devices not in (1, 2, 3):
        raise StarRasterError(f"drawer drive takes 1, 2 or 3, not {devices}")
    return _decimal_command(b"D", devices)


def encode_bitmap(bitmap: Bitmap) -> bytes:
    """The sheet's raster sequence for ``bitmap``: enter, one ``b`` command per row, quit.

    Every row is sent in full, exactly as the reference sheet writes it. :func:`encode_job`
    is what drivers send: it sets the cut and sends fewer bytes for the same paper.
    """
    return ENTER_RASTER + b"".join(raster_row(row) for row in bitmap.rows) + QUIT_RASTER


def _compact_rows(bitmap: Bitmap) -> bytes:
    # A receipt is mostly white: trailing zero bytes of a row print nothing, and blank rows
    # become one move. Over Bluetooth LE at 20 bytes a write this is most of the job's time.
    out = bytearray()
    blank = 0
    for row in bitmap.rows:
        used = row.rstrip(b"\x00")
        if not used:
            blank += 1
            continue
        while blank:
            step = min(blank, _MAX_MOVE)
            out += move_down(step)
            blank -= step
        out += raster_row(used)
    while blank:
        step = min(blank, _MAX_MOVE)
        out += move_down(step)
        blank -= step
    return bytes(out)


def encode_job(pages: Sequence[RasterPage], *, drawer: int = 0, compact: bool = True) -> bytes:
    """A whole print job: enter raster mode, each page ended by its cut, then quit.

    ``drawer`` (0 none, 1, 2 or 3) drives cash drawer outputs at the start of the job, so the
    drawer opens while the receipt prints. ``compact`` trims blank bytes and rows (see
    :func:`_compact_rows`); ``False`` sends every row in full.
    """
    out = bytearray(ENTER_RASTER)
    if drawer:
        out += drawer_drive(drawer)
    for page in pages:
        out += set_eot_mode(page.cut)
        if compact:
            out += _compact_rows(page.bitmap)
        else:
            out += b"".join(raster_row(row) for row in page.bitmap.rows)
        out += EXECUTE_EOT
    out += QUIT_RASTER
    return bytes(out)


@dataclass(frozen=True, slots=True)
class RasterCommand:
    """One decoded command: ``kind`` and its number (row data for ``row``).

    Kinds: ``enter``, ``quit``, ``clear`` (``ESC * r C``), ``row``, ``setting`` (``ESC * r X n
    NUL``; ``letter`` is X), ``eot`` (``ESC FF EOT``) and ``ff`` (``ESC FF NUL``).
    """

    kind: Literal["enter", "quit", "clear", "row", "setting", "eot", "ff"]
    offset: int
    letter: str = ""
    value: int = 0
    data: bytes = b""


_MAX_DIGITS = 9
_MODE_COMMANDS: dict[str, Literal["enter", "quit", "clear"]] = {"A": "enter", "B": "quit", "C": "clear"}


def decode(data: bytes) -> list[RasterCommand]:
    """Parse a raster job; raises :class:`StarRasterError` at the first byte it cannot place.

    Outside raster mode only ``ESC * r A`` is accepted: Star line mode text is not ours to read.
    """
    commands: list[RasterCommand] = []
    i, end, in_raster = 0, len(data), False
    while i < end:
        start = i
        if data.startswith(b"\x1b*r", i) and i + 3 < end:
            letter = chr(data[i + 3])
            kind = _MODE_COMMANDS.get(letter)
            if kind is not None:
                if kind != "enter" and not in_raster:
                    raise StarRasterError(f"ESC * r {letter} outside raster mode", offset=start)
                in_raster = kind != "quit"
                commands.append(RasterCommand(kind, start))
                i += 4
                continue
            if not in_raster:
                raise StarRasterError(f"ESC * r {letter} outside raster mode", offset=start)
            nul = data.find(b"\x00", i + 4, i + 5 + _MAX_DIGITS)
            digits = data[i + 4 : nul]
            if nul < 0 or not digits.isdigit():
                raise StarRasterError(f"ESC * r {letter} needs decimal digits and NUL", offset=start)
            commands.append(RasterCommand("setting", start, letter=letter, value=int(digits)))
            i = nul + 1
        elif not in_raster:
            raise StarRasterError(f"byte {data[i]:#04x} outside raster mode", offset=start)
        elif data[i] == 0x62:  # b nL nH data
            if i + 3 > end:
                raise StarRasterError("raster row header cut short", offset=start)
            size = data[i + 1] | data[i + 2] << 8
            if size == 0 or i + 3 + size > end:
                raise StarRasterError(f"raster row of {size} bytes does not fit the data", offset=start)
            commands.append(RasterCommand("row", start, value=size, data=data[i + 3 : i + 3 + size]))
            i += 3 + size
        elif data.startswith(EXECUTE_EOT, i) or data.startswith(EXECUTE_FF, i):
            commands.append(RasterCommand("eot" if data[i + 2] == 4 else "ff", start))
            i += 3
        else:
            raise StarRasterError(f"unknown raster command byte {data[i]:#04x}", offset=start)
    return commands


def page_bitmaps(commands: Sequence[RasterCommand], width: int, *, max_rows: int = 100_000) -> list[Bitmap]:
    """The printed pages of decoded ``commands`` on paper ``width`` dots wide.

    A page ends at ``ESC FF EOT``/``NUL`` or at quit; moves become blank rows; a row longer than
    the paper is cut to it (the printer discards what falls outside the print area). More than
    ``max_rows`` rows in all raises :class:`StarRasterError`: a move of a billion dots is legal
    to write down but not something to build in memory.
    """
    row_bytes = Bitmap(width, ()).row_bytes
    pages: list[Bitmap] = []
    rows: list[bytes] = []
    total = 0
    for command in commands:
        added = 1 if command.kind == "row" else command.value if command.letter == "Y" else 0
        total += added
        if total > max_rows:
            raise StarRasterError(f"job is longer than {max_rows} dot rows", offset=command.offset)
        if command.kind == "row":
            rows.append(command.data[:row_bytes].ljust(row_bytes, b"\x00"))
        elif added:
            rows.extend([bytes(row_bytes)] * added)
        elif command.kind == "clear":
            rows = []
        elif command.kind in ("eot", "ff", "quit") and rows:
            pages.append(Bitmap(width, tuple(rows)))
            rows = []
    return pages
