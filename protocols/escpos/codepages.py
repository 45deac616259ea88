"""Printer code pages: which ``ESC t n`` to send, and how to encode text for it.

ESC/POS printers print single-byte text in the code page selected with ``ESC t n``. The
numbers are Epson's, as listed for the ``default`` and Epson TM profiles in python-escpos's
bundled ``capabilities.json`` (escpos-printer-db); most clones copy them:

| code page | ``n`` | script |
|---|---|---|
| CP437 | 0 | US, the power-on default |
| CP850 | 2 | Western European (DOS) |
| WPC1252 | 16 | Western European (Windows) |
| CP866 | 17 | Cyrillic (DOS) |
| CP852 | 18 | Central European, Latin-2 (DOS) |
| CP858 | 19 | CP850 with the euro sign |
| WPC1250 | 45 | Central European (Windows) |
| WPC1251 | 46 | Cyrillic (Windows) |

Language to code page. The DOS pages are chosen because nearly every ESC/POS printer, clones
included, has them, while the Windows pages are missing on many:

| languages (BCP-47 base or script) | code page | why |
|---|---|---|
| bs, hr, sr, sr-Latn, sl, cs, sk, pl, hu, ro | CP852 | Latin-2: č ć đ š ž print right |
| de, fr, es, it, nl, pt, ca, da, sv, no, nb, nn, fi, is | CP858 | Western with the euro sign |
| ru, uk, bg, mk, be, sr-Cyrl (any ``-Cyrl`` tag) | CP866 | Cyrillic |
| en and anything else | CP437 | the printer's power-on default |
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodePage:
    """A printer code page: its name, the Python codec for it and Epson's ``ESC t`` number."""

    name: str
    python_codec: str
    escpos_number: int

    @property
    def select(self) -> bytes:
        """``ESC t n``: select this code page."""
        return bytes((0x1B, 0x74, self.escpos_number))


CODEPAGES: dict[str, CodePage] = {
    page.name: page
    for page in (
        CodePage("cp437", "cp437", 0),
        CodePage("cp850", "cp850", 2),
        CodePage("cp1252", "cp1252", 16),
        CodePage("cp866", "cp866", 17),
        CodePage("cp852", "cp852", 18),
        CodePage("cp858", "cp858", 19),
        CodePage("cp1250", "cp1250", 45),
        CodePage("cp1251", "cp1251", 46),
    )
}
"""The code pages we know, by name."""

_LATIN2 = frozenset({"bs", "hr", "sr", "sl", "cs", "sk", "pl", "hu", "ro"})
_WESTERN = frozenset({"de", "fr", "es", "it", "nl", "pt", "ca", "da", "sv", "no", "nb", "nn", "fi", "is"})
_CYRILLIC = frozenset({"ru", "uk", "bg", "mk", "be"})


def codepage_for_language(language: str) -> CodePage:
    """The code page to print ``language`` with (a BCP-47 tag, case-insensitive).

    A ``Cyrl`` script subtag wins over the language ("sr-Cyrl" is Cyrillic, "sr" and
    "sr-Latn" are Latin-2); a ``Latn`` one keeps a Cyrillic language off CP866.
    """
    subtags = language.strip().lower().replace("_", "-").split("-")
    base, rest = subtags[0], subtags[1:]
    if "cyrl" in rest:
        return CODEPAGES["cp866"]
    if base in _LATIN2:
        return CODEPAGES["cp852"]
    if base in _WESTERN:
        return CODEPAGES["cp858"]
    if base in _CYRILLIC and "latn" not in rest:
        return CODEPAGES["cp866"]
    return CODEPAGES["cp437"]


def encode_text(text: str, codepage: CodePage) -> bytes:
    """Encode for the printer; a character the code page lacks prints as ``?``, never raises.

    The text is NFC-normalised first, so a decomposed "č" (c + combining caron, as some
    keyboards and macOS file names produce) still finds its CP852 byte.
    """
    if text.isascii():
        # Every code page we know maps 0x00-0x7F to ASCII (a test holds us to it), and most
        # receipt text is ASCII: skip normalising and the pure-Python charmap codec.
        return text.encode("ascii")
    return unicodedata.normalize("NFC", text).encode(codepage.python_codec, errors="replace")


# Letters and punctuation with no decomposition but an obvious one-character stand-in. Only
# one-for-one replacements: the column layout counts one character per printed cell.
ONE_CELL_STAND_INS = {
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "ø": "o",
    "Ø": "O",
    "ı": "i",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "–": "-",
    "—": "-",
    "‒": "-",
    "−": "-",
    "•": "*",
}


def _encodable(char: str, codepage: CodePage) -> bool:
    try:
        char.encode(codepage.python_codec)
    except UnicodeEncodeError:
        return False
    return True


def _stand_in(char: str, codepage: CodePage) -> str:
    folded = ONE_CELL_STAND_INS.get(char)
    if folded is None:
        # "č" -> "c" + caron -> "c": drop the combining marks of the compatibility form.
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        folded = base if len(base) == 1 else "?"
    return folded if _encodable(folded, codepage) else "?"


def printable_text(text: str, codepage: CodePage) -> str:
    """``text`` as it will print in ``codepage``: one character per printed cell.

    NFC-normalised; a character the code page lacks becomes its unaccented letter when there is
    one ("č" prints as "c" on CP437 rather than "?") and ``?`` otherwise. Every character of the
    result encodes to exactly one byte, so its ``len`` is its printed width.
    """
    if text.isascii():  # see encode_text
        return text
    text = unicodedata.normalize("NFC", text)
    try:
        text.encode(codepage.python_codec)
    except UnicodeEncodeError:
        return "".join(c if _encodable(c, codepage) else _stand_in(c, codepage) for c in text)
    return text
