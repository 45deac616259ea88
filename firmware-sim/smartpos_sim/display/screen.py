"""The display's character grid: fixed size, a cursor, and a brightness level."""

from __future__ import annotations

DEFAULT_BRIGHTNESS = 4  # both DM-D (1F 58 n) and CD5220 (1B 2A n) displays start at full


class Screen:
    """``columns`` x ``rows`` characters and a cursor, as a VFD line display holds them.

    The size never changes: every operation clips or wraps, so no byte sequence can grow the
    grid or move the cursor off it. Wrapping is the "overwrite mode" both command sets start
    in: past the last column the cursor goes to the start of the next row, and past the last
    row back to the top-left corner (the text is not scrolled).
    """

    def __init__(self, columns: int = 20, rows: int = 2) -> None:
        if columns < 1 or rows < 1:
            raise ValueError(f"a display needs at least 1x1 characters, not {columns}x{rows}")
        self.columns = columns
        self.rows = rows
        self.cells = [[" "] * columns for _ in range(rows)]
        self.x = 0  # cursor column, 0-based
        self.y = 0  # cursor row, 0-based
        self.brightness = DEFAULT_BRIGHTNESS

    def lines(self) -> list[str]:
        """The rows as strings, each exactly ``columns`` characters long."""
        return ["".join(row) for row in self.cells]

    def reset(self) -> None:
        """ESC @: blank screen, cursor home, brightness back to its default."""
        self.clear()
        self.brightness = DEFAULT_BRIGHTNESS

    def clear(self) -> None:
        """Blank every cell and home the cursor (both command sets home on clear)."""
        for row in self.cells:
            row[:] = [" "] * self.columns
        self.home()

    def home(self) -> None:
        self.x = self.y = 0

    def move_to(self, column: int, row: int) -> bool:
        """Put the cursor at 0-based (``column``, ``row``); False (and no move) if off the grid."""
        if not (0 <= column < self.columns and 0 <= row < self.rows):
            return False
        self.x, self.y = column, row
        return True

    def put(self, char: str) -> None:
        """Write one character at the cursor and advance it, wrapping as described above."""
        self.cells[self.y][self.x] = char
        self.x += 1
        if self.x == self.columns:
            self.x = 0
            self.line_feed()

    def carriage_return(self) -> None:
        self.x = 0

    def line_feed(self) -> None:
        """Next row, same column; from the bottom row back to the top (overwrite mode)."""
        self.y = (self.y + 1) % self.rows

    def set_line(self, row: int, text: str) -> None:
        """Replace a whole row: ``text`` is cut to the width and padded with spaces."""
        self.cells[row] = list(text[: self.columns].ljust(self.columns))
