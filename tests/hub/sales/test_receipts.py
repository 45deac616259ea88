"""The receipt layout, rendered to ESC/POS and read back by the simulator's paper model."""

from __future__ import annotations

import msgspec
import pytest

from hub.domain.sales.receipts import document_as_text, receipt_document
from hub.domain.sales.schemas import Buyer, PaymentView, SaleLineView, SaleView, TaxView
from hub.domain.store_settings import StoreSettings
from protocols.escpos import render
from smartpos_sim.printer.paper import render as paper_lines

SETTINGS = StoreSettings(
    store_name="Baščaršija 1",
    business_name="Ćevabdžinica Željo d.o.o.",
    address="Kundurdžiluk 17, Sarajevo",
    jib="4200000000001",
    pdv_number="200000000001",
    phone="033 123 456",
    receipt_footer="Hvala na posjeti!\nDobro došli ponovo",
)


def line(
    line_no: int, name: str, quantity: str, unit: int, gross: int, discount: int = 0, gratis: str = "0"
) -> SaleLineView:
    return SaleLineView(
        id=line_no,
        line_no=line_no,
        product_id=line_no,
        variant_id=None,
        name=name,
        quantity=quantity,
        unit_price=unit,
        gratis_quantity=gratis,
        gross=gross,
        discount=discount,
        net=gross - discount,
        total=gross - discount,
        note="bez luka" if line_no == 1 else "",
        refund_of_line=None,
        refunded_quantity="0",
    )


def sale(**changes: object) -> SaleView:
    base = SaleView(
        id=7,
        uuid="00000000-0000-4000-8000-000000000007",
        doc_type="receipt",
        number=42,
        number_text="T1-R-000042",
        terminal_id="T1",
        training=False,
        customer_id=None,
        buyer=None,
        seller="Amra",
        refund_of=None,
        reason=None,
        approved_by=None,
        currency="BAM",
        # 2 x 11.70 (17 % PDV inclusive) + one gratis sok: total 23.40, base 20.00, PDV 3.40.
        subtotal=2340,
        discount_total=0,
        tax_total=340,
        total=2340,
        rounding=0,
        paid_total=2340,
        change_total=660,
        balance_due=0,
        created_at="2026-11-22T12:30:00+00:00",
        lines=[line(1, "Ćevapi 10 kom", "2", 1170, 2340), line(2, "Sok od šljive", "1", 0, 0, gratis="1")],
        taxes=[TaxView(rate_id=1, name="PDV", rate="17", inclusive=True, base=2000, amount=340)],
        payments=[
            PaymentView(
                tender_id="cash",
                tender_type="cash",
                amount=2340,
                tendered=3000,
                change=660,
                rounding=0,
                reference=None,
                comment=None,
            )
        ],
    )
    return SaleView(**{**{f: getattr(base, f) for f in base.__struct_fields__}, **changes})


def printed(view: SaleView, settings: StoreSettings = SETTINGS) -> list[str]:
    document = receipt_document(view, settings, tender_names={"cash": "Gotovina"})
    return paper_lines(render(document), width_chars=document.width)


def test_receipt_content_as_the_help_center_lists_it() -> None:
    paper = printed(sale())
    text = "\n".join(paper)
    for expected in (
        "Ćevabdžinica Željo d.o.o.",
        "Kundurdžiluk 17, Sarajevo",
        "JIB: 4200000000001",
        "PDV broj: 200000000001",
        "FISKALNI RAČUN",
        "T1-R-000042",
        "22.11.2026",
        "Prodavač",
        "Amra",
        "Ćevapi 10 kom",
        "2 x 11.70",
        "Sok od šljive GRATIS",
        "* bez luka",
        "Međuzbir",
        "UKUPNO 23.40 KM",
        "PDV 17% osnovica 20.00",
        "Gotovina",
        "30.00",
        "Povrat (kusur)",
        "6.60",
        "Hvala na posjeti!",
        "[QR] T1-R-000042",
        "--- CUT ---",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    # The tax line shows the amount on the right edge of an 80 mm (48 character) line.
    tax_line = next(row for row in paper if row.startswith("Porez PDV 17%"))
    assert tax_line.endswith("3.40") and len(tax_line) == 48


def test_58mm_paper_keeps_every_line_within_32_characters() -> None:
    narrow = StoreSettings(
        **{**{f: getattr(SETTINGS, f) for f in SETTINGS.__struct_fields__}, "paper_width_mm": 58}
    )
    paper = printed(sale(), narrow)
    assert max(len(row) for row in paper if not row.startswith("[")) <= 32
    assert any("UKUPNO 23.40 KM" in row for row in paper)


def test_training_b2b_and_english() -> None:
    english = StoreSettings(language="en", store_name="Shop")
    paper = "\n".join(
        printed(
            sale(
                training=True,
                doc_type="invoice",
                number_text="TR-T1-F-000001",
                buyer=Buyer(company_name="Firma d.o.o.", tax_id="4200000000002", address="Titova 1"),
            ),
            english,
        )
    )
    assert paper.count("*** TRAINING - NOT A RECEIPT ***") == 2
    assert "INVOICE" in paper and "Buyer: Firma d.o.o." in paper and "Tax ID: 4200000000002" in paper


def test_email_text_matches_the_paper_layout() -> None:
    document = receipt_document(sale(), SETTINGS, tender_names={"cash": "Gotovina"})
    text = document_as_text(document)
    assert "UKUPNO 23.40 KM" in text and "T1-R-000042" in text
    assert all(len(row) <= 48 for row in text.splitlines())


def test_the_stores_number_format_and_header_lines() -> None:
    settings = msgspec.structs.replace(
        SETTINGS, decimal_separator=",", thousands_separator=".", receipt_header="Dobrodošli\nWiFi: gost"
    )
    text = "\n".join(printed(sale(total=123456), settings))
    for expected in ("2 x 11,70", "UKUPNO 1.234,56 KM", "PDV 17% osnovica 20,00", "Dobrodošli", "WiFi: gost"):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    # The header lines come under the store's details, before the document's title.
    assert text.index("PDV broj: 200000000001") < text.index("WiFi: gost") < text.index("FISKALNI RAČUN")
    assert "23.40" not in text and "11.70" not in text


def test_amounts_in_every_regional_format_and_clashing_separators_refused() -> None:
    def money(minor: int, **fields: object) -> str:
        return msgspec.convert({"currency_exponent": 2, **fields}, StoreSettings).money_text(minor)

    assert money(123456) == "1234.56"  # the default: no grouping
    assert money(-123456789, decimal_separator=",", thousands_separator=".") == "-1.234.567,89"
    assert money(100000000, thousands_separator="'") == "1'000'000.00"
    assert money(5, decimal_separator=",", thousands_separator=" ") == "0,05"
    assert money(123456, currency_exponent=0, thousands_separator=" ") == "123 456"
    with pytest.raises(msgspec.ValidationError, match="must differ"):
        msgspec.convert({"decimal_separator": ",", "thousands_separator": ","}, StoreSettings)
