"""Character code tables of the simulated printer (``ESC t n``), decoded with Python's codecs.

The numbers are Epson's (TM-T88 and compatibles). Only tables Python has a codec for are
listed; selecting any other number is ignored, as a printer ignores a table it does not have,
so the previous table stays in effect.
"""

from __future__ import annotations

import codecs

DEFAULT_CODEPAGE = 0

CODEPAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859_7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    32: "cp720",
    33: "cp775",
    34: "cp855",
    35: "cp861",
    36: "cp862",
    37: "cp864",
    38: "cp869",
    39: "iso8859_2",
    40: "iso8859_15",
    44: "cp1125",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
    53: "kz1048",
}


def codec_for(table: int) -> str | None:
    """The Python codec name of code table ``table``, or None if the printer lacks it."""
    return CODEPAGES.get(table)


def decode(data: bytes, table: int) -> str:
    """Text bytes as the printer would show them in ``table``.

    Bytes a table leaves undefined come out as U+FFFD, so a wrong code page is visible on paper
    instead of raising inside the simulator.
    """
    codec = CODEPAGES.get(table, CODEPAGES[DEFAULT_CODEPAGE])
    return codecs.decode(data, codec, errors="replace")
