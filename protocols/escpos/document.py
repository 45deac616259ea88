"""The receipt document: what the hub, integrators and the POS ask a printer to print.

A document is data, not bytes, so it is validated at the API edge, stored with its print job
and rendered again (marked as a copy) for a reprint. Decoding is strict: unknown fields are
refused, and every constraint is a ``msgspec.Meta`` so a bad document fails with a message
that names the field, e.g. ``Expected `int` <= 16 - at `$.blocks[3].size```.

A document in JSON::

    {"language": "bs", "width": 48, "blocks": [
        {"type": "text", "text": "Ćevabdžinica Željo", "align": "center", "bold": true},
        {"type": "columns", "left": "Ćevapi 10 kom 2 x 12.00", "right": "24.00"},
        {"type": "separator"},
        {"type": "qr", "data": "https://example.ba/r/123"},
        {"type": "drawer"}
    ]}

Some rules need more than a field constraint (an EAN check digit, the drawer duty cycle, a PNG
that decodes): :func:`protocols.escpos.render.render` checks those and raises ``RenderError``.
Structs built in Python skip ``Meta`` checks, so ``render`` validates the whole document again.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# Printable text: no C0 control characters and no DEL. A newline or an ESC inside a text would
# let a document author (or an injected product name) send raw printer commands.
_NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"

PrintableText = Annotated[str, msgspec.Meta(max_length=2000, pattern=_NO_CONTROLS)]
"""A line of text as the author wrote it; the renderer wraps it to the paper width."""

Align = Literal["left", "center", "right"]


class _Block(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="type"):
    """Common base: every block is tagged by ``type`` in JSON."""


class Text(_Block, tag="text"):
    """A paragraph of text, wrapped at word boundaries to the document width.

    ``double_width`` halves the characters per line; ``double_height`` does not.
    """

    text: PrintableText
    align: Align = "left"
    bold: bool = False
    underline: bool = False
    double_width: bool = False
    double_height: bool = False


class Columns(_Block, tag="columns"):
    """A left and a right text on one line, e.g. an item and its amount.

    The right text is right-justified to the document width. A left text too long for the
    room left of it wraps onto further lines, so the amount always stays visible.
    """

    left: PrintableText
    right: Annotated[str, msgspec.Meta(max_length=64, pattern=_NO_CONTROLS)]
    bold: bool = False


class Separator(_Block, tag="separator"):
    """A full-width line of one repeated character."""

    char: Annotated[str, msgspec.Meta(min_length=1, max_length=1, pattern=r"^[^\x00-\x1f\x7f]$")] = "-"


class Feed(_Block, tag="feed"):
    """Blank paper: print and feed ``lines`` lines (``ESC d n``)."""

    lines: Annotated[int, msgspec.Meta(ge=1, le=20)] = 1


class QRCode(_Block, tag="qr"):
    """A QR code (model 2) printed natively by the printer, centered.

    ``size`` is the module size in dots; the renderer lowers it when the symbol would be
    wider than the paper. The data is sent as UTF-8.
    """

    data: Annotated[str, msgspec.Meta(min_length=1, max_length=700)]
    size: Annotated[int, msgspec.Meta(ge=1, le=16)] = 6
    error_correction: Literal["L", "M", "Q", "H"] = "M"


class Barcode(_Block, tag="barcode"):
    """A 1D barcode printed natively, centered, with its digits below it when ``hri``.

    EAN13, EAN8 and UPC-A take all their digits including the check digit (which the renderer
    verifies); CODE39 takes 0-9 A-Z space - . $ / + %; CODE128 takes printable ASCII.
    """

    data: Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"^[\x20-\x7e]+$")]
    symbology: Literal["EAN13", "EAN8", "UPC-A", "CODE39", "CODE128"]
    height: Annotated[int, msgspec.Meta(ge=1, le=255)] = 80
    hri: bool = True


class Image(_Block, tag="image"):
    """A logo as a base64 PNG, printed centered as a raster image.

    At most 576 dots wide (80 mm paper at 203 dpi); a narrower document scales it down to fit.
    Whitespace and a ``data:image/png;base64,`` prefix are tolerated.
    """

    png_base64: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000_000)]


class Cut(_Block, tag="cut"):
    """Feed ``feed`` blank lines, then feed to the cutter and cut (``partial`` leaves a tab)."""

    partial: bool = False
    feed: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3


class DrawerKick(_Block, tag="drawer"):
    """Pulse the cash drawer connector: pin 2 or pin 5, ``on_ms`` on then ``off_ms`` off.

    The printer counts in 2 ms steps, so odd values round down. ``off_ms`` must be at least
    four times ``on_ms`` (a duty cycle of at most 20 %): drawer solenoids overheat otherwise.
    """

    pin: Literal[2, 5] = 2
    on_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 100
    off_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 500


Block = Text | Columns | Separator | Feed | QRCode | Barcode | Image | Cut | DrawerKick
"""Any block of a document, told apart by its ``type`` tag."""

# BCP-47-ish: a 2-3 letter language, then subtags such as a script or a region ("sr-Latn").
Language = Annotated[str, msgspec.Meta(max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class ReceiptDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole print: blocks in order, the language (which picks the code page) and the width.

    ``width`` is the number of font A characters per line: 48 on 80 mm paper, 42 on some
    80 mm models, 32 on 58 mm paper. ``cut`` appends a :class:`Cut` unless the last block is one.
    """

    blocks: Annotated[list[Block], msgspec.Meta(min_length=1, max_length=2000)]
    language: Language = "en"
    width: Annotated[int, msgspec.Meta(ge=24, le=64)] = 48
    cut: bool = True
