"""The receipt as the help center's "Receipt Content" lists it, as an ESC/POS document.

Header from the settings (business name, store, address, phone, JIB, PDV number), number,
date and time, seller and store, each item with quantity x unit price and the line total,
discounts, GRATIS lines, subtotal, discount, total, tax per rate, payments, rounding, change,
the B2B buyer, the footer and a QR code of the number (a refund scans it). Training receipts
say so at the top and the bottom. Labels follow the store's language (Bosnian or English).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hub.domain.money import format_percent
from hub.domain.sales.schemas import SaleView
from hub.domain.store_settings import StoreSettings
from protocols.escpos import Columns, Cut, QRCode, ReceiptDocument, Separator, Text
from protocols.escpos.document import Block

LABELS = {
    "bs": {
        "receipt": "FISKALNI RAČUN",
        "invoice": "FAKTURA",
        "refund": "POVRAT / STORNO",
        "number": "Broj",
        "date": "Datum",
        "seller": "Prodavač",
        "store": "Prodajno mjesto",
        "subtotal": "Međuzbir",
        "discount": "Popust",
        "total": "UKUPNO",
        "tax": "Porez",
        "base": "osnovica",
        "rounding": "Zaokruživanje",
        "change": "Povrat (kusur)",
        "balance": "Preostalo za platiti",
        "buyer": "Kupac",
        "tax_id": "PDV/ID broj",
        "training": "*** OBUKA - NIJE RAČUN ***",
        "refund_of": "Storno računa",
        "reason": "Razlog",
        "jib": "JIB",
        "pdv": "PDV broj",
        "phone": "Tel",
    },
    "en": {
        "receipt": "RECEIPT",
        "invoice": "INVOICE",
        "refund": "REFUND",
        "number": "No.",
        "date": "Date",
        "seller": "Seller",
        "store": "Store",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "total": "TOTAL",
        "tax": "Tax",
        "base": "base",
        "rounding": "Rounding",
        "change": "Change",
        "balance": "Balance due",
        "buyer": "Buyer",
        "tax_id": "Tax ID",
        "training": "*** TRAINING - NOT A RECEIPT ***",
        "refund_of": "Refund of",
        "reason": "Reason",
        "jib": "Company ID",
        "pdv": "VAT no.",
        "phone": "Tel",
    },
}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language.split("-")[0].lower(), LABELS["en"])


def receipt_document(
    sale: SaleView,
    settings: StoreSettings,
    *,
    tender_names: dict[str, str],
    refund_of_number: str | None = None,
    notes: Sequence[str] = (),
) -> ReceiptDocument:
    """The printed receipt of ``sale``; ``notes`` are infocode answers set to print."""
    words = labels_for(settings.language)

    money = settings.money_text

    blocks: list[Block] = []
    if sale.training:
        blocks.append(Text(text=words["training"], align="center", bold=True))
    if settings.business_name:
        blocks.append(Text(text=settings.business_name, align="center", bold=True, double_height=True))
    blocks.append(Text(text=settings.store_name, align="center"))
    for text in (settings.address, f"{words['phone']}: {settings.phone}" if settings.phone else ""):
        if text:
            blocks.append(Text(text=text, align="center"))
    if settings.jib:
        blocks.append(Text(text=f"{words['jib']}: {settings.jib}", align="center"))
    if settings.pdv_number:
        blocks.append(Text(text=f"{words['pdv']}: {settings.pdv_number}", align="center"))
    blocks += [Text(text=part, align="center") for part in settings.receipt_header.splitlines() if part]
    blocks.append(Separator(char="="))
    blocks.append(Text(text=words[sale.doc_type], align="center", bold=True))
    moment = datetime.fromisoformat(sale.created_at).astimezone()
    blocks += [
        Columns(left=words["number"], right=sale.number_text),
        Columns(left=words["date"], right=moment.strftime("%d.%m.%Y %H:%M:%S")),
        Columns(left=words["seller"], right=sale.seller[:40]),
        Columns(left=words["store"], right=f"{settings.store_name[:24]} / {sale.terminal_id}"),
    ]
    if refund_of_number:
        blocks.append(Columns(left=words["refund_of"], right=refund_of_number))
    if sale.reason:
        blocks.append(Text(text=f"{words['reason']}: {sale.reason}"))
    if sale.buyer is not None:
        blocks += [
            Separator(),
            Text(text=f"{words['buyer']}: {sale.buyer.company_name}", bold=True),
            Text(text=f"{words['tax_id']}: {sale.buyer.tax_id}"),
            Text(text=sale.buyer.address),
        ]
    blocks.append(Separator())
    for line in sale.lines:
        gratis = Decimal(line.gratis_quantity) > 0
        name = (
            f"{line.name} GRATIS"
            if gratis and Decimal(line.quantity) == Decimal(line.gratis_quantity)
            else line.name
        )
        blocks.append(Text(text=name))
        blocks.append(Columns(left=f"  {line.quantity} x {money(line.unit_price)}", right=money(line.gross)))
        if gratis and Decimal(line.quantity) != Decimal(line.gratis_quantity):
            blocks.append(Columns(left=f"  GRATIS {line.gratis_quantity} x", right="0.00"))
        if line.discount:
            blocks.append(Columns(left=f"  {words['discount']}", right=money(-line.discount)))
        if line.note:
            blocks.append(Text(text=f"  * {line.note}"))
    blocks.append(Separator())
    blocks.append(Columns(left=words["subtotal"], right=money(sale.subtotal)))
    if sale.discount_total:
        blocks.append(Columns(left=words["discount"], right=money(-sale.discount_total)))
    blocks.append(
        Text(
            text=f"{words['total']} {money(sale.total)} {settings.currency_symbol}",
            bold=True,
            double_height=True,
        )
    )
    blocks.append(Separator())
    for tax in sale.taxes:
        label = f"{words['tax']} {tax.name} {format_percent(Decimal(tax.rate))}%"
        blocks.append(Columns(left=f"{label} {words['base']} {money(tax.base)}", right=money(tax.amount)))
    blocks.append(Separator())
    for payment in sale.payments:
        name = tender_names.get(payment.tender_id, payment.tender_id)
        blocks.append(Columns(left=name, right=money(payment.tendered)))
    if sale.rounding:
        blocks.append(Columns(left=words["rounding"], right=money(sale.rounding)))
    if sale.change_total:
        blocks.append(Columns(left=words["change"], right=money(sale.change_total), bold=True))
    if sale.balance_due:
        blocks.append(Columns(left=words["balance"], right=money(sale.balance_due), bold=True))
    if notes:
        blocks.append(Separator())
        blocks += [Text(text=note) for note in notes]
    if settings.receipt_footer:
        blocks.append(Separator())
        blocks += [Text(text=part, align="center") for part in settings.receipt_footer.splitlines() if part]
    blocks.append(QRCode(data=sale.number_text, size=4))
    if sale.training:
        blocks.append(Text(text=words["training"], align="center", bold=True))
    blocks.append(Cut())
    width = 32 if settings.paper_width_mm == 58 else 48
    return ReceiptDocument(blocks=blocks, language=settings.language, width=width)


def document_as_text(document: ReceiptDocument) -> str:
    """The receipt as plain text (the email body), laid out like the paper."""
    width = document.width
    out: list[str] = []
    for block in document.blocks:
        if isinstance(block, Text):
            out.append(block.text.center(width).rstrip() if block.align == "center" else block.text)
        elif isinstance(block, Columns):
            gap = max(1, width - len(block.left) - len(block.right))
            out.append(f"{block.left}{' ' * gap}{block.right}")
        elif isinstance(block, Separator):
            out.append(block.char * width)
    return "\n".join(out) + "\n"
