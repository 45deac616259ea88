"""ESC/POS: the receipt document, its rendering to bytes, and what printers send back.

Sans-I/O: this package turns documents into bytes and reply bytes into values. Drivers send and
receive; python-escpos is used only as an encoder (its ``Dummy`` printer).
"""

from protocols.escpos.codepages import (
    CODEPAGES,
    CodePage,
    codepage_for_language,
    encode_text,
    printable_text,
)
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
from protocols.escpos.errors import EscposError, RenderError, ReplyDecodeError, StatusDecodeError
from protocols.escpos.layout import columns_line, columns_lines, copy_banner_text, paper_dots, wrap_text
from protocols.escpos.render import render, render_json, render_raw_copy
from protocols.escpos.replies import (
    FlowControl,
    ProcessIdReply,
    Reply,
    ReplyParser,
    StatusByte,
    process_id_request,
)
from protocols.escpos.status import (
    STATUS_QUERY_ALL,
    PrinterStatus,
    decode_asb,
    decode_status,
    decode_status_byte,
    status_request,
)
from protocols.escpos.symbols import MAX_IMAGE_HEIGHT, MAX_IMAGE_WIDTH, ean_check_digit

__all__ = [
    "CODEPAGES",
    "MAX_IMAGE_HEIGHT",
    "MAX_IMAGE_WIDTH",
    "STATUS_QUERY_ALL",
    "Barcode",
    "Block",
    "CodePage",
    "Columns",
    "Cut",
    "DrawerKick",
    "EscposError",
    "Feed",
    "FlowControl",
    "Image",
    "PrinterStatus",
    "ProcessIdReply",
    "QRCode",
    "ReceiptDocument",
    "RenderError",
    "Reply",
    "ReplyDecodeError",
    "ReplyParser",
    "Separator",
    "StatusByte",
    "StatusDecodeError",
    "Text",
    "codepage_for_language",
    "columns_line",
    "columns_lines",
    "copy_banner_text",
    "decode_asb",
    "decode_status",
    "decode_status_byte",
    "ean_check_digit",
    "encode_text",
    "paper_dots",
    "printable_text",
    "process_id_request",
    "render",
    "render_json",
    "render_raw_copy",
    "status_request",
    "wrap_text",
]
