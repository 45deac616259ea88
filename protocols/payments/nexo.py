"""nexo Sale-to-POI messages (Adyen Terminal API, protocol 3.0) as msgspec structs.

Every message is ``{"SaleToPOIRequest": {"MessageHeader": ..., "<Category>Request": ...}}`` and
its answer ``{"SaleToPOIResponse": {"MessageHeader": ..., "<Category>Response": ...}}``; the
header's ``MessageCategory`` names the body. A response's ``Response.Result`` is ``Success``,
``Failure`` or ``Partial``, with an ``ErrorCondition`` unless it succeeded. Amounts are JSON
numbers in major units (``10.99``); they are held as :class:`~decimal.Decimal` and converted to
minor units exactly, never through float.

A payment is identified by the header's ``ServiceID`` (1 to 10 characters, unique per SaleID),
which is what an ``AbortRequest`` or a ``TransactionStatusRequest`` points at through its
``MessageReference``. Sources: the reference sheet; Adyen's Terminal API reference
(docs.adyen.com/api-explorer/terminal-api: PaymentRequest, AbortRequest, TransactionStatus,
ReversalRequest, ErrorCondition enumeration; "verify transaction status" guide). Field names
are the wire names on purpose, so the structs read like the specification.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec

from protocols.payments.errors import NexoError
from protocols.payments.nexo_bodies import (
    AbortRequest,
    AmountsReq,
    DiagnosisRequest,
    DiagnosisResponse,
    MessageReference,
    OriginalPOITransaction,
    PaymentData,
    PaymentRequest,
    PaymentResponse,
    PaymentTransaction,
    ReconciliationRequest,
    ReconciliationResponse,
    ReversalRequest,
    ReversalResponse,
    SaleData,
    TransactionIdentification,
    TransactionStatusRequest,
    TransactionStatusResponse,
)

PROTOCOL_VERSION = "3.0"
Category = Literal["Payment", "Abort", "TransactionStatus", "Reversal", "Reconciliation", "Diagnosis"]
ServiceID = Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
# ISO 4217 minor-unit exponents that are not 2 (the common case).
EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


class MessageHeader(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """Every field but ServiceID is required on the wire, so none of them has a default."""

    ProtocolVersion: str
    MessageClass: Literal["Service", "Device", "Event"]
    MessageCategory: Category
    MessageType: Literal["Request", "Response"]
    SaleID: str
    ServiceID: ServiceID | None = None
    POIID: str


class SaleToPOIRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    MessageHeader: MessageHeader
    PaymentRequest: PaymentRequest | None = None
    AbortRequest: AbortRequest | None = None
    TransactionStatusRequest: TransactionStatusRequest | None = None
    ReversalRequest: ReversalRequest | None = None
    ReconciliationRequest: ReconciliationRequest | None = None
    DiagnosisRequest: DiagnosisRequest | None = None


class SaleToPOIResponse(msgspec.Struct, frozen=True, omit_defaults=True):
    MessageHeader: MessageHeader
    PaymentResponse: PaymentResponse | None = None
    TransactionStatusResponse: TransactionStatusResponse | None = None
    ReversalResponse: ReversalResponse | None = None
    ReconciliationResponse: ReconciliationResponse | None = None
    DiagnosisResponse: DiagnosisResponse | None = None


class RequestEnvelope(msgspec.Struct, frozen=True):
    SaleToPOIRequest: SaleToPOIRequest


class ResponseEnvelope(msgspec.Struct, frozen=True):
    SaleToPOIResponse: SaleToPOIResponse


_ENCODER = msgspec.json.Encoder(decimal_format="number")
_REQUEST_DECODER = msgspec.json.Decoder(RequestEnvelope)
_RESPONSE_DECODER = msgspec.json.Decoder(ResponseEnvelope)


def _body_name(category: str, kind: str) -> str:
    return f"{category}{kind}"


def _check_body(message: SaleToPOIRequest | SaleToPOIResponse, kind: str) -> None:
    """The body the header announces must be there, and no other (an abort carries no response)."""
    category = message.MessageHeader.MessageCategory
    present = [name for name in message.__struct_fields__[1:] if getattr(message, name) is not None]
    expected = [] if (kind, category) == ("Response", "Abort") else [_body_name(category, kind)]
    if present != expected:
        raise NexoError(
            f"a {category} {kind.lower()} must carry {expected or 'no body'}, it carries {present}"
        )


def encode(message: SaleToPOIRequest | SaleToPOIResponse) -> bytes:
    """The JSON bytes of a request or response (amounts as JSON numbers)."""
    if isinstance(message, SaleToPOIRequest):
        _check_body(message, "Request")
        return _ENCODER.encode(RequestEnvelope(message))
    _check_body(message, "Response")
    return _ENCODER.encode(ResponseEnvelope(message))


def decode_request(data: bytes) -> SaleToPOIRequest:
    """A request from its JSON; raises :class:`NexoError` with the reason for bad JSON."""
    try:
        message = _REQUEST_DECODER.decode(data).SaleToPOIRequest
    except msgspec.DecodeError as exc:
        raise NexoError(f"not a nexo request: {exc}") from None
    _check_body(message, "Request")
    return message


def decode_response(data: bytes) -> SaleToPOIResponse:
    """A response from its JSON; raises :class:`NexoError` with the reason for bad JSON."""
    try:
        message = _RESPONSE_DECODER.decode(data).SaleToPOIResponse
    except msgspec.DecodeError as exc:
        raise NexoError(f"not a nexo response: {exc}") from None
    _check_body(message, "Response")
    return message


# -- money ------------------------------------------------------------------------------------


def to_major(minor_units: int, currency: str) -> Decimal:
    """``1099`` EUR cents as ``Decimal("10.99")``, exactly."""
    return Decimal(minor_units).scaleb(-EXPONENTS.get(currency, 2))


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("10.99")`` EUR as 1099 cents; raises :class:`NexoError` for a fraction of a cent
    or a negative amount (nexo amounts are never negative: a refund has its own PaymentType)."""
    if amount.is_signed() and amount != 0:
        raise NexoError(f"negative amount {amount} {currency}")
    try:
        scaled = amount.scaleb(EXPONENTS.get(currency, 2))
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise NexoError(f"{amount} {currency} is not a whole number of minor units")
        return int(scaled)
    except InvalidOperation:
        raise NexoError(f"{amount} {currency} is not an amount") from None


