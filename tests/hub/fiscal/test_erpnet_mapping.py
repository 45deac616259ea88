"""ErpNet.FP bodies mapped to the hub's fiscal receipts: exact money, ErpNet's codes, no guessing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.config import ConfigError, parse_config
from hub.domain.fiscal.erpnet import (
    ErpNetError,
    ReceiptBody,
    ReversalBody,
    TransferBody,
    cash_request,
    check_task_id,
    decode,
    receipt_request,
    status_answer,
)
from hub.domain.fiscal.erpnet_tasks import answer_of
from protocols.fiscal.receipt import FiscalReceipt

AT = "2024-05-17T11:55:18.000Z"


def body(*items: dict[str, Any], **fields: Any) -> bytes:
    sale = {"text": "Tea", "quantity": 1, "unitPrice": 1, "taxGroup": 1}
    return msgspec.json.encode({"items": list(items) or [sale], **fields})


def build(raw: bytes, exponent: int = 2, reversal: bool = False) -> FiscalReceipt:
    parsed = decode(raw, ReversalBody if reversal else ReceiptBody)
    return receipt_request(parsed, request_id="r1", exponent=exponent, rates={"B": "20"}, at=AT)


def refused(raw: bytes, code: str, exponent: int = 2, reversal: bool = False) -> str:
    with pytest.raises(ErpNetError) as caught:
        build(raw, exponent, reversal)
    assert caught.value.code == code, caught.value
    return str(caught.value)


def test_items_become_minor_units_with_half_up_discounts() -> None:
    receipt = build(body(
        {"text": " Milk  1l ", "quantity": 3, "unitPrice": 0.35, "taxGroup": 2,
         "priceModifierType": "discount-percent", "priceModifierValue": 10},
        {"text": "Bread", "unitPrice": 2, "taxGroup": 1, "priceModifierType": "surcharge-amount",
         "priceModifierValue": 0.5},
        {"text": "Jam", "quantity": 0.5, "unitPrice": 3.01, "taxGroup": 1,
         "priceModifierType": "surcharge-percent", "priceModifierValue": 5},
        {"type": "comment", "text": "Thanks"}, {"type": "footer-comment", "text": "Bye"},
    ))  # fmt: skip
    milk, bread, jam = receipt.items
    # 3 x 0.35 = 1.05; 10 % = 0.105 -> 0.11 (half up), as the device rounds it.
    assert (milk.name, milk.quantity, milk.unit_price, milk.discount, milk.total) == (
        "Milk 1l",
        "3",
        35,
        11,
        94,
    )
    assert (milk.tax_group, milk.tax_rate) == ("B", "20")
    assert (bread.quantity, bread.discount, bread.total, bread.tax_rate) == ("1", -50, 250, "0")
    # 0.5 x 3.01 = 1.505 -> 1.51; +5 % = 0.0755 -> 0.08.
    assert (jam.quantity, jam.discount, jam.total) == ("0.5", -8, 159)
    assert receipt.total == 94 + 250 + 159 and receipt.comments == ["Thanks", "Bye"]
    assert [(p.type, p.amount) for p in receipt.payments] == [("cash", receipt.total)]  # no payments: cash
    assert (receipt.kind, receipt.cashier, receipt.number, receipt.request_id) == (
        "sale",
        "erpnet",
        "r1",
        "r1",
    )


def test_amounts_with_more_decimals_than_the_currency_are_refused() -> None:
    assert "more than 2 decimal" in refused(body({"text": "A", "unitPrice": 1.005, "taxGroup": 1}), "E403")
    assert (
        build(body({"text": "A", "unitPrice": 1.005, "taxGroup": 1}), exponent=3).items[0].unit_price == 1005
    )
    refused(body({"text": "A", "unitPrice": 1, "taxGroup": 1, "quantity": 1.0001}), "E407")
    refused(body({"text": "A", "unitPrice": 1, "taxGroup": 1, "priceModifierType": "discount-amount",
                  "priceModifierValue": 0.001}), "E403")  # fmt: skip
    refused(body({"text": "A", "unitPrice": 1, "taxGroup": 1, "priceModifierType": "discount-amount",
                  "priceModifierValue": 2}), "E407")  # fmt: skip
    refused(body({"text": "A", "unitPrice": 10_000_000, "taxGroup": 1}), "E403")


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"text": "", "unitPrice": 1, "taxGroup": 1}, "E407"),
        ({"text": "A", "unitPrice": 1}, "E411"),
        ({"text": "A", "taxGroup": 1}, "E407"),
        ({"text": "A", "unitPrice": 0, "taxGroup": 1}, "E407"),
        ({"text": "A", "unitPrice": 1, "taxGroup": 1, "quantity": 0}, "E407"),
        ({"text": "A", "unitPrice": 1, "taxGroup": 1, "department": 2}, "E412"),
        ({"text": "A", "unitPrice": "NaN", "taxGroup": 1}, "E407"),
        (
            {
                "text": "A",
                "unitPrice": 1,
                "taxGroup": 1,
                "priceModifierType": "surcharge-percent",
                "priceModifierValue": "Infinity",
            },
            "E407",
        ),
        ({"type": "surcharge-amount", "amount": 1}, "E412"),
        ({"type": "comment", "text": "only a comment"}, "E410"),
    ],
)
def test_bad_items(item: dict[str, Any], code: str) -> None:
    refused(body(item), code)


def test_payments() -> None:
    sale = {"text": "A", "unitPrice": 10, "taxGroup": 1}
    receipt = build(body(sale, payments=[{"paymentType": "card", "amount": 4}, {"paymentType": "coupons"},
                                         {"paymentType": "change", "amount": -1}]))  # fmt: skip
    assert [(p.type, p.amount) for p in receipt.payments] == [("card", 400), ("voucher", 600)]
    assert build(body(sale, payments=[{"amount": 20}])).payments[0].amount == 2000  # cash by default
    refused(body(sale, payments=[{"paymentType": "cash", "amount": 9.99}]), "E406")
    assert "not supported" in refused(body(sale, payments=[{"paymentType": "bank", "amount": 10}]), "E406")
    refused(body(sale, payments=[{"paymentType": "cash", "amount": 10}, {"paymentType": "card"}]), "E406")
    refused(body(sale, payments=[{"paymentType": "bitcoin", "amount": 10}]), "E406")


def test_a_reversal_names_the_receipt_it_reverses() -> None:
    sale = {"text": "A", "unitPrice": 10, "taxGroup": 1}
    reversal = {"uniqueSaleNumber": "DT123456-0001-0000001", "receiptNumber": "0000085",
                "receiptDateTime": "2024-05-17T13:55:18", "fiscalMemorySerialNumber": "02123456",
                "reason": "taxbase-reduction"}  # fmt: skip
    receipt = build(body(sale, **reversal), reversal=True)
    assert (receipt.kind, receipt.refund_of_number, receipt.refund_of_at) == (
        "refund",
        "0000085",
        "2024-05-17T13:55:18",
    )
    assert (
        receipt.refund_reason == "tax_base_reduction"
        and receipt.unique_sale_number == "DT123456-0001-0000001"
    )
    # A time with a zone is the device's wall time in the hub's zone.
    zoned = build(body(sale, **{**reversal, "receiptDateTime": "2024-05-17T11:55:18Z"}), reversal=True)
    local = dt.datetime(2024, 5, 17, 11, 55, 18, tzinfo=dt.UTC).astimezone().replace(tzinfo=None)
    assert zoned.refund_of_at == local.isoformat()
    assert build(
        body(sale, **{k: v for k, v in reversal.items() if k != "reason"}), reversal=True
    ).refund_reason == ("operator_error")  # ErpNet.FP's default reason
    refused(body(sale, **{**reversal, "payments": [{"amount": 11}]}), "E406", reversal=True)  # no change
    refused(body(sale, **{k: v for k, v in reversal.items() if k != "receiptNumber"}), "E401", reversal=True)


_NUMBERS = st.one_of(
    st.integers(-10**12, 10**12), st.decimals(allow_nan=False, places=4, min_value=-10**6, max_value=10**6),
    st.sampled_from(["NaN", "sNaN", "-Infinity", "1e999", "0.1", "x", None, True]),
)  # fmt: skip
_ITEMS = st.fixed_dictionaries(
    {"text": st.text(max_size=8), "unitPrice": _NUMBERS},
    optional={"quantity": _NUMBERS, "taxGroup": st.integers(-1, 10), "priceModifierValue": _NUMBERS,
              "type": st.sampled_from(["sale", "comment", "footer-comment", "surcharge-amount", "bogus"]),
              "priceModifierType": st.sampled_from(["none", "discount-percent", "discount-amount",
                                                    "surcharge-percent", "surcharge-amount"])},
)  # fmt: skip
_PAYMENTS = st.fixed_dictionaries(
    {}, optional={"amount": _NUMBERS, "paymentType": st.sampled_from(["cash", "card", "bank", "change", "?"])}
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_ITEMS, max_size=4), payments=st.lists(_PAYMENTS, max_size=3))
def test_any_body_is_a_valid_receipt_or_an_erpnet_refusal(items: list[Any], payments: list[Any]) -> None:
    raw = msgspec.json.encode({"items": items, "payments": payments})
    try:
        receipt = build(raw)
    except ErpNetError as exc:
        # Either outcome is right; any other exception (InvalidOperation ...) fails the test.
        assert exc.code.startswith("E") and exc.status in (400, 422)  # noqa: PT017
        return
    # What gets queued satisfies the receipt's own constraints and adds up to the minor unit.
    msgspec.convert(msgspec.to_builtins(receipt), FiscalReceipt)
    assert receipt.total == sum(item.total for item in receipt.items) > 0
    assert all(item.total >= 0 for item in receipt.items)
    assert sum(payment.amount for payment in receipt.payments) >= receipt.total


def test_decoding_errors_carry_erpnet_codes() -> None:
    with pytest.raises(ErpNetError) as caught:
        decode(b"{", ReceiptBody)
    assert (caught.value.code, caught.value.status) == ("E401", 400)
    for raw, code in [
        (b"{}", "E410"),
        (b'{"items": []}', "E410"),
        (b'{"items": [{"text": "A", "unitPrice": 1, "taxGroup": 0}]}', "E411"),
        (b'{"items": [{"text": "A", "unitPrice": true, "taxGroup": 1}]}', "E407"),
        (b'{"items": [{"text": "A"}], "payments": [{"paymentType": 3}]}', "E406"),
        (b'{"items": [{"text": "A"}], "operator": "123456789"}', "E401"),
    ]:
        with pytest.raises(ErpNetError) as caught:
            decode(raw, ReceiptBody)
        assert (caught.value.code, caught.value.status) == (code, 422), raw
    # Fields ErpNet.FP clients add that the hub does not use are ignored, as ErpNet.FP does.
    assert decode(b'{"items": [{"text": "A", "itemCode": 5, "vendorNote": 1}], "extra": 1}', ReceiptBody)


def test_cash_and_task_ids() -> None:
    assert cash_request(decode(b'{"amount": 12.34}', TransferBody), exponent=2, withdraw=True) == {
        "amount": -1234
    }
    assert cash_request(decode(b'{"amount": 5}', TransferBody), exponent=2, withdraw=False) == {"amount": 500}
    for amount in (b"0", b"-1", b"0.001"):
        with pytest.raises(ErpNetError):
            cash_request(decode(b'{"amount": ' + amount + b"}", TransferBody), exponent=2, withdraw=False)
    assert check_task_id("QHC_H_7u8EaAjTB7WPEP3g") == "QHC_H_7u8EaAjTB7WPEP3g"
    for bad in ("", "x" * 61, "tab\there"):
        with pytest.raises(ErpNetError) as caught:
            check_task_id(bad)
        assert (caught.value.code, caught.value.status) == ("E110", 400)


def test_status_answers() -> None:
    assert msgspec.to_builtins(status_answer("online", (), "")) == {"ok": True, "messages": []}
    warned = status_answer("online", ("paper_near_end", "fiscal_memory_nearly_full"), "")
    assert warned.ok and [(m.type, m.code) for m in warned.messages] == [
        ("warning", "W301"),
        ("warning", "W201"),
    ]
    offline = status_answer("offline", (), "connection refused")
    assert not offline.ok and offline.messages[0].code == "E101" and "refused" in offline.messages[0].text
    paper = status_answer("error", ("paper_out",), "out of paper")
    assert not paper.ok and [m.code for m in paper.messages] == ["E301"]
    assert status_answer("error", (), "stuck").messages[0].code == "E199"


def test_answers_of_finished_tasks() -> None:
    receipt = build(body({"text": "A", "unitPrice": 30.9, "taxGroup": 1}))
    row = {"state": "fiscalised", "kind": "sale", "request": msgspec.json.encode(receipt).decode(),
           "result": '{"fiscalised_at": "2024-05-17T11:55:18+00:00"}', "fiscal_number": "85",
           "device_serial": "02123456", "error": None, "error_code": None}  # fmt: skip
    answer = answer_of(row)
    assert (answer.ok, answer.receipt_number, answer.receipt_amount) == (True, "85", Decimal("30.90"))
    local = dt.datetime(2024, 5, 17, 11, 55, 18, tzinfo=dt.UTC).astimezone().replace(tzinfo=None)
    assert answer.receipt_date_time == local.isoformat() and answer.fiscal_memory_serial_number == "02123456"
    encoded = msgspec.json.Encoder(decimal_format="number").encode(answer)
    assert b'"receiptAmount":30.90' in encoded and b"code" not in encoded
    failed = answer_of({**row, "state": "failed", "error": "fp: out of paper", "error_code": "paper_out"})
    assert msgspec.to_builtins(failed) == {
        "ok": False, "messages": [{"type": "error", "code": "E301", "text": "fp: out of paper"}],
    }  # fmt: skip
    assert (
        answer_of({**row, "state": "failed", "error": "refused", "error_code": "declined"}).messages[0].code
        == "E999"
    )
    z = answer_of({**row, "kind": "z_report", "fiscal_number": "7"})
    assert z.ok and z.messages[0].text == "Z report 7" and z.receipt_number is None


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"enabled": True, "host": "0.0.0.0"}, "erpnet.token"),
        ({"enabled": True, "host": "192.168.1.20", "token": "short"}, "erpnet.token"),
        ({"enabled": True, "port": 8420}, "erpnet.port"),
        ({"enabled": True, "host": "127.0.0.1"}, None),
        ({"enabled": True, "host": "::1"}, None),
        ({"enabled": True, "host": "192.168.1.20", "token": "a" * 16}, None),
        ({"enabled": False, "host": "0.0.0.0"}, None),
    ],
)
def test_erpnet_config(section: dict[str, Any], error: str | None) -> None:
    data = {"api": {"port": 8420}, "erpnet": section}
    if error is None:
        assert parse_config(data, env={}).erpnet.enabled == section["enabled"]
        return
    with pytest.raises(ConfigError, match=error):
        parse_config(data, env={})
