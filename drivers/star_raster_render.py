"""Drawing an ESC/POS job as a Star raster job, with Pillow (see :mod:`drivers.star_raster_printer`).

Kept apart from the driver so Pillow and qrcode are loaded only when a Star printer prints,
not by every hub that merely knows the driver exists.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from typing import Any

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from protocols.escpos.extract import (
    Align,
    BarcodeMark,
    CutMark,
    DrawerMark,
    Extracted,
    FeedDots,
    FeedLines,
    ImageMark,
    QrMark,
    TextLine,
    TextRun,
    extract,
)
from protocols.star_raster import Bitmap, CutMode, RasterPage, encode_job

log = logging.getLogger(__name__)

CELL_WIDTH, CELL_HEIGHT = 12, 24  # Epson font A: 48 characters across 576 dots
LINE_HEIGHT = 30  # a line's cell plus the default line spacing gap
FONT_SIZE = 18  # DejaVu Sans Mono and Pillow's default font at 18 px fit the 12 x 24 cell
# Monospaced, with Latin-2 and Cyrillic, and on nearly every Debian box (fonts-dejavu-core);
# Pillow looks the bare file name up in the system font directories.
DEFAULT_FONT = "DejaVuSansMono.ttf"
INK_THRESHOLD = 112  # anti-aliased glyph pixels this dark or darker become dots
# A page longer than this (about 12 m of paper at 8 dots/mm) is ended without a cut and the
# job goes on on the next one, so a hostile job cannot make one unbounded canvas.
MAX_PAGE_DOTS = 100_000


@functools.lru_cache(maxsize=8)
def _font_file(path: str) -> str | None:
    """The font file for ``path``: itself, else DejaVu Sans Mono, else None (warned once)."""
    for candidate in (path, DEFAULT_FONT):
        if not candidate:
            continue
        try:
            return str(ImageFont.truetype(candidate, FONT_SIZE).path)
        except OSError:
            if candidate == path:
                log.warning("cannot load font %s; using a default font", path)
    return None


def load_font(path: str = "") -> Any:
    """A font to draw text with: ``path``, else DejaVu Sans Mono, else Pillow's default.

    A new font object per call: jobs are drawn in worker threads, and a FreeType face must not
    be used by two threads at once. Pillow's default font has ASCII only;
    :meth:`ReceiptPainter.drawable` folds other letters to their base letter ("č" -> "c").
    """
    font_file = _font_file(path)
    return ImageFont.truetype(font_file, FONT_SIZE) if font_file else ImageFont.load_default(size=FONT_SIZE)


def _ink(image: Image.Image) -> Image.Image:
    """A 1-bit image from a grey one: dark enough pixels become set (printed) bits."""
    return image.point(lambda value: 255 if value >= INK_THRESHOLD else 0).convert("1")


class ReceiptPainter:
    """Draws extracted ESC/POS content onto 1-bit pages ``width`` dots wide (set bit = dot)."""

    def __init__(self, width: int, font_path: str = "") -> None:
        self.width = width
        self.font = load_font(font_path)
        self._missing = bytes(self.font.getmask("\uffff"))  # what the font draws for "no glyph"
        self._glyphs: dict[tuple[str, bool, bool, int, int], Image.Image] = {}

    def drawable(self, char: str) -> str:
        """``char``, or a stand-in the font has: its base letter, else ``?``."""
        if char.isascii() or bytes(self.font.getmask(char)) != self._missing:
            return char
        base = unicodedata.normalize("NFKD", char)[:1]
        return base if base.isascii() and base.isprintable() else "?"

    def glyph(self, char: str, run: TextRun) -> Image.Image:
        """``char`` in ``run``'s style as a 1-bit cell, 12 x 24 dots times the size multipliers."""
        key = (char, run.bold, run.underline, run.width, run.height)
        cached = self._glyphs.get(key)
        if cached is not None:
            return cached
        char = self.drawable(char)
        advance = max(1, round(self.font.getlength(char))) + (1 if run.bold else 0)
        canvas = Image.new("L", (max(advance, CELL_WIDTH), CELL_HEIGHT), 0)
        draw = ImageDraw.Draw(canvas)
        x = (canvas.width - advance) // 2
        draw.text((x, 0), char, fill=255, font=self.font)
        if run.bold:  # emphasized, as printers do it: the glyph again one dot to the right
            draw.text((x + 1, 0), char, fill=255, font=self.font)
        if canvas.width > CELL_WIDTH:
            canvas = canvas.resize((CELL_WIDTH, CELL_HEIGHT), Image.Resampling.BILINEAR)
        if run.underline:
            draw = ImageDraw.Draw(canvas)
            draw.line((0, CELL_HEIGHT - 2, CELL_WIDTH - 1, CELL_HEIGHT - 2), fill=255, width=2)
        glyph = _ink(canvas)
        if run.width > 1 or run.height > 1:  # character size multiplies dots, like the printer
            glyph = glyph.resize((CELL_WIDTH * run.width, CELL_HEIGHT * run.height), Image.Resampling.NEAREST)
        self._glyphs[key] = glyph
        return glyph

    def _placed(self, strip: Image.Image, align: Align) -> Image.Image:
        line = Image.new("1", (self.width, strip.height), 0)
        used = min(strip.width, self.width)
        x = {"left": 0, "center": (self.width - used) // 2, "right": self.width - used}[align]
        line.paste(strip.crop((0, 0, used, strip.height)), (x, 0))
        return line

    def text_line(self, line: TextLine) -> list[Image.Image]:
        """One ESC/POS line as strips of paper; text wider than the paper wraps as on a printer."""
        if not line.text:
            return [Image.new("1", (self.width, LINE_HEIGHT), 0)]
        rows: list[list[tuple[str, TextRun]]] = [[]]
        used = 0
        for run in line.runs:
            for char in run.text:
                if used + CELL_WIDTH * run.width > self.width and rows[-1]:
                    rows.append([])
                    used = 0
                rows[-1].append((char, run))
                used += CELL_WIDTH * run.width
        strips = []
        for cells in filter(None, rows):
            tall = max(run.height for _, run in cells)
            strip = Image.new("1", (sum(CELL_WIDTH * run.width for _, run in cells), CELL_HEIGHT * tall), 0)
            x = 0
            for char, run in cells:
                glyph = self.glyph(char, run)
                strip.paste(glyph, (x, strip.height - glyph.height))  # on a common baseline
                x += glyph.width
            placed = self._placed(strip, line.align)
            gap = Image.new("1", (self.width, placed.height + LINE_HEIGHT - CELL_HEIGHT), 0)
            gap.paste(placed, (0, 0))
            strips.append(gap)
        return strips

    def qr(self, mark: QrMark) -> Image.Image | None:
        """The QR code as a strip, its module size lowered when it would not fit the paper."""
        levels = {
            "L": qrcode.ERROR_CORRECT_L,
            "M": qrcode.ERROR_CORRECT_M,
            "Q": qrcode.ERROR_CORRECT_Q,
            "H": qrcode.ERROR_CORRECT_H,
        }
        code = qrcode.QRCode(error_correction=levels[mark.error_correction], border=0)
        try:
            code.add_data(mark.data)
            code.make(fit=True)
        except Exception:  # data too long for any QR version: the printer would print nothing
            log.warning("QR code data does not fit a QR symbol; skipped")
            return None
        matrix: list[list[bool]] = code.get_matrix()
        size = len(matrix)
        symbol = Image.new("1", (size, size), 0)
        symbol.putdata([255 if dark else 0 for row in matrix for dark in row])
        module = max(1, min(mark.module_size, self.width // size))
        return self._placed(
            symbol.resize((size * module, size * module), Image.Resampling.NEAREST), mark.align
        )

    def image(self, mark: ImageMark) -> Image.Image:
        """A ``GS v 0`` image as a strip: same bit sense (set = black), scaled as the printer would."""
        picture = Image.frombytes("1", (mark.width_bytes * 8, mark.height), mark.data)
        if mark.scale_x > 1 or mark.scale_y > 1:
            size = (picture.width * mark.scale_x, picture.height * mark.scale_y)
            picture = picture.resize(size, Image.Resampling.NEAREST)
        return self._placed(picture, mark.align)

    def strips(self, item: Extracted) -> list[Image.Image]:
        """The paper ``item`` takes, as full-width strips (none for cuts and drawer pulses)."""
        if isinstance(item, TextLine):
            return self.text_line(item)
        if isinstance(item, FeedLines | FeedDots):
            dots = item.lines * LINE_HEIGHT if isinstance(item, FeedLines) else item.dots
            return [Image.new("1", (self.width, dots), 0)]
        if isinstance(item, QrMark):
            return [strip for strip in [self.qr(item)] if strip is not None]
        if isinstance(item, BarcodeMark):
            text = item.data.decode("ascii", errors="replace")
            return self.text_line(TextLine((TextRun(text),), item.align))
        if isinstance(item, ImageMark):
            return [self.image(item)]
        return []

    def pages(self, items: list[Extracted]) -> tuple[list[RasterPage], int]:
        """The pages of a job and the drawer outputs to drive (bit 1 drawer 1, bit 2 drawer 2)."""
        pages: list[RasterPage] = []
        strips: list[Image.Image] = []
        height = drawers = 0
        for item in items:
            if isinstance(item, DrawerMark):
                drawers |= 1 if item.pin == 2 else 2
            elif isinstance(item, CutMark) or height >= MAX_PAGE_DOTS:
                cut: CutMode = (
                    ("partial" if item.partial else "full") if isinstance(item, CutMark) else "none"
                )
                self._end_page(pages, strips, cut)
                strips, height = [], 0
            new = self.strips(item)
            strips += new
            height += sum(strip.height for strip in new)
        self._end_page(pages, strips, "none")
        return pages, drawers

    def _end_page(self, pages: list[RasterPage], strips: list[Image.Image], cut: CutMode) -> None:
        canvas = Image.new("1", (self.width, max(1, sum(s.height for s in strips))), 0)
        y = 0
        for strip in strips:
            canvas.paste(strip, (0, y))
            y += strip.height
        # The feed ESC/POS puts before a cut brings the last line past the cutter; Star's cut
        # feed does that itself, so trailing blank paper would only be wasted.
        box = canvas.getbbox()
        if box is None:
            if cut != "none" and pages:
                pages[-1] = RasterPage(pages[-1].bitmap, cut)  # a cut right after a cut
            return
        canvas = canvas.crop((0, 0, self.width, box[3]))
        data, stride = canvas.tobytes(), self.width // 8
        rows = tuple(data[i : i + stride] for i in range(0, len(data), stride))
        pages.append(RasterPage(Bitmap(self.width, rows), cut))


def render_raster(data: bytes, width: int = 576, *, drawer: bool = True, font_path: str = "") -> bytes:
    """Star raster bytes for the ESC/POS job ``data`` (blocking: run it in a worker thread)."""
    pages, drawers = ReceiptPainter(width, font_path).pages(extract(data))
    return encode_job(pages, drawer=drawers if drawer else 0)
