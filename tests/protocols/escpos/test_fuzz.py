"""Hypothesis: decoders only ever return values or raise their typed error; render likewise."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from protocols.escpos import (
    Reply,
    ReplyDecodeError,
    ReplyParser,
    StatusDecodeError,
    decode_asb,
    decode_status_byte,
    ean_check_digit,
    render,
)
from protocols.escpos.document import ReceiptDocument
from protocols.escpos.errors import EscposError, RenderError
from tests.protocols.escpos._helpers import png_base64

# Bytes a printer really sends mixed with junk, so the parser sees long valid runs as well.
reply_bytes = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=4),
        st.sampled_from([b"\x16", b"\x12", b"\x7e", b"\x37\x22AB12\x00", b"\x11", b"\x13", b"\x37\x22"]),
    ),
    max_size=40,
).map(b"".join)


def decode_chunks(data: bytes, sizes: list[int]) -> tuple[list[Reply], tuple[int, int] | None]:
    """Replies up to the first error, and the stream offset and value of the offending byte."""
    parser = ReplyParser()
    replies: list[Reply] = []
    position = 0
    for size in [*sizes, len(data)]:
        chunk = data[position : position + size]
        try:
            replies += parser.feed(chunk)
        except ReplyDecodeError as error:
            return replies + error.replies, (position + error.offset, error.value)
        position += len(chunk)
        if position >= len(data):
            break
    return replies, None


@given(reply_bytes, st.lists(st.integers(0, 12), max_size=30))
def test_reply_parser_is_total_and_chunking_invariant(data: bytes, sizes: list[int]) -> None:
    whole = decode_chunks(data, [])
    assert decode_chunks(data, sizes) == whole
    _, failure = whole
    if failure is not None:
        offset, value = failure
        assert data[offset] == value


@given(st.binary(max_size=200), st.lists(st.integers(1, 20), max_size=20))
def test_reply_parser_on_random_bytes(data: bytes, sizes: list[int]) -> None:
    parser = ReplyParser()
    position = 0
    for size in [*sizes, len(data)]:
        # After an error the parser has reset itself and goes on.
        with contextlib.suppress(ReplyDecodeError):
            parser.feed(data[position : position + size])
        position += size


@given(
    st.lists(
        st.sampled_from([b"\x16", b"\x12", b"\x7e", b"\x37\x22AB12\x00", b"\x11", b"\x13"]), max_size=30
    ),
    st.integers(1, 7),
)
def test_valid_replies_survive_any_chunking(pieces: list[bytes], step: int) -> None:
    stream = b"".join(pieces)
    whole = ReplyParser().feed(stream)
    parser = ReplyParser()
    split = [reply for i in range(0, len(stream), step) for reply in parser.feed(stream[i : i + step])]
    assert split == whole and len(whole) == len(pieces)


@given(st.integers(-3, 8), st.integers(-5, 300))
def test_status_bytes(n: int, value: int) -> None:
    try:
        fields = decode_status_byte(n, value)
    except StatusDecodeError:
        assert not (1 <= n <= 4 and 0 <= value <= 255 and value & 0x93 == 0x12)
    else:
        assert 1 <= n <= 4 and value & 0x93 == 0x12 and fields


@given(st.binary(max_size=6))
def test_asb(data: bytes) -> None:
    try:
        status = decode_asb(data)
    except StatusDecodeError:
        assert len(data) != 4 or data[0] & 0x93 != 0x10 or any(b & 0x90 for b in data[1:])
    else:
        assert len(data) == 4 and status.online == (not data[0] & 0x08)


# --- documents --------------------------------------------------------------------------

printable = st.characters(codec="utf-8", exclude_characters=[chr(c) for c in (*range(32), 127)])
text = st.text(printable, max_size=120)


def gs1(length: int) -> st.SearchStrategy[str]:
    body = st.text(st.sampled_from("0123456789"), min_size=length - 1, max_size=length - 1)
    return body.map(lambda digits: digits + str(ean_check_digit(digits)))


@st.composite
def logos(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(
            st.text(
                st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
                min_size=1,
                max_size=40,
            )
        )
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 24))
    grey = PILImage.frombytes(
        "L", (width, height), draw(st.binary(min_size=width * height, max_size=width * height))
    )
    return png_base64(grey.convert(draw(st.sampled_from(["1", "L", "RGB", "RGBA", "P", "LA"]))))


blocks = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("text"), "text": text},
        optional={
            "align": st.sampled_from(["left", "center", "right"]),
            "bold": st.booleans(),
            "underline": st.booleans(),
            "double_width": st.booleans(),
            "double_height": st.booleans(),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("columns"),
            "left": text,
            "right": st.text(printable, max_size=64),
            "bold": st.booleans(),
        }
    ),
    st.fixed_dictionaries({"type": st.just("separator"), "char": st.text(printable, min_size=1, max_size=1)}),
    st.fixed_dictionaries({"type": st.just("feed"), "lines": st.integers(1, 20)}),
    st.fixed_dictionaries(
        {
            "type": st.just("qr"),
            "data": st.text(st.characters(codec="utf-8"), min_size=1, max_size=700),
            "size": st.integers(1, 16),
            "error_correction": st.sampled_from("LMQH"),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("barcode"),
            "symbology": st.sampled_from(["EAN13", "EAN8", "UPC-A", "CODE39", "CODE128"]),
            "data": st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=80),
            "height": st.integers(1, 255),
            "hri": st.booleans(),
        }
    ),
    st.fixed_dictionaries({"type": st.just("barcode"), "symbology": st.just("EAN13"), "data": gs1(13)}),
    st.fixed_dictionaries({"type": st.just("barcode"), "symbology": st.just("EAN8"), "data": gs1(8)}),
    st.fixed_dictionaries({"type": st.just("barcode"), "symbology": st.just("UPC-A"), "data": gs1(12)}),
    st.fixed_dictionaries({"type": st.just("image"), "png_base64": logos()}),
    st.fixed_dictionaries({"type": st.just("cut"), "partial": st.booleans(), "feed": st.integers(0, 10)}),
    st.fixed_dictionaries(
        {
            "type": st.just("drawer"),
            "pin": st.sampled_from([2, 5]),
            "on_ms": st.integers(2, 510),
            "off_ms": st.integers(2, 510),
        }
    ),
)

documents = st.fixed_dictionaries(
    {
        "blocks": st.lists(blocks, min_size=1, max_size=8),
        "language": st.sampled_from(["en", "bs", "hr", "sr-Latn", "sr-Cyrl", "de", "ru", "fr", "xx"]),
        "width": st.integers(24, 64),
        "cut": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.booleans())
def test_render_only_raises_render_errors(raw: dict[str, Any], copy: bool) -> None:
    document = msgspec.convert(raw, ReceiptDocument)  # the strategy only builds valid documents
    try:
        data = render(document, copy=copy)
    except RenderError:
        return
    assert data.startswith(b"\x1b@\x1bt")
    if document.cut:
        assert data.count(b"\x1dV") >= 1


@given(st.binary(max_size=300))
def test_document_decoder_on_junk(data: bytes) -> None:
    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
        msgspec.json.decode(data, type=ReceiptDocument)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["type", "blocks", "text", "lines", "data", "width"]), inner, max_size=4
            )
        ),
    )
)
def test_document_convert_on_random_structures(value: Any) -> None:
    for candidate in (value, {"blocks": value}, {"blocks": [value]}):
        with contextlib.suppress(msgspec.ValidationError, EscposError):
            render(msgspec.convert(candidate, ReceiptDocument))