def service_id(reference: str) -> str:
    """A 10-character ServiceID derived from the ECR's reference, the same after a restart.

    nexo allows only 10 characters, far fewer than a sale reference has; a hash keeps the
    mapping stable, so a hub that lost everything but the reference can still ask the terminal
    about that payment (40 bits: a collision among one day's payments is negligible).
    """
    return hashlib.sha256(reference.encode()).hexdigest()[:10].upper()


# -- requests ---------------------------------------------------------------------------------


def _header(category: Category, sale_id: str, poi_id: str, service: str | None) -> MessageHeader:
    return MessageHeader(
        ProtocolVersion=PROTOCOL_VERSION,
        MessageClass="Service",
        MessageCategory=category,
        MessageType="Request",
        SaleID=sale_id,
        ServiceID=service,
        POIID=poi_id,
    )


def payment_request(
    *,
    sale_id: str,
    poi_id: str,
    service: str,
    transaction_id: str,
    timestamp: str,
    amount: int,
    currency: str,
    refund: bool = False,
) -> SaleToPOIRequest:
    """A PaymentRequest for ``amount`` minor units (``refund``: PaymentType ``Refund``)."""
    if amount <= 0:
        raise NexoError(f"a payment needs a positive amount, got {amount}")
    body = PaymentRequest(
        SaleData=SaleData(SaleTransactionID=TransactionIdentification(transaction_id, timestamp)),
        PaymentTransaction=PaymentTransaction(AmountsReq(currency, to_major(amount, currency))),
        PaymentData=PaymentData("Refund") if refund else None,
    )
    return SaleToPOIRequest(_header("Payment", sale_id, poi_id, service), PaymentRequest=body)


def abort_request(*, sale_id: str, poi_id: str, service: str, aborted_service: str) -> SaleToPOIRequest:
    """An AbortRequest for the payment whose request carried ``aborted_service``."""
    reference = MessageReference("Payment", ServiceID=aborted_service, SaleID=sale_id, POIID=poi_id)
    body = AbortRequest(reference, "MerchantAbort")
    return SaleToPOIRequest(_header("Abort", sale_id, poi_id, service), AbortRequest=body)


def transaction_status_request(
    *, sale_id: str, poi_id: str, service: str, asked_service: str, category: Literal["Payment", "Reversal"]
) -> SaleToPOIRequest:
    """A TransactionStatusRequest: how did the request with ``asked_service`` end?"""
    reference = MessageReference(category, ServiceID=asked_service, SaleID=sale_id)
    body = TransactionStatusRequest(MessageReference=reference, ReceiptReprintFlag=True)
    return SaleToPOIRequest(
        _header("TransactionStatus", sale_id, poi_id, service), TransactionStatusRequest=body
    )


def reversal_request(
    *, sale_id: str, poi_id: str, service: str, poi_transaction_id: str, poi_timestamp: str
) -> SaleToPOIRequest:
    """A ReversalRequest of the payment the terminal identified as ``poi_transaction_id``."""
    original = OriginalPOITransaction(TransactionIdentification(poi_transaction_id, poi_timestamp))
    body = ReversalRequest(original, "MerchantCancel")
    return SaleToPOIRequest(_header("Reversal", sale_id, poi_id, service), ReversalRequest=body)


def reconciliation_request(*, sale_id: str, poi_id: str, service: str) -> SaleToPOIRequest:
    """A ReconciliationRequest closing the terminal's day (SaleReconciliation)."""
    body = ReconciliationRequest("SaleReconciliation")
    return SaleToPOIRequest(_header("Reconciliation", sale_id, poi_id, service), ReconciliationRequest=body)


def diagnosis_request(*, sale_id: str, poi_id: str, service: str) -> SaleToPOIRequest:
    """A DiagnosisRequest: is the terminal there and ready?"""
    return SaleToPOIRequest(
        _header("Diagnosis", sale_id, poi_id, service), DiagnosisRequest=DiagnosisRequest()
    )


def response_header(request: MessageHeader) -> MessageHeader:
    """The header of the response to ``request`` (the terminal's side)."""
    return msgspec.structs.replace(request, MessageType="Response")
