"""The bodies of the nexo (Adyen Terminal API) messages the hub uses, as msgspec structs.

Only the fields the hub reads or writes are declared; unknown fields in a terminal's answer
are ignored (msgspec's default), so a newer terminal adding fields does not break decoding,
while a missing or mistyped required field is an error. Wire names are kept as field names.
Source: Adyen Terminal API reference (docs.adyen.com/api-explorer/terminal-api).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

Result = Literal["Success", "Failure", "Partial"]
# The nexo ErrorCondition enumeration (Adyen Terminal API "ErrorCondition").
ErrorCondition = Literal[
    "Aborted",
    "Busy",
    "Cancel",
    "DeviceOut",
    "InProgress",
    "InsertedCard",
    "InvalidCard",
    "LoggedOut",
    "MessageFormat",
    "NotAllowed",
    "NotFound",
    "PaymentRestriction",
    "Refusal",
    "UnavailableDevice",
    "UnavailableService",
    "UnreachableHost",
    "WrongPIN",
]
# msgspec cannot bound a Decimal; amounts are checked when converted (nexo.to_minor).
NonNegative = Decimal
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]


class _Body(msgspec.Struct, frozen=True, omit_defaults=True):
    """Base of the message parts: immutable, absent optional fields left out of the JSON."""


class TransactionIdentification(_Body, frozen=True):
    TransactionID: str
    TimeStamp: str


class SaleData(_Body, frozen=True):
    SaleTransactionID: TransactionIdentification


class AmountsReq(_Body, frozen=True):
    Currency: Currency
    RequestedAmount: NonNegative


class PaymentTransaction(_Body, frozen=True):
    AmountsReq: AmountsReq


class PaymentData(_Body, frozen=True):
    PaymentType: Literal["Normal", "Refund"] = "Normal"


class PaymentRequest(_Body, frozen=True):
    SaleData: SaleData
    PaymentTransaction: PaymentTransaction
    PaymentData: PaymentData | None = None


class MessageReference(_Body, frozen=True):
    MessageCategory: Literal["Payment", "Reversal"]
    ServiceID: str | None = None
    SaleID: str | None = None
    POIID: str | None = None


class AbortRequest(_Body, frozen=True):
    MessageReference: MessageReference
    AbortReason: str


class TransactionStatusRequest(_Body, frozen=True):
    MessageReference: MessageReference | None = None
    ReceiptReprintFlag: bool | None = None


class OriginalPOITransaction(_Body, frozen=True):
    POITransactionID: TransactionIdentification


class ReversalRequest(_Body, frozen=True):
    OriginalPOITransaction: OriginalPOITransaction
    ReversalReason: str


class ReconciliationRequest(_Body, frozen=True):
    ReconciliationType: str


class DiagnosisRequest(_Body, frozen=True):
    HostDiagnosisFlag: bool | None = None


# -- responses ----------------------------------------------------------------------------------


class Response(_Body, frozen=True):
    Result: Result
    ErrorCondition: ErrorCondition | None = None
    AdditionalResponse: str | None = None


class POIData(_Body, frozen=True):
    POITransactionID: TransactionIdentification


class AmountsResp(_Body, frozen=True):
    AuthorizedAmount: NonNegative
    Currency: Currency | None = None


class CardData(_Body, frozen=True):
    MaskedPan: str | None = None
    PaymentBrand: str | None = None


class PaymentInstrumentData(_Body, frozen=True):
    PaymentInstrumentType: str | None = None
    CardData: CardData | None = None


class PaymentAcquirerData(_Body, frozen=True):
    ApprovalCode: str | None = None
    AcquirerPOIID: str | None = None


class PaymentResult(_Body, frozen=True):
    AmountsResp: AmountsResp | None = None
    PaymentInstrumentData: PaymentInstrumentData | None = None
    PaymentAcquirerData: PaymentAcquirerData | None = None


class OutputText(_Body, frozen=True):
    Text: str


class OutputContent(_Body, frozen=True):
    OutputText: list[OutputText]
    OutputFormat: str = "Text"


class PaymentReceipt(_Body, frozen=True):
    DocumentQualifier: str  # CashierReceipt, CustomerReceipt
    OutputContent: OutputContent


class PaymentResponse(_Body, frozen=True):
    Response: Response
    SaleData: SaleData | None = None
    POIData: POIData | None = None
    PaymentResult: PaymentResult | None = None
    PaymentReceipt: list[PaymentReceipt] | None = None


class ReversalResponse(_Body, frozen=True):
    Response: Response
    POIData: POIData | None = None
    ReversedAmount: NonNegative | None = None
    PaymentReceipt: list[PaymentReceipt] | None = None


class RepeatedResponseMessageBody(_Body, frozen=True):
    PaymentResponse: PaymentResponse | None = None
    ReversalResponse: ReversalResponse | None = None


class RepeatedMessageResponse(_Body, frozen=True):
    RepeatedResponseMessageBody: RepeatedResponseMessageBody


class TransactionStatusResponse(_Body, frozen=True):
    Response: Response
    MessageReference: MessageReference | None = None
    RepeatedMessageResponse: RepeatedMessageResponse | None = None


class PaymentTotal(_Body, frozen=True):
    TransactionType: str  # Debit, Credit, ...
    TransactionCount: int
    TransactionAmount: NonNegative


class TransactionTotals(_Body, frozen=True):
    PaymentInstrumentType: str
    PaymentTotals: list[PaymentTotal] = []


class ReconciliationResponse(_Body, frozen=True):
    Response: Response
    ReconciliationType: str = "SaleReconciliation"
    TransactionTotals: list[TransactionTotals] = []


class POIStatus(_Body, frozen=True):
    GlobalStatus: Literal["OK", "Busy", "Maintenance", "Unreachable"]


class DiagnosisResponse(_Body, frozen=True):
    Response: Response
    POIStatus: POIStatus | None = None
