"""The B2B invoice PDF, read back with pypdf: seller, buyer, lines, tax per rate, total, pages."""

from __future__ import annotations

import io

from pypdf import PdfReader

from hub.domain.sales.invoice_pdf import render_invoice_pdf
from hub.domain.sales.schemas import Buyer
from tests.hub.sales.test_receipts import SETTINGS, line, sale

BUYER = Buyer(
    company_name="Šipad Đurđevik d.o.o.", tax_id="4209999990007", address="Zmaja od Bosne 7, Sarajevo"
)


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_invoice_carries_seller_buyer_lines_taxes_and_total() -> None:
    invoice = sale(doc_type="invoice", number_text="T1-F-000003", buyer=BUYER)
    pdf = render_invoice_pdf(invoice, SETTINGS, tender_names={"cash": "Gotovina"})
    assert pdf.startswith(b"%PDF-")
    (text,) = pages(pdf)
    for expected in (
        "FAKTURA T1-F-000003",
        "Ćevabdžinica Željo d.o.o.",
        "JIB: 4200000000001",
        "Šipad Đurđevik d.o.o.",
        "4209999990007",
        "Ćevapi 10 kom",
        "Sok od šljive GRATIS",
        "PDV 17% (osnovica 20.00)",
        "3.40",
        "UKUPNO KM",
        "23.40",
        "Gotovina",
        "Hvala na posjeti!",
    ):
        assert expected in text, expected


def test_a_long_invoice_breaks_pages_and_repeats_the_header() -> None:
    lines = [line(i, f"Artikal {i}", "1", 100, 100) for i in range(1, 81)]
    invoice = sale(doc_type="invoice", number_text="T1-F-000004", buyer=BUYER, lines=lines)
    texts = pages(render_invoice_pdf(invoice, SETTINGS, tender_names={}))
    assert len(texts) >= 2
    assert all("FAKTURA T1-F-000004" in t and "Šipad Đurđevik d.o.o." in t and "Artikal" in t for t in texts)
    assert "Artikal 80" in texts[-1] and f"Strana {len(texts)}/{len(texts)}" in texts[-1]
    assert all(f"Artikal {i}" in "".join(texts) for i in range(1, 81))


def test_training_invoice_says_so() -> None:
    text = pages(
        render_invoice_pdf(sale(doc_type="invoice", buyer=BUYER, training=True), SETTINGS, tender_names={})
    )[0]
    assert "OBUKA" in text
