"""The B2B invoice as an A4 PDF: seller and buyer, every line, the tax breakdown per rate.

Set in DejaVu Sans (Debian's ``fonts-dejavu-core``), embedded, because the PDF standard fonts
have no č, ć or đ. The header (seller, buyer, number) repeats on every page and the line table
breaks across pages with its column titles repeated, so a long invoice stays readable when
printed. Amounts come from the stored sale: nothing is priced again here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from hub.domain.errors import DomainError
from hub.domain.sales.receipts import labels_for
from hub.domain.sales.schemas import SaleView
from hub.domain.store_settings import StoreSettings

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
EXTRA = {
    "bs": {
        "item": "Artikal",
        "qty": "Kol.",
        "price": "Cijena",
        "amount": "Iznos",
        "seller_h": "Prodavac",
        "page": "Strana",
        "copy": "KOPIJA",
        "paid": "Plaćeno",
        "rate": "Stopa",
    },
    "en": {
        "item": "Item",
        "qty": "Qty",
        "price": "Unit price",
        "amount": "Amount",
        "seller_h": "Seller",
        "page": "Page",
        "copy": "COPY",
        "paid": "Paid",
        "rate": "Rate",
    },
}
COLUMNS = (
    ("item", 88.0, "L"),
    ("qty", 20.0, "R"),
    ("price", 26.0, "R"),
    ("discount", 22.0, "R"),
    ("amount", 26.0, "R"),
)


class InvoiceFontMissing(DomainError):
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


class _Invoice(FPDF):
    """An A4 page with the invoice header on every page and a page number in the footer."""

    def __init__(self, sale: SaleView, settings: StoreSettings, words: dict[str, str], copy: bool) -> None:
        super().__init__(format="A4", unit="mm")
        self.sale, self.settings, self.words, self.copy = sale, settings, words, copy
        self.add_font("DejaVu", "", str(_font("DejaVuSans.ttf")))
        self.add_font("DejaVu", "B", str(_font("DejaVuSans-Bold.ttf")))
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(14, 14, 14)
        self.set_title(f"{words[sale.doc_type]} {sale.number_text}")

    def header(self) -> None:
        s, w, sale = self.settings, self.words, self.sale
        self.set_font("DejaVu", "B", 16)
        title = f"{w[sale.doc_type]} {sale.number_text}"
        if self.copy:
            title += f" - {w['copy']}"
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        if sale.training:
            self.set_font("DejaVu", "B", 11)
            self.cell(0, 6, w["training"], new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 9)
        when = datetime.fromisoformat(sale.created_at).strftime("%d.%m.%Y %H:%M")
        self.cell(0, 5, f"{w['date']}: {when}    {w['seller']}: {sale.seller}", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        top = self.get_y()
        seller = [
            s.business_name or s.store_name,
            s.address,
            f"{w['jib']}: {s.jib}" if s.jib else "",
            f"{w['pdv']}: {s.pdv_number}" if s.pdv_number else "",
            f"{w['phone']}: {s.phone}" if s.phone else "",
        ]
        buyer = sale.buyer
        buyer_lines = [buyer.company_name, buyer.address, f"{w['tax_id']}: {buyer.tax_id}"] if buyer else []
        for x, heading, lines in ((14.0, w["seller_h"], seller), (110.0, w["buyer"], buyer_lines)):
            self.set_xy(x, top)
            self.set_font("DejaVu", "B", 10)
            self.cell(86, 5, heading, new_x="LEFT", new_y="NEXT")
            self.set_font("DejaVu", "", 9)
            for text in (t for t in lines if t):
                self.cell(86, 5, text, new_x="LEFT", new_y="NEXT")
        self.set_xy(14, top + 32)
        self.table_head()

    def table_head(self) -> None:
        self.set_font("DejaVu", "B", 9)
        for key, width, align in COLUMNS:
            self.cell(width, 6, self.words.get(key, key), border="B", align=align)
        self.ln()
        self.set_font("DejaVu", "", 9)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"{self.words['page']} {self.page_no()}/{{nb}}", align="C")


def render_invoice_pdf(
    sale: SaleView, settings: StoreSettings, *, tender_names: dict[str, str], copy: bool = False
) -> bytes:
    """The invoice ``sale`` as PDF bytes."""
    language = settings.language.split("-")[0].lower()
    words = {**labels_for(settings.language), **EXTRA.get(language, EXTRA["en"])}

    money = settings.money_text

    pdf = _Invoice(sale, settings, words, copy)
    pdf.alias_nb_pages()
    pdf.add_page()
    for line in sale.lines:
        name = line.name + (" GRATIS" if line.gratis_quantity not in ("0", "") else "")
        values = (
            name,
            line.quantity,
            money(line.unit_price),
            money(-line.discount) if line.discount else "",
            money(line.net),
        )
        for (_, width, align), text in zip(COLUMNS, values, strict=True):
            pdf.cell(width, 5.5, text[:60], align=align)
        pdf.ln()
    pdf.ln(3)
    label_width = sum(width for _, width, _ in COLUMNS[:-1])

    def total_row(label: str, value: str, bold: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", 10 if bold else 9)
        pdf.cell(label_width, 6, label, align="R")
        pdf.cell(COLUMNS[-1][1], 6, value, align="R", new_x="LMARGIN", new_y="NEXT")

    total_row(words["subtotal"], money(sale.subtotal))
    if sale.discount_total:
        total_row(words["discount"], money(-sale.discount_total))
    for tax in sale.taxes:
        total_row(
            f"{words['tax']} {tax.name} {tax.rate}% ({words['base']} {money(tax.base)})", money(tax.amount)
        )
    total_row(f"{words['total']} {settings.currency_symbol or sale.currency}", money(sale.total), bold=True)
    for payment in sale.payments:
        total_row(
            f"{words['paid']}: {tender_names.get(payment.tender_id, payment.tender_id)}",
            money(payment.amount),
        )
    if settings.receipt_footer:
        pdf.ln(6)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 5, settings.receipt_footer)
    return bytes(pdf.output())
