"""Shared builders for the ESC/POS tests."""

from __future__ import annotations

import base64
import io

from PIL import Image as PILImage

from protocols.escpos import Block, ReceiptDocument


def doc(*blocks: Block, language: str = "en", width: int = 48, cut: bool = True) -> ReceiptDocument:
    return ReceiptDocument(blocks=list(blocks), language=language, width=width, cut=cut)


def png_base64(picture: PILImage.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def h(text: str) -> bytes:
    """Bytes from spaced hex, as the reference sheet writes them."""
    return bytes.fromhex(text)
