"""The TaxCore adapter against ``smartpos-sim sdc`` running as a real process on a free port.

The simulator knows Serbia's labels (Ђ 20 %, Е 10 %, Г 0 %, А 0 %); the adapter maps our tax
groups A and B to Ђ and Е, so every signed receipt also proves the label mapping.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from drivers.errors import Declined, DeviceOffline, ProtocolError
from drivers.signing.taxcore import TaxCoreAdapter, TaxCoreOptions
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt
from tests.support.procs import free_port
from tests.support.signing_sims import SdcSim

ANSWER_FIELDS = [
    "requestedBy",
    "signedBy",
    "sdcDateTime",
    "invoiceCounter",
    "invoiceCounterExtension",
    "invoiceNumber",
    "taxItems",
    "verificationUrl",
    "verificationQRCode",
    "journal",
    "messages",
    "signature",
    "encryptedInternalData",
    "totalCounter",
    "transactionTypeCounter",
    "totalAmount",
    "taxGroupRevision",
    "businessName",
    "tin",
    "locationName",
    "address",
    "district",
    "mrc",
]


NUMBERS = msgspec.json.Encoder(decimal_format="number")


@pytest.fixture
def sdc(tmp_path: Path) -> Iterator[SdcSim]:
    sim = SdcSim(tmp_path).start()
    yield sim
    sim.stop()


def options(sdc: SdcSim, **overrides: Any) -> TaxCoreOptions:
    values: dict[str, Any] = {
        "url": sdc.url,
        "tax_labels": {"A": "Ђ", "B": "Е"},
        "timeout": 2.0,
        "attempts": 3,
        "retry_delay": 0.05,
    }
    return msgspec.convert(values | overrides, TaxCoreOptions)


@pytest.fixture
async def adapter(sdc: SdcSim) -> AsyncIterator[TaxCoreAdapter]:
    signer = TaxCoreAdapter(options(sdc))
    yield signer
    await signer.close()


def receipt(request_id: str = "sale-1", **changes: Any) -> FiscalReceipt:
    """Bread at 20 % and discounted milk at 10 %, paid 3.70 cash and 2.00 by card."""
    values: dict[str, Any] = {
        "request_id": request_id,
        "kind": "sale",
        "number": "T1-R-000001",
        "at": "2026-05-04T10:15:00+02:00",
        "cashier": "Ana",
        "items": [
            FiscalItem(name="Hleb", quantity="2", unit_price=150, total=300, tax_group="A", tax_rate="20"),
            FiscalItem(
                name="Mleko 1l",
                quantity="1.500",
                unit_price=200,
                total=270,
                discount=30,
                tax_group="B",
                tax_rate="10",
            ),
        ],
        "payments": [FiscalPayment(type="cash", amount=370), FiscalPayment(type="card", amount=200)],
        "total": 570,
    }
    return FiscalReceipt(**(values | changes))


def test_request_body_has_exact_amounts_labels_and_tenders() -> None:
    """The body as JSON with decimals as numbers, as ``sign`` sends it (the simulator refuses
    amounts sent as strings, so the process tests below prove the wire format too)."""
    signer = TaxCoreAdapter(TaxCoreOptions(url="http://127.0.0.1:1", tax_labels={"A": "Ђ", "B": "Е"}))
    raw = NUMBERS.encode(signer.invoice_request(receipt()))
    body = json.loads(raw, parse_float=Decimal)
    assert body["invoiceType"] == "Normal"
    assert body["transactionType"] == "Sale"
    assert body["cashier"] == "Ana"
    assert body["dateAndTimeOfIssue"] == "2026-05-04T10:15:00+02:00"
    assert body["items"][0] == {
        "name": "Hleb",
        "labels": ["Ђ"],
        "unitPrice": Decimal("1.50"),
        "quantity": 2,
        "totalAmount": Decimal("3.00"),
    }
    # The discounted line carries its price after the discount, so price x quantity = total.
    assert body["items"][1]["unitPrice"] == Decimal("1.80")
    assert body["items"][1]["quantity"] == Decimal("1.500")
    assert body["payment"] == [
        {"amount": Decimal("3.70"), "paymentType": "Cash"},
        {"amount": Decimal("2.00"), "paymentType": "Card"},
    ]
    assert b'"totalAmount":2.70' in raw  # two decimals as a JSON number, not a string or float


async def test_sale_is_signed_and_every_answer_field_kept(sdc: SdcSim, adapter: TaxCoreAdapter) -> None:
    result = await adapter.sign(receipt())
    details: dict[str, Any] = result.details
    assert set(ANSWER_FIELDS) <= set(details)
    assert result.fiscal_number == details["invoiceNumber"] == "SIMSDC01-SIMSDC01-1"
    assert result.fiscalised_at == details["sdcDateTime"]
    assert result.device_serial == details["signedBy"] == "SIMSDC01"
    assert result.qr_data == details["verificationUrl"]
    assert result.qr_data.startswith(f"{sdc.url}/v/?vl=")
    assert base64.b64decode(details["verificationQRCode"])[:4] == b"GIF8"
    assert details["invoiceCounter"] == "1/1ПП"
    assert details["totalAmount"] == Decimal("5.70")
    # 3.00 gross at 20 % holds 0.50 of tax; 2.70 at 10 % holds 0.2454... -> 0.25.
    assert {tax["label"]: tax["amount"] for tax in details["taxItems"]} == {
        "Ђ": Decimal("0.50"),
        "Е": Decimal("0.25"),
    }
    assert result.print_lines == details["journal"].splitlines()
    assert result.print_lines[0] == "============ ФИСКАЛНИ РАЧУН ============"
    journal = "\n".join(result.print_lines)
    assert "Mleko 1l (Е)" in journal
    assert "SIMSDC01-SIMSDC01-1" in journal
    assert [entry["requestId"] for entry in sdc.invoices()] == ["sale-1"]


async def test_refund_names_the_sale_and_counts_apart(sdc: SdcSim, adapter: TaxCoreAdapter) -> None:
    sale = await adapter.sign(receipt())
    refund = await adapter.sign(
        receipt(
            "refund-1",
            kind="refund",
            refund_of_number=sale.fiscal_number,
            refund_of_at=sale.fiscalised_at,
        )
    )
    assert refund.details["invoiceCounter"] == "1/2ПР"
    assert refund.details["transactionTypeCounter"] == 1
    assert refund.details["totalCounter"] == 2
    assert set(ANSWER_FIELDS) <= set(refund.details)
    journal = "\n".join(refund.print_lines)
    assert "ПРОМЕТ РЕФУНДАЦИЈА" in journal
    assert sale.fiscal_number in journal
    assert [entry["transactionType"] for entry in sdc.invoices()] == ["Sale", "Refund"]


async def test_training_receipt_is_not_fiscal(adapter: TaxCoreAdapter) -> None:
    result = await adapter.sign(receipt("training-1", training=True))
    assert result.details["invoiceCounter"] == "1/1ОП"
    assert "ОВО НИЈЕ ФИСКАЛНИ РАЧУН" in result.print_lines[0]


async def test_answer_lost_after_signing_returns_the_same_invoice(
    sdc: SdcSim, adapter: TaxCoreAdapter
) -> None:
    sdc.faults(drop=1)
    first = await adapter.sign(receipt("lost-1"))
    assert len(sdc.invoices("lost-1")) == 1
    # As after a restart of the hub: a new adapter, the same request id.
    again = TaxCoreAdapter(options(sdc))
    try:
        second = await again.sign(receipt("lost-1"))
    finally:
        await again.close()
    assert second == first
    assert len(sdc.invoices("lost-1")) == 1
    assert len(sdc.invoices()) == 1


async def test_answer_too_slow_is_retried_and_signed_once(sdc: SdcSim) -> None:
    sdc.faults(slow=1, slow_seconds=1.5)
    signer = TaxCoreAdapter(options(sdc, timeout=0.4))
    try:
        result = await signer.sign(receipt("slow-1"))
    finally:
        await signer.close()
    assert result.fiscal_number == "SIMSDC01-SIMSDC01-1"
    assert len(sdc.invoices()) == 1


async def test_server_error_once_is_retried_and_signed_once(sdc: SdcSim, adapter: TaxCoreAdapter) -> None:
    sdc.faults(fail=1)
    result = await adapter.sign(receipt("fail-1"))
    assert result.details["totalCounter"] == 1
    assert len(sdc.invoices("fail-1")) == 1
    assert sdc.faults()["fail"] == 0


async def test_server_errors_past_the_attempts_leave_the_receipt_for_later(
    sdc: SdcSim, adapter: TaxCoreAdapter
) -> None:
    sdc.faults(fail=3)
    with pytest.raises(DeviceOffline, match="HTTP 500 after 3 attempts") as caught:
        await adapter.sign(receipt("later-1"))
    assert caught.value.sent
    assert sdc.invoices() == []
    result = await adapter.sign(receipt("later-1"))
    assert result.details["totalCounter"] == 1


async def test_lookup_finds_the_lost_answer_without_posting_again(sdc: SdcSim) -> None:
    sdc.faults(drop=2)
    signer = TaxCoreAdapter(options(sdc, lookup_path="/api/v3/invoices/{request_id}"))
    try:
        result = await signer.sign(receipt("lookup-1"))
    finally:
        await signer.close()
    assert result.fiscal_number == "SIMSDC01-SIMSDC01-1"
    assert sdc.faults()["drop"] == 1  # the second drop was never used: no second POST
    assert len(sdc.invoices()) == 1


async def test_unknown_tax_label_is_declined_with_the_sdc_reason(
    sdc: SdcSim, adapter: TaxCoreAdapter
) -> None:
    bad = FiscalItem(name="Sok", quantity="1", unit_price=100, total=100, tax_group="C", tax_rate="20")
    with pytest.raises(Declined, match=r"items\[0\]\.labels: 2310 invalid tax labels") as caught:
        await adapter.sign(receipt("bad-1", items=[bad], payments=[FiscalPayment(type="cash", amount=100)]))
    assert caught.value.sent
    assert sdc.invoices() == []


async def test_refund_without_the_sale_it_refunds_is_declined(sdc: SdcSim, adapter: TaxCoreAdapter) -> None:
    with pytest.raises(Declined, match="referentDocumentNumber: 2800 field required"):
        await adapter.sign(receipt("refund-2", kind="refund"))
    assert sdc.invoices() == []


async def test_request_id_answered_with_another_invoice_is_a_protocol_error(adapter: TaxCoreAdapter) -> None:
    await adapter.sign(receipt("same-id"))
    other = [FiscalItem(name="Hleb", quantity="1", unit_price=150, total=150, tax_group="A", tax_rate="20")]
    with pytest.raises(ProtocolError, match="answered RequestId same-id with invoice"):
        await adapter.sign(
            receipt("same-id", items=other, payments=[FiscalPayment(type="cash", amount=150)], total=150)
        )


async def test_unreachable_sdc_is_offline_and_nothing_was_sent() -> None:
    signer = TaxCoreAdapter(TaxCoreOptions(url=f"http://127.0.0.1:{free_port()}", retry_delay=0.01))
    try:
        with pytest.raises(DeviceOffline, match="cannot connect") as caught:
            await signer.sign(receipt())
    finally:
        await signer.close()
    assert not caught.value.sent
