"""The simulator's command parser and paper model, without I/O.

python-escpos serves as an independent encoder: what it writes for text, QR codes, barcodes,
images, cuts and drawer kicks must come out on the simulated paper as expected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from smartpos_sim.printer.actions import (
    Action,
    Barcode,
    BitImage,
    Cut,
    DrawerKick,
    DrawerPulse,
    Feed,
    FeedDots,
    FormFeed,
    GraphicsPrint,
    GraphicsStore,
    Initialize,
    LineFeed,
    NvImage,
    ProcessId,
    RasterImage,
    RealtimeRequest,
    SelectCodePage,
    SelectPeripheral,
    Setting,
    StatusRequest,
    SymbolPrint,
    SymbolStore,
    Tab,
    Text,
    Unknown,
)
from smartpos_sim.printer.paper import LINE_MM, PrintModel, render
from smartpos_sim.printer.parser import CommandParser, parse

STATUS_1 = b"\x10\x04\x01"


def parse_in_chunks(data: bytes, cuts: list[int]) -> list[Action]:
    parser = CommandParser()
    actions: list[Action] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        actions += parser.feed(data[start:cut])
        start = cut
    return actions + parser.close()


def raster(width_bytes: int, rows: int, data: bytes) -> bytes:
    return b"\x1dv0\x00" + bytes((width_bytes, 0, rows, 0)) + data


def qr_store(data: bytes) -> bytes:
    length = len(data) + 3
    return b"\x1d(k" + bytes((length & 0xFF, length >> 8)) + b"1P0" + data


QR_PRINT = b"\x1d(k\x03\x001Q0"

# Every command the simulator frames, with the action it must give. Each is followed by
# "Z\n" in the test: if a length were off by one, the Z or the LF would be swallowed or
# turned into something else.
COMMANDS: list[tuple[bytes, Action]] = [
    (b"\x1b@", Initialize(size=2)),
    (b"\x1bt\x12", SelectCodePage(size=3, table=18)),
    (b"\x1b!\x38", Setting(size=3, command=b"\x1b!\x38")),
    (b"\x1bE\x01", Setting(size=3, command=b"\x1bE\x01")),
    (b"\x1b-\x02", Setting(size=3, command=b"\x1b-\x02")),
    (b"\x1bG\x01", Setting(size=3, command=b"\x1bG\x01")),
    (b"\x1bM\x01", Setting(size=3, command=b"\x1bM\x01")),
    (b"\x1ba\x01", Setting(size=3, command=b"\x1ba\x01")),
    (b"\x1bd\x05", Feed(size=3, lines=5)),
    (b"\x1bJ\x18", FeedDots(size=3, dots=24)),
    (b"\x1b2", Setting(size=2, command=b"\x1b2")),
    (b"\x1b3\x10", Setting(size=3, command=b"\x1b3\x10")),
    (b"\x1b{\x01", Setting(size=3, command=b"\x1b{\x01")),
    (b"\x1bV\x01", Setting(size=3, command=b"\x1bV\x01")),
    (b"\x1bR\x0a", Setting(size=3, command=b"\x1bR\x0a")),
    (b"\x1bp\x00\x32\xfa", DrawerKick(size=5, pin=2, on_ms=100, off_ms=500)),
    (b"\x1bp\x31\x19\x19", DrawerKick(size=5, pin=5, on_ms=50, off_ms=50)),
    (b"\x1b*\x00\x03\x00\x0a\x0a\x0a", BitImage(size=8, columns=3)),  # 8-dot: 1 byte a column
    (b"\x1b*\x21\x02\x00" + b"\x0a" * 6, BitImage(size=11, columns=2)),  # 24-dot: 3 bytes
    (b"\x1b=\x01", SelectPeripheral(size=3, n=1)),
    (b"\x1bc3\x00", Setting(size=4, command=b"\x1bc3\x00")),
    (b"\x1bc4\x00", Setting(size=4, command=b"\x1bc4\x00")),
    (b"\x1bc5\x01", Setting(size=4, command=b"\x1bc5\x01")),
    (b"\x1d!\x11", Setting(size=3, command=b"\x1d!\x11")),
    (b"\x1dB\x01", Setting(size=3, command=b"\x1dB\x01")),
    (b"\x1dV\x00", Cut(size=3, partial=False)),
    (b"\x1dV\x01", Cut(size=3, partial=True)),
    (b"\x1dV0", Cut(size=3, partial=False)),
    (b"\x1dV1", Cut(size=3, partial=True)),
    (b"\x1dVA\x0a", Cut(size=4, partial=False)),  # n = 0x0A, not a line feed
    (b"\x1dVB\x03", Cut(size=4, partial=True)),
    (b"\x1dh\x50", Setting(size=3, command=b"\x1dh\x50")),
    (b"\x1dw\x03", Setting(size=3, command=b"\x1dw\x03")),
    (b"\x1dH\x02", Setting(size=3, command=b"\x1dH\x02")),
    (b"\x1df\x00", Setting(size=3, command=b"\x1df\x00")),
    (b"\x1db\x01", Setting(size=3, command=b"\x1db\x01")),
    (b"\x1dL\x0a\x00", Setting(size=4, command=b"\x1dL\x0a\x00")),
    (b"\x1dW\x00\x02", Setting(size=4, command=b"\x1dW\x00\x02")),
    (b"\x1da\x00", Setting(size=3, command=b"\x1da\x00")),
    (b"\x1dr\x01", Setting(size=3, command=b"\x1dr\x01")),
    (b"\x1dk\x024006381333931\x00", Barcode(size=17, system=2, data=b"4006381333931")),
    (b"\x1dk\x03" + b"9638507\x00", Barcode(size=11, system=3, data=b"9638507")),
    (b"\x1dkI\x07{B12\x0a45", Barcode(size=11, system=73, data=b"{B12\x0a45")),
    (b"\x1dkC\x0d4006381333931", Barcode(size=17, system=67, data=b"4006381333931")),
    (raster(2, 3, b"\x0a" * 6), RasterImage(size=14, width=16, height=3)),
    (qr_store(b"hi\x0a"), SymbolStore(size=11, symbol="QR", data=b"hi\x0a")),
    (QR_PRINT, SymbolPrint(size=8, symbol="QR")),
    (b"\x1d(k\x04\x001A2\x00", Setting(size=9, command=b"\x1d(k\x04\x00")),
    (b"\x1d(k\x03\x001C\x06", Setting(size=8, command=b"\x1d(k\x03\x00")),
    (b"\x1d(H\x06\x0000AB12", ProcessId(size=11, ident=b"AB12")),
    (b"\x1d(E\x03\x00\x01\x0a\x0a", Setting(size=8, command=b"\x1d(E\x03\x00")),
    (
        b"\x1d(L\x0e\x000p0\x01\x011\x10\x00\x02\x00" + b"\x0a" * 4,
        GraphicsStore(size=19, width=16, height=2),
    ),
    (b"\x1d(L\x02\x0002", GraphicsPrint(size=7)),
    (b"\x1d8L\x04\x00\x00\x00\x00\x0a\x0a\x0a", Setting(size=11, command=b"\x1d8L\x04\x00\x00\x00")),
    (b"\x1cp\x01\x00", NvImage(size=4, number=1)),
    (b"\x1c(A\x02\x000\x0a", Setting(size=7, command=b"\x1c(A\x02\x00")),
    (b"\x10\x04\x01", StatusRequest(size=3, n=1)),
    (b"\x10\x04\x04", StatusRequest(size=3, n=4)),
    (b"\x10\x05\x02", RealtimeRequest(size=3, n=2)),
    (b"\x10\x14\x01\x00\x02", DrawerPulse(size=5, pin=2, pulse_ms=200)),
    (b"\x10\x14\x01\x01\x08", DrawerPulse(size=5, pin=5, pulse_ms=800)),
    (b"\t", Tab(size=1)),
    (b"\x0c", FormFeed(size=1)),
    (b"\x1b\x01", Unknown(size=2, command=b"\x1b\x01")),
    (b"\x1d\xff", Unknown(size=2, command=b"\x1d\xff")),
    (b"\x1c\x00", Unknown(size=2, command=b"\x1c\x00")),
]


@pytest.mark.parametrize(("command", "action"), COMMANDS, ids=[c.hex(" ")[:20] for c, _ in COMMANDS])
def test_each_command_has_its_length(command: bytes, action: Action) -> None:
    assert parse(command + b"Z\n") == [action, Text(size=1, data=b"Z"), LineFeed(size=1)]
    parser = CommandParser()
    assert parser.feed(command[:-1]) == [], "an incomplete command waits for its last byte"
    assert parser.feed(command[-1:]) == [action]


def test_cr_and_nul_are_ignored_and_lf_ends_the_line() -> None:
    assert render(b"one\r\ntwo\x00\n\n") == ["one", "two", ""]


def test_status_request_inside_image_data_or_a_payload_is_data() -> None:
    stream = (
        raster(1, 3, STATUS_1)  # image rows that happen to be 10 04 01
        + qr_store(STATUS_1)  # a QR payload of 10 04 01
        + b"\x1d(E\x03\x00"
        + STATUS_1  # any other length-prefixed function
        + b"\x1b*\x00\x03\x00"
        + STATUS_1  # column bit image
        + b"\x1dk\x49\x03"
        + STATUS_1  # form B barcode data
        + STATUS_1  # the only real request
    )
    actions = parse(stream)
    assert [a for a in actions if isinstance(a, StatusRequest)] == [StatusRequest(size=3, n=1)]
    assert actions[-1] == StatusRequest(size=3, n=1)
    assert SymbolStore(size=11, symbol="QR", data=STATUS_1) in actions
    assert sum(a.size for a in actions) == len(stream)


def test_unknown_command_is_marked_and_parsing_resumes() -> None:
    assert render(b"before\x1b\x01after\n") == ["before", "[UNKNOWN 1B 01]", "after"]
    assert render(b"\x1dv1\x00X\n") == ["[UNKNOWN 1D 76 31]", "X"]
    assert render(b"\x1dk\x20abc\n") == ["[UNKNOWN 1D 6B 20]", "abc"]


def test_cp852_text_decodes_back() -> None:
    text = "č ć đ š ž Č Ć Đ Š Ž"
    assert render(b"\x1bt\x12" + text.encode("cp852") + b"\n") == [text]


@pytest.mark.parametrize(
    ("table", "codec", "sample"),
    [
        (0, "cp437", "Ç ü é ½ ░"),
        (2, "cp850", "Ø ø ß"),
        (16, "cp1252", "€ Š ž"),
        (17, "cp866", "Привет"),
        (18, "cp852", "Šđ Ćč"),
        (19, "cp858", "€ Ø"),
        (45, "cp1250", "Ščćž Đ"),
        (46, "cp1251", "Ђорђе Њ"),
    ],
)
def test_code_tables(table: int, codec: str, sample: str) -> None:
    assert render(b"\x1bt" + bytes((table,)) + sample.encode(codec) + b"\n") == [sample]


def test_init_resets_code_page_and_styles_and_prints_nothing() -> None:
    model = PrintModel()
    steps = [s for a in parse(b"\x1bt\x12\x1bE\x01\x1d!\x11\x1ba\x01half") for s in model.apply(a)]
    before = model.style
    assert steps == []
    assert (before.bold, before.width, before.align, model.codepage) == (True, 2, 1, 18)
    assert [s for a in parse(b"\x1b@") for s in model.apply(a)] == []
    after = model.style
    assert (after.bold, after.width, after.align, model.codepage) == (False, 1, 0, 0)
    assert model.pending_line == "", "ESC @ clears the line buffer"
    assert [s.line for a in parse(b"\x9f\n") for s in model.apply(a)] == ["ƒ"]  # cp437 again


def test_styles_and_alignment_leave_the_text_as_received() -> None:
    data = b"\x1ba\x01\x1bE\x01\x1b-\x01Total\x1bE\x00\x1ba\x02  12.00\n"
    assert render(data) == ["Total  12.00"]


def test_long_lines_wrap_at_the_printable_width() -> None:
    assert render(b"x" * 48 + b"\n") == ["x" * 48]
    assert render(b"x" * 50 + b"\n") == ["x" * 48, "xx"]
    assert render(b"\x1d!\x10" + b"y" * 30 + b"\n") == ["y" * 24, "y" * 6]  # double width
    assert render(b"z" * 30 + b"\n", width_chars=32) == ["z" * 30]


def test_tabs_move_to_the_next_stop() -> None:
    assert render(b"ab\tc\n") == ["ab      c"]
    assert render(b"\x1bD\x04\x0a\x00ab\tc\td\n") == ["ab  c     d"]


def test_markers_flush_an_unterminated_line() -> None:
    data = b"total" + b"\x1bp\x00\x32\xfa" + b"x\x1dV\x42\x00" + b"y\x1b\x02"
    assert render(data) == [
        "total",
        "[DRAWER pin=2 on_ms=100 off_ms=500]",
        "x",
        "--- PARTIAL CUT ---",
        "y",
        "[UNKNOWN 1B 02]",
    ]


def test_realtime_pulse_does_not_touch_the_line_buffer() -> None:
    assert render(b"ab\x10\x14\x01\x01\x03cd\n") == ["[DRAWER pin=5 pulse_ms=300]", "abcd"]


def test_feed_timing_steps() -> None:
    model = PrintModel()

    def steps(data: bytes) -> list[tuple[str | None, float]]:
        return [(s.line, s.mm) for a in parse(data) for s in model.apply(a)]

    assert steps(b"a\n") == [("a", LINE_MM)]
    assert steps(b"\n") == [("", LINE_MM)]
    assert steps(b"b\x1bd\x03") == [("b", LINE_MM), (None, 2 * LINE_MM)]  # ESC d n: n lines in all
    assert steps(b"\x1bd\x02") == [(None, 2 * LINE_MM)]
    assert steps(b"\x1dV\x00") == [("--- CUT ---", 0.0)]


def test_bit_image_stripes_are_part_of_their_line() -> None:
    stripe = b"\x1b*\x21\x02\x00" + b"\xff" * 6
    assert render(stripe + b"\n" + stripe + b"\n") == ["[BITIMAGE 2 cols]"] * 2


def test_code128_shows_the_human_readable_data() -> None:
    assert render(b"\x1dkI\x08{B12{C\x22\x38") == ["[BARCODE CODE128] 123456"]


def test_process_id_needs_printable_ids() -> None:
    assert parse(b"\x1d(H\x06\x0000\x10\x04\x01\x00") == [Setting(size=11, command=b"\x1d(H\x06\x00")]


def test_data_for_a_line_display_is_not_printed() -> None:
    assert render(b"\x1b=\x02\x0cWelcome\r\x1b=\x01printed\n") == ["printed"]


def test_huge_declared_lengths_wait_without_buffering() -> None:
    parser = CommandParser()
    assert parser.feed(raster(0xFF, 0xFF, b"")[:-2] + b"\xff\xff") == []
    for _ in range(64):
        assert parser.feed(bytes(65536)) == []  # 4 MiB of image data, counted off, not stored


def dummy_output(build: Callable[[Dummy], None]) -> bytes:
    printer = Dummy()
    build(printer)
    return bytes(printer.output)


def test_python_escpos_output_prints_as_expected() -> None:
    def receipt(p: Dummy) -> None:
        p.set(align="center", bold=True, double_height=True)
        p.text("Hello\n")
        p.set()
        p.qr("https://example.invalid/r/1", native=True)
        p.barcode("4006381333931", "EAN13")
        p.barcode("{B12345", "CODE128", function_type="B")
        p.image(Image.new("1", (24, 10), 0), impl="bitImageRaster")
        p.image(Image.new("1", (16, 8), 0), impl="graphics")
        p.image(Image.new("1", (24, 30), 0), impl="bitImageColumn")
        p.cashdraw(2)
        p.cashdraw(5)
        p.text("čćđšž ČĆĐŠŽ\n")
        p.cut()
        p.cut(mode="PART")

    assert render(dummy_output(receipt)) == [
        "Hello",
        "[QR] https://example.invalid/r/1",
        "[BARCODE EAN13] 4006381333931",
        "[BARCODE CODE128] 12345",
        "[IMAGE 24x10]",
        "[IMAGE 16x8]",
        "[BITIMAGE 24 cols]",
        "[BITIMAGE 24 cols]",
        "[DRAWER pin=2 on_ms=100 off_ms=100]",
        "[DRAWER pin=5 on_ms=100 off_ms=100]",
        "čćđšž ČĆĐŠŽ",
        "--- CUT ---",
        "--- PARTIAL CUT ---",
    ]


def test_python_escpos_stream_one_byte_at_a_time() -> None:
    def receipt(p: Dummy) -> None:
        p.text("Račun 1\n")
        p.qr("QR-DATA", native=True)
        p.image(Image.new("1", (8, 4), 1), impl="bitImageRaster")
        p.cut()

    stream = dummy_output(receipt)
    stream += b"\x1d(H\x06\x00000001"
    whole = parse(stream)
    parser = CommandParser()
    assert [a for byte in stream for a in parser.feed(bytes((byte,)))] + parser.close() == whole
    assert whole[-1] == ProcessId(size=11, ident=b"0001")
    assert "Račun 1" in render(stream)


# -- properties -------------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.encode)
pieces = st.one_of(
    printable,
    st.sampled_from([b"\n", b"\t", b"\r", b"\x0c", STATUS_1, b"\x10\x04\x02", QR_PRINT]),
    st.sampled_from([command for command, _ in COMMANDS]),
    st.binary(max_size=24).map(lambda d: raster(1, len(d), d)),
    st.binary(max_size=24).map(qr_store),
    st.binary(max_size=12).map(lambda d: b"\x1b*\x00" + bytes((len(d), 0)) + d),
    st.binary(max_size=12).map(lambda d: b"\x1dkI" + bytes((len(d),)) + d),
    st.binary(max_size=8),  # junk, which may start a command that swallows what follows
)
streams = st.lists(pieces, max_size=25).map(b"".join)


@settings(max_examples=300)
@given(streams, st.lists(st.integers(min_value=0, max_value=2000), max_size=30))
def test_chunk_boundaries_do_not_matter(stream: bytes, cuts: list[int]) -> None:
    whole = parse(stream)
    assert parse_in_chunks(stream, cuts) == whole
    model_a, model_b = PrintModel(), PrintModel()
    paper_a = [s for a in whole for s in model_a.apply(a)]
    paper_b = [s for a in parse_in_chunks(stream, cuts) for s in model_b.apply(a)]
    assert paper_a == paper_b


@settings(max_examples=300, deadline=1000)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise_or_hang(data: bytes, chunk: int) -> None:
    parser = CommandParser()
    model = PrintModel()
    total = 0
    for i in range(0, len(data), chunk):
        for action in parser.feed(data[i : i + chunk]):
            assert action.size > 0
            total += action.size
            model.apply(action)
    assert total <= len(data)
