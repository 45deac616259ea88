"""A B2B invoice as an A4 PDF, from a plain :class:`InvoiceDocument`.

The renderer knows nothing about sales, carts or settings: whoever issues the invoice fills an
``InvoiceDocument`` with texts and amounts already decided (nothing is priced or taxed again
here), so the same layout serves invoices from sales, from the cloud or from tests.

Set in DejaVu Sans (Debian's ``fonts-dejavu-core``), embedded as a subset, because the 14 PDF
standard fonts only cover Latin-1, which has no č, ć or đ. The header (title, seller, buyer,
date) and the column titles repeat on every page, and a line never splits across pages, so a
long invoice printed and stapled still reads page by page. Amounts are ``int`` minor units
formatted with :func:`hub.domain.money.format_amount` (principle 5: no float anywhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

from fpdf import FPDF

from hub.domain.errors import DomainError
from hub.domain.money import format_amount

__all__ = [
    "InvoiceBuyer",
    "InvoiceDocument",
    "InvoiceFontMissing",
    "InvoiceLine",
    "InvoicePayment",
    "InvoiceSeller",
    "InvoiceTax",
    "render_invoice_pdf",
]

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
FONT = "DejaVu"

LABELS: dict[str, dict[str, str]] = {
    "bs": {
        "invoice": "FAKTURA",
        "copy": "KOPIJA",
        "training": "*** OBUKA - NIJE RAČUN ***",
        "date": "Datum",
        "issued_by": "Izdao",
        "seller": "Prodavac",
        "buyer": "Kupac",
        "jib": "JIB",
        "pdv": "PDV broj",
        "phone": "Tel",
        "tax_id": "PDV/ID broj",
        "item": "Artikal",
        "qty": "Kol.",
        "price": "Cijena",
        "discount": "Popust",
        "amount": "Iznos",
        "subtotal": "Međuzbir",
        "base": "osnovica",
        "tax_total": "Ukupno porez",
        "total": "UKUPNO",
        "paid": "Plaćeno",
        "page": "Strana",
    },
    "en": {
        "invoice": "INVOICE",
        "copy": "COPY",
        "training": "*** TRAINING - NOT AN INVOICE ***",
        "date": "Date",
        "issued_by": "Issued by",
        "seller": "Seller",
        "buyer": "Buyer",
        "jib": "Company ID",
        "pdv": "VAT no.",
        "phone": "Tel",
        "tax_id": "Tax ID",
        "item": "Item",
        "qty": "Qty",
        "price": "Unit price",
        "discount": "Discount",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "base": "base",
        "tax_total": "Tax total",
        "total": "TOTAL",
        "paid": "Paid",
        "page": "Page",
    },
}

# (label key, width in mm, alignment); the widths add up to the 182 mm between the margins.
COLUMNS: tuple[tuple[str, float, Literal["L", "R"]], ...] = (
    ("item", 88.0, "L"),
    ("qty", 20.0, "R"),
    ("price", 26.0, "R"),
    ("discount", 22.0, "R"),
    ("amount", 26.0, "R"),
)
MARGIN = 14.0
LINE_H = 5.0


@dataclass(frozen=True, slots=True)
class InvoiceSeller:
    """The issuing business as the tax office knows it."""

    business_name: str
    address: str = ""
    tax_id: str = ""  # JIB, the 13-digit company identification number
    pdv_number: str = ""  # the 12-digit VAT number; empty for a business outside VAT
    phone: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceBuyer:
    """The company being invoiced."""

    company_name: str
    tax_id: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoiced line. ``discount`` is the reduction in minor units (shown negated);
    ``total`` is what the line comes to after it."""

    name: str
    quantity: str  # as printed: "2", "0.255 kg"
    unit_price: int
    total: int
    discount: int = 0


@dataclass(frozen=True, slots=True)
class InvoiceTax:
    """The tax of one rate: ``rate`` is the decimal percent text ("17", "5.5")."""

    name: str
    rate: str
    base: int
    amount: int


@dataclass(frozen=True, slots=True)
class InvoicePayment:
    """A payment already taken against the invoice, by tender name."""

    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything an invoice shows. Amounts are ``int`` minor units of ``currency``, with
    ``currency_exponent`` decimals; ``language`` picks the labels ("bs" or "en")."""

    seller: InvoiceSeller
    buyer: InvoiceBuyer
    number: str
    issued_at: datetime
    currency: str
    lines: Sequence[InvoiceLine]
    taxes: Sequence[InvoiceTax]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    payments: Sequence[InvoicePayment] = ()
    footer: str = ""
    issued_by: str = ""
    copy: bool = False
    training: bool = False
    language: str = "bs"
    currency_exponent: int = 2
    labels: dict[str, str] = field(default_factory=dict)  # overrides of single labels


class InvoiceFontMissing(DomainError):
    """DejaVu Sans is not installed, so the invoice cannot be set (503: the box needs fixing)."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "invoice_font_missing", "DejaVu Sans is not installed (Debian package fonts-dejavu-core)"
        )


