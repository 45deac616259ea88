"""Checks and sizing for what the printer draws itself: barcodes, QR codes and images.

A printer given a barcode with a wrong check digit, a QR code over its symbol's capacity or a
symbol wider than the paper prints nothing at all, silently. So each is checked here, before
anything is queued, and refused with a :class:`RenderError` that says why.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image as PILImage

from protocols.escpos.document import Barcode, QRCode
from protocols.escpos.errors import RenderError

MAX_IMAGE_WIDTH = 576
"""Dots across 80 mm paper at 203 dpi: the widest logo a document may carry."""

MAX_IMAGE_HEIGHT = 2400
"""About 30 cm of paper: bounds the raster size (and memory) of one image."""

# --- 1D barcodes -------------------------------------------------------------------------

_GS1_LENGTHS = {"EAN13": 13, "EAN8": 8, "UPC-A": 12}
# Modules of an EAN/UPC symbol: guards plus 7 per digit (EAN-8 has 8 digits in 67 modules).
_GS1_MODULES = {"EAN13": 95, "EAN8": 67, "UPC-A": 95}
_CODE39_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%")
# Epson GS w n: a narrow bar of n dots has a wide bar of this many dots (CODE39).
_CODE39_WIDE = {2: 5, 3: 8}
# GS w module widths to try, widest (easiest to scan) first; 2 is the narrowest most printers take.
_MODULE_WIDTHS = (3, 2)


@dataclass(frozen=True, slots=True)
class BarcodePlan:
    """What to send for a barcode: python-escpos's symbology name, the data and module width."""

    symbology: str
    code: str
    module_width: int


