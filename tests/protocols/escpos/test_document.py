"""The receipt document schema: strict decoding, errors that name the field, round trips."""

from __future__ import annotations

import msgspec
import pytest

from protocols.escpos import (
    Barcode,
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

GOOD = b"""{
  "language": "bs", "width": 42, "cut": false,
  "blocks": [
    {"type": "text", "text": "\xc4\x86evabd\xc5\xbeinica", "align": "center", "bold": true},
    {"type": "columns", "left": "\xc4\x8cevapi 2 x 12.00", "right": "24.00"},
    {"type": "separator", "char": "="},
    {"type": "feed", "lines": 2},
    {"type": "qr", "data": "https://example.ba/r/1", "size": 4, "error_correction": "Q"},
    {"type": "barcode", "data": "4006381333931", "symbology": "EAN13", "hri": false},
    {"type": "image", "png_base64": "iVBORw0KGgo="},
    {"type": "cut", "partial": true, "feed": 0},
    {"type": "drawer", "pin": 5, "on_ms": 50, "off_ms": 250}
  ]
}"""


def test_a_full_document_decodes_into_the_block_types() -> None:
    document = msgspec.json.decode(GOOD, type=ReceiptDocument)
    assert [type(b) for b in document.blocks] == [
        Text,
        Columns,
        Separator,
        Feed,
        QRCode,
        Barcode,
        Image,
        Cut,
        DrawerKick,
    ]
    assert document.language == "bs" and document.width == 42 and document.cut is False
    assert document.blocks[0] == Text(text="Ćevabdžinica", align="center", bold=True)
    assert document.blocks[8] == DrawerKick(pin=5, on_ms=50, off_ms=250)
    # Encoding gives the same JSON shape back, tagged by "type".
    again = msgspec.json.decode(msgspec.json.encode(document), type=ReceiptDocument)
    assert again == document
    assert msgspec.to_builtins(document)["blocks"][2] == {"type": "separator", "char": "="}


def test_defaults() -> None:
    document = msgspec.json.decode(b'{"blocks": [{"type": "cut"}]}', type=ReceiptDocument)
    assert (document.language, document.width, document.cut) == ("en", 48, True)
    assert document.blocks == [Cut(partial=False, feed=3)]
    assert DrawerKick() == DrawerKick(pin=2, on_ms=100, off_ms=500)
    assert QRCode(data="x").size == 6 and QRCode(data="x").error_correction == "M"
    assert Barcode(data="1", symbology="CODE39").height == 80
    assert Separator().char == "-" and Feed().lines == 1


BAD = [
    (b'{"blocks": []}', "$.blocks"),
    (b'{"blocks": [{"type": "text", "text": "x"}], "width": 500}', "$.width"),
    (b'{"blocks": [{"type": "text", "text": "x"}], "width": 23}', "$.width"),
    (b'{"blocks": [{"type": "text", "text": "x"}], "language": "bosnian!"}', "$.language"),
    (b'{"blocks": [{"type": "text", "text": "x"}], "colour": "red"}', "unknown field `colour`"),
    (b'{"blocks": [{"type": "text", "text": "a\\u001b@"}]}', "$.blocks[0].text"),
    (b'{"blocks": [{"type": "text", "text": "line\\nbreak"}]}', "$.blocks[0].text"),
    (b'{"blocks": [{"type": "text", "text": "x", "align": "justify"}]}', "$.blocks[0].align"),
    (b'{"blocks": [{"type": "text", "text": "x", "size": 2}]}', "$.blocks[0]"),
    (b'{"blocks": [{"type": "columns", "left": "a", "right": "\\u007f"}]}', "$.blocks[0].right"),
    (b'{"blocks": [{"type": "separator", "char": "=="}]}', "$.blocks[0].char"),
    (b'{"blocks": [{"type": "separator", "char": ""}]}', "$.blocks[0].char"),
    (b'{"blocks": [{"type": "feed", "lines": 0}]}', "$.blocks[0].lines"),
    (b'{"blocks": [{"type": "feed", "lines": 21}]}', "$.blocks[0].lines"),
    (b'{"blocks": [{"type": "qr", "data": ""}]}', "$.blocks[0].data"),
    (b'{"blocks": [{"type": "qr", "data": "x", "size": 40}]}', "$.blocks[0].size"),
    (b'{"blocks": [{"type": "qr", "data": "x", "error_correction": "X"}]}', "$.blocks[0].error_correction"),
    (b'{"blocks": [{"type": "barcode", "data": "1", "symbology": "EAN"}]}', "$.blocks[0].symbology"),
    (b'{"blocks": [{"type": "barcode", "data": "1"}]}', "$.blocks[0]"),
    (
        b'{"blocks": [{"type": "barcode", "data": "1", "symbology": "CODE39", "height": 0}]}',
        "$.blocks[0].height",
    ),
    (b'{"blocks": [{"type": "image", "png_base64": ""}]}', "$.blocks[0].png_base64"),
    (b'{"blocks": [{"type": "cut", "feed": 11}]}', "$.blocks[0].feed"),
    (b'{"blocks": [{"type": "drawer", "pin": 3}]}', "$.blocks[0].pin"),
    (b'{"blocks": [{"type": "drawer", "on_ms": 1}]}', "$.blocks[0].on_ms"),
    (b'{"blocks": [{"type": "drawer", "off_ms": 511}]}', "$.blocks[0].off_ms"),
    (b'{"blocks": [{"type": "cut"}, {"type": "beep"}]}', "$.blocks[1].type"),
    (b'{"blocks": [{"text": "no type"}]}', "$.blocks[0]"),
]


@pytest.mark.parametrize(("raw", "path"), BAD, ids=[path for _, path in BAD])
def test_bad_documents_name_the_field(raw: bytes, path: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(raw, type=ReceiptDocument)
    # A path like $.blocks[0].size ends the message; a top-level unknown field is named in it.
    expected = path if path.startswith("unknown") else f"at `{path}`"
    assert str(caught.value).endswith(expected), str(caught.value)


def test_text_length_limit() -> None:
    ok = b'{"blocks": [{"type": "text", "text": "%s"}]}' % (b"x" * 2000)
    assert msgspec.json.decode(ok, type=ReceiptDocument).blocks[0] == Text(text="x" * 2000)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.blocks\[0\]\.text"):
        msgspec.json.decode(ok.replace(b"x" * 2000, b"x" * 2001), type=ReceiptDocument)


def test_block_count_limit() -> None:
    blocks = b",".join([b'{"type": "feed"}'] * 2001)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.blocks"):
        msgspec.json.decode(b'{"blocks": [%s]}' % blocks, type=ReceiptDocument)


@pytest.mark.parametrize("language", ["en", "bs", "sr-Latn", "sr-Cyrl-RS", "de-AT", "hr"])
def test_language_tags_accepted(language: str) -> None:
    raw = msgspec.json.encode({"blocks": [{"type": "feed"}], "language": language})
    assert msgspec.json.decode(raw, type=ReceiptDocument).language == language
