"""nexo (Adyen Terminal API) messages: the reference sheet's request shape, responses with
Success/Failure/Partial and ErrorCondition, exact money, and typed errors for bad JSON."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import TypedDict

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.payments import nexo
from protocols.payments import nexo_bodies as nb
from protocols.payments.errors import NexoError


class Ids(TypedDict):
    sale_id: str
    poi_id: str
    service: str


IDS: Ids = {"sale_id": "POS1", "poi_id": "V400m-346403161", "service": "0000000001"}


def test_payment_request_has_the_reference_sheet_shape() -> None:
    request = nexo.payment_request(
        **IDS, transaction_id="sale-42", timestamp="2024-05-01T10:00:00+00:00", amount=1099, currency="EUR"
    )
    doc = json.loads(nexo.encode(request))
    assert doc == {
        "SaleToPOIRequest": {
            "MessageHeader": {
                "ProtocolVersion": "3.0",
                "MessageClass": "Service",
                "MessageCategory": "Payment",
                "MessageType": "Request",
                "SaleID": "POS1",
                "ServiceID": "0000000001",
                "POIID": "V400m-346403161",
            },
            "PaymentRequest": {
                "SaleData": {
                    "SaleTransactionID": {
                        "TransactionID": "sale-42",
                        "TimeStamp": "2024-05-01T10:00:00+00:00",
                    }
                },
                "PaymentTransaction": {"AmountsReq": {"Currency": "EUR", "RequestedAmount": 10.99}},
            },
        }
    }
    # The amount is an exact JSON number, not a float's rounding of one.
    assert b'"RequestedAmount":10.99' in nexo.encode(request)
    assert nexo.decode_request(nexo.encode(request)) == request


def test_refund_abort_status_reversal_reconciliation_requests() -> None:
    refund = nexo.payment_request(
        **IDS, transaction_id="r", timestamp="t", amount=500, currency="EUR", refund=True
    )
    assert json.loads(nexo.encode(refund))["SaleToPOIRequest"]["PaymentRequest"]["PaymentData"] == {
        "PaymentType": "Refund"
    }
    abort = json.loads(nexo.encode(nexo.abort_request(**IDS, aborted_service="ABC")))["SaleToPOIRequest"]
    assert abort["MessageHeader"]["MessageCategory"] == "Abort"
    assert abort["AbortRequest"] == {
        "MessageReference": {
            "MessageCategory": "Payment",
            "ServiceID": "ABC",
            "SaleID": "POS1",
            "POIID": IDS["poi_id"],
        },
        "AbortReason": "MerchantAbort",
    }
    status = nexo.transaction_status_request(**IDS, asked_service="ABC", category="Payment")
    body = json.loads(nexo.encode(status))["SaleToPOIRequest"]["TransactionStatusRequest"]
    assert body["MessageReference"] == {"MessageCategory": "Payment", "ServiceID": "ABC", "SaleID": "POS1"}
    reversal = nexo.reversal_request(**IDS, poi_transaction_id="X.1", poi_timestamp="2024-05-01T10:00:00Z")
    body = json.loads(nexo.encode(reversal))["SaleToPOIRequest"]["ReversalRequest"]
    assert body["OriginalPOITransaction"]["POITransactionID"] == {
        "TransactionID": "X.1",
        "TimeStamp": "2024-05-01T10:00:00Z",
    }
    for message in (refund, nexo.abort_request(**IDS, aborted_service="A"), status, reversal,
                    nexo.reconciliation_request(**IDS), nexo.diagnosis_request(**IDS)):  # fmt: skip
        assert nexo.decode_request(nexo.encode(message)) == message


def _response(body: str) -> bytes:
    header = (
        '"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"Payment",'
        '"MessageType":"Response","SaleID":"POS1","ServiceID":"0000000001","POIID":"P1"}'
    )
    return ('{"SaleToPOIResponse":{' + header + "," + body + "}}").encode()


def test_success_response_with_receipt_and_card() -> None:
    data = _response(
        '"PaymentResponse":{"Response":{"Result":"Success"},'
        '"POIData":{"POITransactionID":{"TransactionID":"BV0q.8815","TimeStamp":"2024-05-01T10:00:05Z"}},'
        '"PaymentResult":{"AmountsResp":{"AuthorizedAmount":10.99,"Currency":"EUR"},'
        '"PaymentInstrumentData":{"PaymentInstrumentType":"Card","CardData":{"MaskedPan":"411111******1111",'
        '"PaymentBrand":"visa"}}},"PaymentReceipt":[{"DocumentQualifier":"CustomerReceipt",'
        '"OutputContent":{"OutputFormat":"Text","OutputText":[{"Text":"APPROVED"}]}}],"Unknown":1}'
    )
    body = nexo.decode_response(data).PaymentResponse
    assert body is not None and body.Response.Result == "Success"
    assert body.PaymentResult is not None and body.PaymentResult.AmountsResp is not None
    assert nexo.to_minor(body.PaymentResult.AmountsResp.AuthorizedAmount, "EUR") == 1099
    assert (
        body.PaymentReceipt is not None
        and body.PaymentReceipt[0].OutputContent.OutputText[0].Text == "APPROVED"
    )


@pytest.mark.parametrize(
    ("result", "condition"),
    [
        ("Failure", "Refusal"),
        ("Failure", "Aborted"),
        ("Failure", "Cancel"),
        ("Partial", None),
        ("Failure", "Busy"),
    ],
)
def test_failure_and_partial_responses(result: str, condition: str | None) -> None:
    error = f',"ErrorCondition":"{condition}"' if condition else ""
    body = nexo.decode_response(_response(f'"PaymentResponse":{{"Response":{{"Result":"{result}"{error}}}}}'))
    assert body.PaymentResponse is not None
    assert (body.PaymentResponse.Response.Result, body.PaymentResponse.Response.ErrorCondition) == (
        result,
        condition,
    )


def test_transaction_status_response_repeats_the_payment() -> None:
    repeated = nb.RepeatedMessageResponse(
        nb.RepeatedResponseMessageBody(PaymentResponse=nb.PaymentResponse(nb.Response("Success")))
    )
    request = nexo.transaction_status_request(**IDS, asked_service="ABC", category="Payment")
    response = nexo.SaleToPOIResponse(
        nexo.response_header(request.MessageHeader),
        TransactionStatusResponse=nb.TransactionStatusResponse(nb.Response("Success"), None, repeated),
    )
    decoded = nexo.decode_response(nexo.encode(response))
    assert decoded == response and decoded.MessageHeader.MessageType == "Response"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"{",
        b'{"SaleToPOIResponse":{}}',
        _response('"PaymentResponse":{"Response":{"Result":"Maybe"}}'),  # not a Result
        _response('"PaymentResponse":{"Response":{"Result":"Failure","ErrorCondition":"Oops"}}'),
        _response(
            '"TransactionStatusResponse":{"Response":{"Result":"Success"}}'
        ),  # body of another category
        _response(
            '"PaymentResponse":{"Response":{"Result":"Success"},"PaymentResult":{"AmountsResp":'
            '{"AuthorizedAmount":"ten"}}}'
        ),  # an amount that is not a number
    ],
)
def test_bad_json_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(NexoError):
        nexo.decode_response(data)


def test_money_is_exact_and_fractions_of_a_cent_are_refused() -> None:
    assert nexo.to_major(1099, "EUR") == Decimal("10.99")
    assert nexo.to_major(1099, "JPY") == Decimal("1099")
    assert nexo.to_minor(Decimal("0.10"), "EUR") == 10
    assert nexo.to_minor(Decimal("1.234"), "KWD") == 1234
    for bad in (Decimal("10.999"), Decimal("-1"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(NexoError):
            nexo.to_minor(bad, "EUR")
    with pytest.raises(NexoError):
        nexo.payment_request(**IDS, transaction_id="r", timestamp="t", amount=0, currency="EUR")


def test_service_id_is_stable_and_fits_ten_characters() -> None:
    assert nexo.service_id("sale-42/card-1") == nexo.service_id("sale-42/card-1")
    assert nexo.service_id("sale-42/card-1") != nexo.service_id("sale-42/card-2")
    assert len(nexo.service_id("x" * 500)) == 10


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_decoders_raise_only_nexo_errors_on_any_bytes(data: bytes) -> None:
    with contextlib.suppress(NexoError):
        nexo.decode_response(data)
    with contextlib.suppress(NexoError):
        nexo.decode_request(data)


@given(json_values, st.sampled_from(["Payment", "TransactionStatus", "Abort", "Reversal", "Diagnosis"]))
def test_decoders_raise_only_nexo_errors_on_any_json(value: object, category: str) -> None:
    header = {"ProtocolVersion": "3.0", "MessageClass": "Service", "MessageCategory": category,
              "MessageType": "Response", "SaleID": "S", "POIID": "P"}  # fmt: skip
    for doc in (value, {"SaleToPOIResponse": {"MessageHeader": header, f"{category}Response": value}}):
        data = msgspec.json.encode(doc)
        with contextlib.suppress(NexoError):
            nexo.decode_response(data)
        with contextlib.suppress(NexoError):
            nexo.decode_request(data)