def ean_check_digit(digits: str) -> int:
    """GS1 check digit of the digits before it (EAN-13, EAN-8, UPC-A): weights 3,1,3,... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _code128(data: str) -> tuple[str, int]:
    """Epson CODE128 data (code set prefix included) and its number of symbol characters.

    Epson wants the code set chosen in the data: ``{B`` then printable ASCII, where a literal
    ``{`` is written ``{{``. All-digit data of even length goes in code set C instead, two
    digits per symbol (sent as one byte 0..99 each), which halves the width of long numbers.
    """
    if data.isascii() and data.isdigit() and len(data) % 2 == 0 and len(data) >= 4:
        pairs = [int(data[i : i + 2]) for i in range(0, len(data), 2)]
        return "{C" + "".join(map(chr, pairs)), len(pairs)
    return "{B" + data.replace("{", "{{"), len(data)


def _dots(symbology: str, data: str, symbols: int, module: int) -> int:
    """Width of the symbol in dots at ``module`` dots per narrow bar (quiet zones excluded)."""
    if symbology in _GS1_MODULES:
        return _GS1_MODULES[symbology] * module
    if symbology == "CODE39":
        # Each character: 6 narrow and 3 wide elements plus a narrow gap; '*' start and stop.
        return (len(data) + 2) * (7 * module + 3 * _CODE39_WIDE[module])
    # CODE128: 11 modules per symbol, plus start (11), check (11) and stop (13).
    return (11 * symbols + 35) * module


def plan_barcode(block: Barcode, paper_dots: int) -> BarcodePlan:
    """Validate ``block`` and pick the widest module that fits ``paper_dots``."""
    data = block.data
    symbols = len(data)
    if block.symbology in _GS1_LENGTHS:
        expected = _GS1_LENGTHS[block.symbology]
        if not (data.isascii() and data.isdigit()) or len(data) != expected:
            raise RenderError(f"{block.symbology} needs {expected} digits, got {data!r}")
        check = ean_check_digit(data[:-1])
        if check != int(data[-1]):
            raise RenderError(f"{block.symbology} {data} has a wrong check digit (expected {check})")
        code = data
    elif block.symbology == "CODE39":
        bad = sorted(set(data) - _CODE39_CHARS)
        if bad:
            raise RenderError(f"CODE39 cannot encode {''.join(bad)!r} (0-9 A-Z space - . $ / + % only)")
        code = data
    else:
        code, symbols = _code128(data)
    for module in _MODULE_WIDTHS:
        if _dots(block.symbology, data, symbols, module) <= paper_dots:
            return BarcodePlan(block.symbology, code, module)
    narrowest = _dots(block.symbology, data, symbols, _MODULE_WIDTHS[-1])
    raise RenderError(
        f"{block.symbology} {data!r} is {narrowest} dots wide at the narrowest bars; the paper has {paper_dots}"
    )


# --- QR codes ------------------------------------------------------------------------------

# Byte-mode capacity of QR versions 1..40 per error correction level (ISO/IEC 18004, table 7).
_QR_BYTES = {
    "L": (17, 32, 53, 78, 106, 134, 154, 192, 230, 271, 321, 367, 425, 458, 520, 586, 644, 718, 792, 858,
          929, 1003, 1091, 1171, 1273, 1367, 1465, 1528, 1628, 1732, 1840, 1952, 2068, 2188, 2303, 2431,
          2563, 2699, 2809, 2953),
    "M": (14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
          711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911, 1989,
          2099, 2213, 2331),
    "Q": (11, 20, 32, 46, 60, 74, 86, 108, 130, 151, 177, 203, 241, 258, 292, 322, 364, 394, 442, 482,
          509, 565, 611, 661, 715, 751, 805, 868, 908, 982, 1030, 1112, 1168, 1228, 1283, 1351, 1423, 1499,
          1579, 1663),
    "H": (7, 14, 24, 34, 44, 58, 64, 84, 98, 119, 137, 155, 177, 194, 220, 250, 280, 310, 338, 382, 403,
          439, 461, 511, 535, 593, 625, 658, 698, 742, 790, 842, 898, 958, 983, 1051, 1093, 1139, 1219, 1273),
}  # fmt: skip


def qr_version(data: bytes, error_correction: str) -> int:
    """The smallest QR version (1..40) holding ``data`` in byte mode; ``RenderError`` if none does.

    The printer may pick a smaller version by packing digits or upper-case text more tightly,
    never a larger one, so this is a safe upper bound for the symbol's width.
    """
    for version, capacity in enumerate(_QR_BYTES[error_correction], start=1):
        if len(data) <= capacity:
            return version
    limit = _QR_BYTES[error_correction][-1]
    raise RenderError(
        f"QR data is {len(data)} bytes; at most {limit} fit at error correction {error_correction}"
    )


def qr_module_size(block: QRCode, paper_dots: int) -> int:
    """The module size to print ``block`` with: its ``size``, lowered until the symbol fits the paper."""
    modules = 17 + 4 * qr_version(block.data.encode("utf-8"), block.error_correction)
    fitting = paper_dots // modules
    if fitting < 1:
        raise RenderError(f"QR code of {modules} modules is wider than the paper ({paper_dots} dots)")
    return min(block.size, fitting)


# --- Images ------------------------------------------------------------------------------


def load_logo(png_base64: str, paper_dots: int) -> PILImage.Image:
    """Decode a base64 PNG into a greyscale image on white, at most ``paper_dots`` wide.

    Transparency becomes white: a logo on a transparent background would otherwise print as
    a black block (transparent pixels are often stored as black). Width and height are checked
    from the PNG header before the pixels are decoded, which bounds the memory a hostile
    image can take.
    """
    text = "".join(png_base64.split()).removeprefix("data:image/png;base64,")
    try:
        data = base64.b64decode(text, validate=True)
        with PILImage.open(io.BytesIO(data), formats=["PNG"]) as picture:
            width, height = picture.size
            if width > MAX_IMAGE_WIDTH or height > MAX_IMAGE_HEIGHT or not (width and height):
                raise RenderError(
                    f"image is {width}x{height} dots; at most {MAX_IMAGE_WIDTH}x{MAX_IMAGE_HEIGHT}"
                )
            rgba = picture.convert("RGBA")
    except RenderError:
        raise
    except Exception as exc:  # binascii.Error, PIL's UnidentifiedImageError, OSError, ValueError, ...
        raise RenderError(f"image is not a readable base64 PNG: {type(exc).__name__}: {exc}") from None
    flat = PILImage.new("L", rgba.size, 255)
    flat.paste(rgba.convert("L"), mask=rgba.getchannel("A"))
    if flat.width > paper_dots:
        # A logo made for 80 mm paper on a 58 mm printer: scale down rather than lose its right side.
        flat = flat.resize((paper_dots, max(1, round(flat.height * paper_dots / flat.width))))
    return flat
