"""What a print job sends: documents, raw bytes and drawer kicks, and their copies.

Rendering happens at submission, so a document that cannot be printed (a bad barcode, a broken
logo) is refused with a 4xx before anything is queued. The stored request is rendered again
only for a reprint, which carries a COPY banner.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.domain.clock import now
from protocols.escpos import (
    DrawerKick,
    ReceiptDocument,
    Separator,
    Text,
    codepage_for_language,
    encode_text,
    render,
    render_json,
    render_raw_copy,
)

BOSNIAN_LETTERS = "č ć đ š ž Č Ć Đ Š Ž"


class DrawerRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Pulse to a cash drawer wired to the printer's drawer port."""

    pin: Literal[2, 5] = 2
    on_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 100
    off_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 500
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


def drawer_document(request: DrawerRequest) -> ReceiptDocument:
    return ReceiptDocument(
        blocks=[DrawerKick(pin=request.pin, on_ms=request.on_ms, off_ms=request.off_ms)], cut=False
    )


def render_payload(kind: str, payload: bytes, *, copy: bool = False, language: str = "en") -> bytes:
    """Bytes for a stored job request; ``copy`` marks a reprint."""
    if kind == "document":
        return render_json(payload, copy=copy)
    if kind == "drawer":
        # A drawer kick is never "a copy": opening it again is the point of a retry.
        return render(drawer_document(msgspec.json.decode(payload, type=DrawerRequest)))
    if kind == "raw":
        return render_raw_copy(payload, language) if copy else payload
    raise ValueError(f"unknown job kind {kind!r}")


def test_page(
    *, hub_name: str, hub_id: str, device_id: str, device_name: str, url: str, language: str
) -> ReceiptDocument:
    """The technician's test page: who printed it, where, when, and the Latin-2 letters.

    It prints with the device's language when that code page has the Bosnian letters, and
    with Latin-2 (CP852) otherwise, so the page always shows whether they come out right.
    """
    codepage = codepage_for_language(language)
    if encode_text(BOSNIAN_LETTERS, codepage).count(b"?"):
        language = "bs"
        codepage = codepage_for_language(language)
    moment = now().astimezone()
    return ReceiptDocument(
        language=language,
        blocks=[
            Text(
                text="SmartPOS test page",
                align="center",
                bold=True,
                double_height=True,
                double_width=True,
            ),
            Separator(),
            Text(text=f"Hub: {hub_name}"),
            Text(text=f"Hub id: {hub_id}"),
            Text(text=f"Device: {device_id}" + (f" ({device_name})" if device_name else "")),
            Text(text=f"Connection: {url}"),
            Text(text=f"Time: {moment.strftime('%Y-%m-%d %H:%M:%S %Z')}"),
            Text(text=f"Code page: {codepage.name.upper()}"),
            Separator(),
            Text(text=BOSNIAN_LETTERS, align="center", bold=True),
            Text(text="Čevapčići, šljiva, đak, žaba, ćevap", align="center"),
            Separator(),
            Text(text="If the letters above look right,", align="center"),
            Text(text="the printer is ready to sell.", align="center"),
        ],
    )
