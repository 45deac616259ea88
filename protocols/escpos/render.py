"""Render a :class:`ReceiptDocument` to ESC/POS bytes.

python-escpos's ``Dummy`` printer is the encoder for styles, QR codes, barcodes, raster images,
feeds and drawer kicks; its ``output`` is the job's bytes and nothing is sent anywhere here.
Text is encoded by us, not by python-escpos: its "magic" encoder picks and switches code pages
by itself, and a receipt must come out the same on every printer. So a job always starts with
``ESC @`` (initialize) and ``ESC t n`` (the code page of the document's language), and every
text line is encoded in that code page and written with ``Dummy._raw``.

Styles are set before a styled line and undone right after it, so each block starts from the
printer's defaults and a job never leaks a style into the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.printer import Dummy

from protocols.escpos.codepages import CodePage, codepage_for_language, encode_text, printable_text
from protocols.escpos.document import (
    Barcode,
    Block,
    Columns,
    Cut,
    DrawerKick,
    Feed,
    Image,
    QRCode,
    ReceiptDocument,
    Separator,
    Text,
)
from protocols.escpos.errors import RenderError
from protocols.escpos.layout import columns_lines, copy_banner_text, paper_dots, wrap_text
from protocols.escpos.symbols import load_logo, plan_barcode, qr_module_size

INIT = b"\x1b\x40"
"""``ESC @``: clear the print buffer and return to power-on settings."""

# GS V 'A' 0 / GS V 'B' 0: feed to the cutter, then cut fully / partially. The plain GS V 0 cuts
# where the paper stands, which leaves the last lines (still below the cutter) for the next
# receipt; python-escpos works around that with a fixed six-line feed and always cuts partially
# when told not to feed.
FULL_CUT = b"\x1d\x56\x41\x00"
PARTIAL_CUT = b"\x1d\x56\x42\x00"

# An Epson 80 mm profile from python-escpos's printer database. Its 576-dot media width keeps
# ``image()`` from printing a "media width unknown" note to stdout on every logo, and it has
# every feature we use (native QR, GS k function B barcodes, GS v 0 raster images).
_PROFILE = "TM-T20II"
_QR_LEVELS = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}


@dataclass(frozen=True, slots=True)
class _Style:
    align: str = "left"
    bold: bool = False
    underline: bool = False
    double_width: bool = False
    double_height: bool = False


class _Renderer:
    """One job's worth of bytes, collected in a python-escpos ``Dummy``."""

    def __init__(self, language: str, width: int) -> None:
        self.language = language
        self.width = width
        self.dots = paper_dots(width)
        self.codepage: CodePage = codepage_for_language(language)
        self.out: Any = Dummy(profile=_PROFILE)

    def output(self) -> bytes:
        return bytes(self.out.output)

    def raw(self, data: bytes) -> None:
        self.out._raw(data)

    def start(self, *, copy: bool) -> None:
        # ESC @ resets the code page to 0, so ESC t must come after it.
        self.raw(INIT + self.codepage.select)
        if copy:
            self.lines(_Style(align="center", bold=True), [copy_banner_text(self.language)])

    def lines(self, style: _Style, lines: list[str]) -> None:
        """Print ``lines`` (already in printed form) in ``style``, then undo the style."""
        self._apply(style)
        # One encode for the whole block: per-line calls cost more than the encoding itself.
        self.raw(encode_text("\n".join(lines) + "\n", self.codepage) if lines else b"")
        self._undo(style)

    def _apply(self, style: _Style) -> None:
        # Only what differs from the defaults: a serial printer at 9600 baud takes about a
        # second per kilobyte, and most lines of a receipt are plain.
        changes: dict[str, Any] = {}
        if style.align != "left":
            changes["align"] = style.align
        if style.bold:
            changes["bold"] = True
        if style.underline:
            changes["underline"] = 1
        if style.double_width or style.double_height:
            changes.update(double_width=style.double_width, double_height=style.double_height)
        if changes:
            self.out.set(**changes)

    def _undo(self, style: _Style) -> None:
        changes: dict[str, Any] = {}
        if style.align != "left":
            changes["align"] = "left"
        if style.bold:
            changes["bold"] = False
        if style.underline:
            changes["underline"] = 0
        if style.double_width or style.double_height:
            changes["normal_textsize"] = True
        if changes:
            self.out.set(**changes)

    def printable(self, text: str) -> str:
        return printable_text(text, self.codepage)

    def block(self, block: Block) -> None:
        if isinstance(block, Text):
            self.text(block)
        elif isinstance(block, Columns):
            left, right = self.printable(block.left), self.printable(block.right)
            self.lines(_Style(bold=block.bold), columns_lines(left, right, self.width))
        elif isinstance(block, Separator):
            self.lines(_Style(), [self.printable(block.char) * self.width])
        elif isinstance(block, Feed):
            self.out.print_and_feed(block.lines)
        elif isinstance(block, QRCode):
            self.qr(block)
        elif isinstance(block, Barcode):
            self.barcode(block)
        elif isinstance(block, Image):
            self.image(block)
        elif isinstance(block, Cut):
            self.cut(block)
        else:
            self.drawer(block)

    def text(self, block: Text) -> None:
        style = _Style(block.align, block.bold, block.underline, block.double_width, block.double_height)
        per_line = self.width // 2 if block.double_width else self.width
        self.lines(style, wrap_text(self.printable(block.text), per_line))

    def qr(self, block: QRCode) -> None:
        size = qr_module_size(block, self.dots)
        # python-escpos cannot center a native QR code; ESC a does it on the printer.
        self.out.set(align="center")
        self.out.qr(block.data, ec=_QR_LEVELS[block.error_correction], size=size, native=True)
        self.out.set(align="left")

    def barcode(self, block: Barcode) -> None:
        plan = plan_barcode(block, self.dots)
        try:
            # _hw_barcode, not barcode(): barcode() print()s "Using hardware barcode renderer"
            # to stdout on every call, and silencing that with redirect_stdout is process-wide,
            # unsafe in the per-device worker threads. It sets ESC a 1 (centered) itself.
            self.out._hw_barcode(
                plan.code,
                plan.symbology,
                height=block.height,
                width=plan.module_width,
                pos="BELOW" if block.hri else "OFF",
                font="A",
                align_ct=True,
                function_type="B",
                check=False,
            )
        except Exception as exc:  # python-escpos raises its own hierarchy and ValueError
            raise RenderError(f"cannot encode {block.symbology} {block.data!r}: {exc}") from None
        self.out.set(align="left")

    def image(self, block: Image) -> None:
        logo = load_logo(block.png_base64, self.dots)
        self.out.set(align="center")
        try:
            self.out.image(logo, impl="bitImageRaster")
        except Exception as exc:  # python-escpos's ImageWidthError and friends
            raise RenderError(f"cannot encode image: {exc}") from None
        self.out.set(align="left")

    def cut(self, block: Cut) -> None:
        if block.feed:
            self.out.print_and_feed(block.feed)
        self.raw(PARTIAL_CUT if block.partial else FULL_CUT)

    def drawer(self, block: DrawerKick) -> None:
        if block.off_ms < 4 * block.on_ms:
            # The sheet's duty cycle limit (<= 20 %): drawer solenoids overheat above it.
            raise RenderError(
                f"drawer pulse off_ms ({block.off_ms}) must be at least 4 x on_ms ({block.on_ms})"
            )
        # ESC p m t1 t2: m 0 = pin 2, 1 = pin 5; times in 2 ms steps.
        pin = 0 if block.pin == 2 else 1
        self.out.cashdraw([0x1B, 0x70, pin, block.on_ms // 2, block.off_ms // 2])


def _validated(document: ReceiptDocument) -> ReceiptDocument:
    """``document`` checked against its schema again.

    Decoding checks every ``Meta`` constraint, but Structs built in Python skip them, and a
    ``Feed(lines=300)`` would otherwise surface as python-escpos's ``ValueError``.
    """
    try:
        return msgspec.convert(msgspec.to_builtins(document), type=ReceiptDocument)
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        raise RenderError(f"invalid document: {exc}") from None


def render(document: ReceiptDocument, *, copy: bool = False) -> bytes:
    """ESC/POS bytes for ``document``.

    ``copy`` prints a centered bold ``*** COPY ***`` banner first (localized), so a reprint
    after a crash is never mistaken for the original. Raises :class:`RenderError`, and only
    that, for a document that cannot be printed.
    """
    return _render_checked(_validated(document), copy=copy)


def render_json(payload: bytes, *, copy: bool = False) -> bytes:
    """ESC/POS bytes for a JSON-encoded :class:`ReceiptDocument` (a stored or received job).

    Decoding checks every constraint, so this skips :func:`render`'s second validation pass:
    the hub renders every job as it accepts it, and that pass was a fifth of the cost.
    """
    try:
        document = msgspec.json.decode(payload, type=ReceiptDocument)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise RenderError(f"invalid document: {exc}") from None
    return _render_checked(document, copy=copy)


def _render_checked(document: ReceiptDocument, *, copy: bool) -> bytes:
    renderer = _Renderer(document.language, document.width)
    renderer.start(copy=copy)
    for block in document.blocks:
        renderer.block(block)
    if document.cut and not isinstance(document.blocks[-1], Cut):
        renderer.cut(Cut())
    return renderer.output()


def render_raw_copy(raw: bytes, language: str = "en") -> bytes:
    """Integrator bytes prefixed with ``ESC @`` and the COPY banner, for a reprint of a raw job.

    A second ``ESC @`` after the banner hands the integrator's bytes a printer in its power-on
    state, code page included, as if the banner had not been there.
    """
    renderer = _Renderer(language, 48)
    renderer.start(copy=True)
    return renderer.output() + INIT + raw
