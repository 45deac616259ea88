"""Text layout on a fixed-width receipt: wrapping, two-column lines and the COPY banner.

All widths count characters of font A. The strings given here are already in their printed
form (see :func:`protocols.escpos.codepages.printable_text`), one character per printed cell,
so ``len`` is the printed width.
"""

from __future__ import annotations

import textwrap

DOTS_PER_CHARACTER = 12
"""Font A is 12 dots wide on Epson-class 203 dpi printers: 48 characters fill 576 dots (80 mm)."""

_COPY_WORDS = {"bs": "KOPIJA", "hr": "KOPIJA", "sr": "KOPIJA", "de": "KOPIE"}

# Below this many characters for the left text, a two-column line gives the right text a line
# of its own instead: two-letter fragments of an item name help no one.
_MIN_LEFT_ROOM = 8


def paper_dots(width: int) -> int:
    """Printable dots across the paper for a document ``width`` characters wide."""
    return width * DOTS_PER_CHARACTER


def copy_banner_text(language: str) -> str:
    """The banner that marks a reprint, e.g. ``*** KOPIJA ***`` for Bosnian."""
    word = _COPY_WORDS.get(language.strip().lower().replace("_", "-").split("-", 1)[0], "COPY")
    return f"*** {word} ***"


def wrap_text(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, broken at spaces where possible.

    A text that fits is returned untouched (its own spacing kept); an empty text is one empty
    line, so ``Text(text="")`` still prints a blank line. The printer would wrap long lines by
    itself, but in the middle of a word.
    """
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def columns_lines(left: str, right: str, width: int) -> list[str]:
    """``left`` and ``right`` justified to ``width``; ``left`` wraps so ``right`` stays visible.

    The right text goes on the first line, at the right margin, after at least one space::

        Chocolate bar with hazelnuts       2.40
        and raisins 100 g

    When the right text leaves no useful room, the left text gets full lines and the right
    text a line of its own, right-justified.
    """
    room = width - len(right) - 1
    if room < _MIN_LEFT_ROOM:
        lines = wrap_text(left, width) if left else []
        return lines + [part.rjust(width) for part in wrap_text(right, width)]
    if len(left) <= room:
        return [left.ljust(width - len(right)) + right]
    # The first line has the room left of the right text; further lines have the full width.
    # An indent as wide as the right text (and its space) reserves that room on the first line.
    indent = " " * (len(right) + 1)
    wrapped = textwrap.wrap(left, width, initial_indent=indent, break_long_words=True, break_on_hyphens=False)
    first, *rest = wrapped or [indent]  # a left text of spaces only wraps to nothing
    return [first[len(indent) :].ljust(width - len(right)) + right, *rest]


def columns_line(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on exactly one line of ``width``; a long left text is cut with ``~``.

    For places where a second line is not an option; documents use :func:`columns_lines`.
    """
    room = width - len(right) - 1
    if room < 1:
        return (left + " " + right)[:width]
    if len(left) > room:
        left = left[: room - 1] + "~" if room > 1 else left[:room]
    return left + " " * (width - len(left) - len(right)) + right
