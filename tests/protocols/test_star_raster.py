"""Star raster encoding (golden bytes, round trips) and the ESC/POS text extractor (incl. fuzzing).

Golden vectors: the reference sheet's raster sequence (``1B 2A 72 41``, ``62 nL nH data``,
``1B 2A 72 42``); the other commands as printed in Star's "STAR Line Mode Command
Specifications", raster chapter (numbers in ASCII decimal, ended by NUL).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.escpos import (
    Barcode,
    Columns,
    Cut,
    DrawerKick,
    Feed,
    QRCode,
    ReceiptDocument,
    Separator,
    Text,
    render,
)
from protocols.escpos.extract import (
    MAX_LINE,
    BarcodeMark,
    CutMark,
    DrawerMark,
    FeedDots,
    FeedLines,
    ImageMark,
    QrMark,
    TextLine,
    TextRun,
    extract,
)
from protocols.star_raster import (
    ENTER_RASTER,
    EOT_MODES,
    EXECUTE_EOT,
    QUIT_RASTER,
    Bitmap,
    CutMode,
    RasterPage,
    StarRasterError,
    decode,
    drawer_drive,
    encode_bitmap,
    encode_job,
    move_down,
    page_bitmaps,
    raster_row,
    set_eot_mode,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- golden bytes ------------------------------------------------------------------------------
def test_sheet_sequence_is_golden() -> None:
    bitmap = Bitmap(16, (b"\xff\x00", b"\x81\x01"))
    assert encode_bitmap(bitmap) == h("1B 2A 72 41  62 02 00 FF 00  62 02 00 81 01  1B 2A 72 42")
    assert h("1B 2A 72 41") == ENTER_RASTER
    assert h("1B 2A 72 42") == QUIT_RASTER
    # nL nH is little-endian: 300 bytes -> 2C 01.
    assert raster_row(bytes(300))[:3] == h("62 2C 01")


def test_star_spec_commands() -> None:
    assert set_eot_mode("partial") == h("1B 2A 72 45 31 33 00")  # n = 13: cut feed, partial cut
    assert set_eot_mode("full") == h("1B 2A 72 45 39 00")  # n = 9: cut feed, full cut
    assert set_eot_mode("none") == h("1B 2A 72 45 32 00")  # n = 2: cut feed, no cut
    assert move_down(24) == h("1B 2A 72 59 32 34 00")
    assert drawer_drive(1) == h("1B 2A 72 44 31 00")
    assert h("1B 0C 04") == EXECUTE_EOT


def test_encode_job_compacts_blank_bytes_and_rows() -> None:
    blank = bytes(4)
    bitmap = Bitmap(32, (b"\x80\x00\x00\x00", blank, blank, b"\x00\x00\x01\x00", blank))
    job = encode_job([RasterPage(bitmap, "full")], drawer=1)
    assert job == (
        h("1B 2A 72 41")
        + h("1B 2A 72 44 31 00")  # drawer 1
        + h("1B 2A 72 45 39 00")  # EOT mode 9
        + h("62 01 00 80")  # trailing zero bytes are not sent
        + h("1B 2A 72 59 32 00")  # two blank rows: one move of 2 dots
        + h("62 03 00 00 00 01")
        + h("1B 2A 72 59 31 00")
        + h("1B 0C 04 1B 2A 72 42")
    )
    assert page_bitmaps(decode(job), 32) == [bitmap]
    full = encode_job([RasterPage(bitmap, "partial")], compact=False)
    assert full.count(b"b\x04\x00") == 5
    assert page_bitmaps(decode(full), 32) == [bitmap]


@pytest.mark.parametrize(("width", "rows"), [(12, (bytes(2),)), (0, ()), (16, (bytes(3),))])
def test_bad_bitmaps_raise_the_typed_error(width: int, rows: tuple[bytes, ...]) -> None:
    with pytest.raises(StarRasterError):
        Bitmap(width, rows)


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"b\x01\x00\xff", 0),  # a row outside raster mode
        (ENTER_RASTER + b"b\x05\x00ab", 4),  # a row longer than the data
        (ENTER_RASTER + b"\x1b*rE13", 4),  # no NUL
        (ENTER_RASTER + b"\x07", 4),  # not a raster command
    ],
)
def test_bad_bytes_raise_the_typed_error_at_their_offset(data: bytes, offset: int) -> None:
    with pytest.raises(StarRasterError) as excinfo:
        decode(data)
    assert excinfo.value.offset == offset


@st.composite
def bitmaps(draw: st.DrawFn) -> Bitmap:
    width = draw(st.integers(1, 8)) * 8
    row = st.one_of(st.just(bytes(width // 8)), st.binary(min_size=width // 8, max_size=width // 8))
    return Bitmap(width, tuple(draw(st.lists(row, min_size=1, max_size=30))))


@given(st.lists(bitmaps(), min_size=1, max_size=3), st.booleans(), st.sampled_from(list(EOT_MODES)))
def test_encode_decode_round_trip(images: list[Bitmap], compact: bool, cut: CutMode) -> None:
    width = max(image.width for image in images)
    pages = [
        RasterPage(Bitmap(width, tuple(row.ljust(width // 8, b"\0") for row in image.rows)), cut)
        for image in images
    ]
    commands = decode(encode_job(pages, compact=compact))
    assert page_bitmaps(commands, width) == [page.bitmap for page in pages]
    eot_modes = [c.value for c in commands if c.kind == "setting" and c.letter == "E"]
    assert eot_modes == [EOT_MODES[cut]] * len(pages)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_raster_decoder_only_raises_its_typed_error(data: bytes) -> None:
    for prefix in (b"", ENTER_RASTER):
        with contextlib.suppress(StarRasterError):
            page_bitmaps(decode(prefix + data), 64)


# --- the ESC/POS text extractor ----------------------------------------------------------------
def test_extracts_a_rendered_receipt() -> None:
    document = ReceiptDocument(
        language="bs",
        blocks=[
            Text(text="Ćevabdžinica Željo", align="center", bold=True, double_width=True, double_height=True),
            Text(text="podvučeno", underline=True),
            Columns(left="Ćevapi 10 kom", right="12.00", bold=True),
            Separator(),
            Feed(lines=2),
            QRCode(data="https://example.ba/r/1\n2", size=5, error_correction="Q"),
            Barcode(data="4006381333931", symbology="EAN13"),
            DrawerKick(pin=5),
            Cut(partial=True, feed=0),
        ],
    )
    items = extract(render(document))
    assert items[0] == TextLine((TextRun("Ćevabdžinica Željo", bold=True, width=2, height=2),), "center")
    assert items[1] == TextLine((TextRun("podvučeno", underline=True),))
    assert items[2].text.startswith("Ćevapi 10 kom") and items[2].text.endswith("12.00")  # type: ignore[union-attr]
    assert items[3] == TextLine((TextRun("-" * 48),))
    assert items[4:] == [
        FeedLines(2),
        QrMark(b"https://example.ba/r/1\n2", 5, "Q", "center"),  # its LF is data, not a line
        BarcodeMark(67, b"4006381333931", "center"),
        DrawerMark(5),
        CutMark(partial=True),
    ]


def test_extractor_knows_command_lengths() -> None:
    data = (
        b"\x1b@\x1bt\x12"  # init, CP852
        + b"\x10\x04\x01\x1d(H\x06\x0000AB12"  # status request and process id in the stream
        + b"\x1d!\x11Big\n\x1d!\x00"  # GS ! 0x11: double width and height
        + b"\x1dv0\x00\x01\x00\x02\x00\x0a\x0a"  # a 8x2 raster image whose data is two LFs
        + b"\x1b=\x02on display\n\x1b=\x01"  # text routed to a line display
        + b"held\x1b@\x1bt\x12"  # ESC @ drops a pending partial line (and the code page)
        + b"\xe6ifra\tx\n"  # CP852 Š, a tab
        + b"\x1bJ\x18\x1bd\x01\x1b\x7f\x1dVB\x03"  # feed dots, feed lines, unknown ESC, cut
    )
    assert extract(data) == [
        TextLine((TextRun("Big", width=2, height=2),)),
        ImageMark(1, 2, b"\n\n"),
        TextLine((TextRun("Šifra   x"),)),
        FeedDots(24),
        FeedLines(1),
        CutMark(partial=True),
    ]


def test_unterminated_text_is_bounded_and_kept() -> None:
    items = extract(b"a" * (MAX_LINE + 5))
    assert [len(item.text) for item in items if isinstance(item, TextLine)] == [MAX_LINE, 5]
    assert extract(b"\x1d(k\x05\x00") == []  # a command cut short is dropped


_FRAGMENTS = [
    b"\x1b@",
    b"\x1bE\x01",
    b"\x1b!\x30",
    b"\x1ba\x01",
    b"\x1dV\x41\x03",
    b"\x1d(k\x03\x001Q0",
    b"\x1dv0\x00\x01\x00\x01\x00\xff",
    b"\x10\x14\x01\x00\x01",
    b"\x1dk\x02123\x00",
    b"\x1dkC\x03123",
    b"text",
    b"\n",
    b"\x1b",
    b"\x1d",
]


@settings(max_examples=400)
@given(st.lists(st.one_of(st.binary(max_size=8), st.sampled_from(_FRAGMENTS)), max_size=40).map(b"".join))
def test_extractor_is_total(data: bytes) -> None:
    items = extract(data)  # any exception fails the test: the extractor raises nothing at all
    for item in items:
        if isinstance(item, TextLine):
            assert 0 < len(item.text) <= MAX_LINE or not item.runs
            assert all(run.text and 1 <= run.width <= 8 and 1 <= run.height <= 8 for run in item.runs)