def _font(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise InvoiceFontMissing


def _labels(invoice: InvoiceDocument) -> dict[str, str]:
    language = invoice.language.split("-")[0].lower()
    return {**LABELS.get(language, LABELS["en"]), **invoice.labels}


class _InvoicePdf(FPDF):
    """A4 pages whose header (fpdf2 calls it on every new page) carries the invoice's identity."""

    def __init__(self, invoice: InvoiceDocument, words: dict[str, str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice, self.words = invoice, words
        self.add_font(FONT, "", str(_font("DejaVuSans.ttf")))
        self.add_font(FONT, "B", str(_font("DejaVuSans-Bold.ttf")))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(f"{words['invoice']} {invoice.number}")
        self.set_creator("SmartPOS")
        # A fixed creation date makes the same invoice render to the same bytes (a resend
        # attaches an identical file, and tests can compare renders).
        self.set_creation_date(invoice.issued_at)

    def header(self) -> None:
        inv, w = self.invoice, self.words
        self.set_font(FONT, "B", 16)
        title = f"{w['invoice']} {inv.number}"
        if inv.copy:
            title += f" - {w['copy']}"
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        if inv.training:
            self.set_font(FONT, "B", 11)
            self.cell(0, 6, w["training"], new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 9)
        when = f"{w['date']}: {inv.issued_at.strftime('%d.%m.%Y %H:%M')}"
        if inv.issued_by:
            when += f"    {w['issued_by']}: {inv.issued_by}"
        self.cell(0, LINE_H, when, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        s, b = inv.seller, inv.buyer
        seller = [
            s.business_name,
            s.address,
            f"{w['jib']}: {s.tax_id}" if s.tax_id else "",
            f"{w['pdv']}: {s.pdv_number}" if s.pdv_number else "",
            f"{w['phone']}: {s.phone}" if s.phone else "",
        ]
        buyer = [b.company_name, b.address, f"{w['tax_id']}: {b.tax_id}" if b.tax_id else ""]
        top = self.get_y()
        bottom = top
        half = (self.epw - 6) / 2
        for x, heading, lines in ((MARGIN, w["seller"], seller), (MARGIN + half + 6, w["buyer"], buyer)):
            self.set_xy(x, top)
            self.set_font(FONT, "B", 10)
            self.cell(half, LINE_H, heading, new_x="LEFT", new_y="NEXT")
            self.set_font(FONT, "", 9)
            for text in (t for t in lines if t):
                # multi_cell: a long address wraps inside its column instead of running into
                # the other party's block.
                self.multi_cell(half, LINE_H, text, align="L", new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, self.get_y())
        self.set_xy(MARGIN, bottom + 4)
        self.set_font(FONT, "B", 9)
        for key, width, align in COLUMNS:
            self.cell(width, 6, w[key], border="B", align=align)
        self.ln()
        self.set_font(FONT, "", 9)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.cell(0, LINE_H, f"{self.words['page']} {self.page_no()}/{{nb}}", align="C")

    def line_row(self, cells: Sequence[str]) -> None:
        """One line of the table; the name wraps, and a row that would not fit starts a page."""
        name_width = COLUMNS[0][1]
        # A dry run measures how many lines the name wraps to (fpdf2 types the result loosely).
        wrapped = cast(
            "list[str]",
            self.multi_cell(name_width, LINE_H, cells[0], align="L", dry_run=True, output="LINES"),
        )
        height = LINE_H * max(1, len(wrapped))
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        top = self.get_y()
        self.multi_cell(name_width, LINE_H, cells[0], align="L", new_x="RIGHT", new_y="TOP")
        for (_, width, align), text in zip(COLUMNS[1:], cells[1:], strict=True):
            self.cell(width, LINE_H, text, align=align)
        self.set_xy(MARGIN, top + height)


def render_invoice_pdf(invoice: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes (A4, DejaVu Sans embedded).

    Raises :class:`InvoiceFontMissing` when the font package is not installed. fpdf2 is pure
    Python and takes tens of milliseconds for a long invoice: async callers should run this in
    a worker thread.
    """
    words = _labels(invoice)
    exponent = invoice.currency_exponent

    def money(minor: int) -> str:
        return format_amount(minor, exponent)

    pdf = _InvoicePdf(invoice, words)
    pdf.alias_nb_pages()
    pdf.add_page()
    for line in invoice.lines:
        pdf.line_row(
            (
                line.name,
                line.quantity,
                money(line.unit_price),
                money(-line.discount) if line.discount else "",
                money(line.total),
            )
        )
    # The totals stay together on one page: a total alone at the top of a page, parted from
    # its tax breakdown, is what accountants send back.
    rows = 3 + bool(invoice.discount_total) + len(invoice.taxes) + len(invoice.payments)
    if pdf.get_y() + 3 + 6 * rows > pdf.page_break_trigger:
        pdf.add_page()
    else:
        pdf.ln(3)
    label_width = sum(width for _, width, _ in COLUMNS[:-1])

    def total_row(label: str, value: str, *, bold: bool = False) -> None:
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(label_width, 6, label, align="R")
        pdf.cell(COLUMNS[-1][1], 6, value, align="R", new_x="LMARGIN", new_y="NEXT")

    total_row(words["subtotal"], money(invoice.subtotal))
    if invoice.discount_total:
        total_row(words["discount"], money(-invoice.discount_total))
    for tax in invoice.taxes:
        total_row(f"{tax.name} {tax.rate}% ({words['base']} {money(tax.base)})", money(tax.amount))
    total_row(words["tax_total"], money(invoice.tax_total))
    total_row(f"{words['total']} {invoice.currency}", money(invoice.total), bold=True)
    for payment in invoice.payments:
        total_row(f"{words['paid']}: {payment.name}", money(payment.amount))
    if invoice.footer:
        pdf.ln(6)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, LINE_H, invoice.footer, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
