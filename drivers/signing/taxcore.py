"""Serbia's TaxCore: receipts signed by a sales data controller, a local E-SDC or the virtual V-SDC.

The POS sends ``POST /api/v3/invoices`` with the invoice as JSON (``invoiceType`` Normal,
Proforma, Copy, Training or Advance; ``transactionType`` Sale or Refund; ``payment[]`` of
``{amount, paymentType}``; ``items[]`` of ``{name, gtin?, labels, unitPrice, quantity,
totalAmount}``; ``cashier``, ``buyerId``, and for a refund ``referentDocumentNumber`` and
``referentDocumentDT``). The SDC answers the signed invoice: ``invoiceNumber``
(``<requestedBy>-<signedBy>-<counter>``), ``sdcDateTime``, the counters, ``taxItems``,
``verificationUrl`` and ``verificationQRCode``, the ``journal`` text to print, ``signature``
and the taxpayer's identity. All of it is kept in :attr:`FiscalResult.details`.

Headers: ``RequestId``, ``Accept-Language`` when configured, and ``PAC`` for the V-SDC, which
also wants the taxpayer's client certificate on the TLS connection. An E-SDC on the LAN needs
neither.

Nothing twice (principle 3)
---------------------------
TaxCore documents ``RequestId`` (at most 32 characters, chosen by the POS) as the key for
finding a request "in case a response was not received". Every attempt for one receipt carries
``receipt.request_id`` as its RequestId and the very same body. When an attempt ends without an
answer (a timeout, a dropped connection, a 5xx), the next one asks the SDC for that RequestId
first when ``lookup_path`` is configured (``GET /api/v3/invoices/{request_id}`` on SDCs that
offer it) and then posts again with the same RequestId, relying on the SDC to answer a
RequestId it has already signed with that invoice instead of signing again (the simulator
does; an SDC that does neither cannot be made safe by the POS, so use ``lookup_path`` where the
SDC offers a search). As a last guard, an answer whose ``totalAmount`` is not the receipt's
total is refused as a ``ProtocolError``: a RequestId answered with someone else's invoice.

Errors: unreachable, no answer after ``attempts`` tries, or our PAC or certificate refused
(401, 403): ``DeviceOffline`` (``sent`` says whether anything may have reached the SDC; the
hub retries later with the same request id). Another 4xx: ``Declined``, with the SDC's ``modelState`` (property and TaxCore error codes) as the
reason. An answer that is not a signed invoice: ``ProtocolError``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any
from urllib.parse import quote

import aiohttp
import msgspec

from drivers.errors import Declined, DeviceOffline, ProtocolError
from drivers.signing.base import SigningAdapter
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult

log = logging.getLogger(__name__)

Seconds = Annotated[float, msgspec.Meta(gt=0, le=600)]
CENT = Decimal("0.01")
# Amounts travel as JSON numbers with their exact decimals (Decimal, never float), both ways.
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)

# Our tender types -> TaxCore's paymentType names. "credit" (paid later, on account) is
# settled by bank transfer in Serbia; a store that means otherwise overrides it.
PAYMENT_TYPES = {
    "cash": "Cash",
    "card": "Card",
    "check": "Check",
    "voucher": "Voucher",
    "credit": "WireTransfer",
    "other": "Other",
}
# TaxCore's invoice-request error codes, for a readable refusal (the code is always kept).
ERROR_TEXT = {
    "2310": "invalid tax labels",
    "2800": "field required",
    "2801": "value too long",
    "2802": "value too short",
    "2803": "invalid length",
    "2804": "value out of range",
    "2805": "invalid value",
    "2806": "invalid data format",
    "2807": "list too short",
    "2808": "list too long",
}
_REQUIRED_ANSWER = ("invoiceNumber", "sdcDateTime", "signedBy", "verificationUrl", "journal")


class TaxCoreOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How to reach one SDC and how our receipts map to TaxCore's fields.

    ``tax_labels`` maps our tax group letters (A..H) to the SDC's labels (``{"A": "Ђ"}``); a
    letter not in it is sent as is. ``payment_types`` overrides entries of
    :data:`PAYMENT_TYPES`. ``timeout`` bounds each request, answer included; ``attempts``
    is how many requests one ``sign`` makes before giving up, ``retry_delay`` the pause before
    the second (doubling after).
    """

    url: str  # the SDC's base URL: http://192.168.1.20:8888 (E-SDC), https://vsdc... (V-SDC)
    pac: str = ""
    client_cert: str = ""  # PEM file: the V-SDC client certificate (with its key, or see below)
    client_key: str = ""
    ca_file: str = ""
    accept_language: str = ""  # e.g. "sr-Cyrl-RS;en-US"
    tax_labels: dict[str, str] = {}
    payment_types: dict[str, str] = {}
    lookup_path: str = ""  # e.g. "/api/v3/invoices/{request_id}"; empty: no search before a retry
    timeout: Seconds = 15.0
    connect_timeout: Seconds = 3.0
    attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    retry_delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.5


class _NoAnswer(Exception):
    """An exchange ended without an HTTP answer; ``sent`` if the request may have arrived."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class TaxCoreAdapter(SigningAdapter):
    """Signs receipts on one TaxCore SDC. One HTTP session per adapter, opened on first use.

    Raises ``OSError`` or ``ssl.SSLError`` at construction when the configured certificate
    files cannot be read: a configuration error, not a device state.
    """

    name = "taxcore"

    def __init__(self, options: TaxCoreOptions) -> None:
        self.options = options
        self._url = options.url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None
        if options.client_cert or options.ca_file:
            self._ssl = ssl.create_default_context(cafile=options.ca_file or None)
            if options.client_cert:
                self._ssl.load_cert_chain(options.client_cert, options.client_key or None)
        self._payments = {**PAYMENT_TYPES, **options.payment_types}

    def invoice_request(self, receipt: FiscalReceipt) -> dict[str, Any]:
        """The ``POST /api/v3/invoices`` body for ``receipt`` (the same for every attempt)."""
        exponent = receipt.currency_exponent
        items = []
        for item in receipt.items:
            quantity = Decimal(item.quantity)
            total = _money(item.total, exponent)
            # TaxCore has the line total as unit price x quantity; a discounted line therefore
            # carries its price after the discount.
            unit = _money(item.unit_price, exponent)
            if item.discount:
                unit = (total / quantity).quantize(CENT, ROUND_HALF_UP)
            entry: dict[str, Any] = {
                "name": item.name,
                "labels": [self.options.tax_labels.get(item.tax_group, item.tax_group)],
                "unitPrice": unit,
                "quantity": quantity,
                "totalAmount": total,
            }
            if item.gtin:
                entry["gtin"] = item.gtin
            items.append(entry)
        body: dict[str, Any] = {
            "dateAndTimeOfIssue": receipt.at,
            "cashier": receipt.cashier,
            "invoiceType": "Training" if receipt.training else "Normal",
            "transactionType": "Refund" if receipt.kind == "refund" else "Sale",
            "payment": [
                {"amount": _money(p.amount, exponent), "paymentType": self._payments[p.type]}
                for p in receipt.payments
            ],
            "items": items,
        }
        if receipt.buyer_id:
            body["buyerId"] = receipt.buyer_id
        if receipt.refund_of_number:
            body["referentDocumentNumber"] = receipt.refund_of_number
        if receipt.refund_of_at:
            body["referentDocumentDT"] = receipt.refund_of_at
        return body

    async def sign(self, receipt: FiscalReceipt) -> FiscalResult:
        """Have the SDC sign ``receipt``, or find the signature an earlier attempt got."""
        body = _ENCODER.encode(self.invoice_request(receipt))
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "RequestId": receipt.request_id,
        }
        if self.options.pac:
            headers["PAC"] = self.options.pac
        if self.options.accept_language:
            headers["Accept-Language"] = self.options.accept_language
        sent, problem = False, "no attempt made"
        for attempt in range(self.options.attempts):
            if attempt:
                log.warning("TaxCore %s: %s; trying again with the same RequestId", self._url, problem)
                await asyncio.sleep(self.options.retry_delay * 2 ** (attempt - 1))
                if sent and (found := await self._lookup(receipt.request_id)) is not None:
                    return self._result(receipt, found)
            try:
                status, payload = await self._exchange("POST", "/api/v3/invoices", body, headers)
            except _NoAnswer as exc:
                sent, problem = sent or exc.sent, str(exc)
                continue
            sent = True
            if 200 <= status < 300:
                return self._result(receipt, payload)
            if status >= 500:
                problem = f"HTTP {status}"
                continue
            if status in (401, 403):
                # Not this receipt's fault: the PAC or certificate is wrong, and every receipt
                # would be refused alike until someone fixes the configuration.
                raise DeviceOffline(
                    f"TaxCore SDC refused our credentials: {_refusal(status, payload)}", sent=True
                )
            if 400 <= status < 500:
                raise Declined(_refusal(status, payload), sent=True)
            raise ProtocolError(f"TaxCore SDC answered HTTP {status} to an invoice", sent=True)
        raise DeviceOffline(
            f"TaxCore SDC at {self._url}: {problem} after {self.options.attempts} attempts; "
            f"retry with request id {receipt.request_id}",
            sent=sent,
        )

    async def close(self) -> None:
        """Close the HTTP session. Never raises."""
        session, self._session = self._session, None
        if session is not None:
            try:
                await session.close()
            except Exception:  # closing must not fail the caller's shutdown
                log.debug("closing the TaxCore session failed", exc_info=True)

    async def _lookup(self, request_id: str) -> bytes | None:
        """The SDC's earlier answer to ``request_id``, if ``lookup_path`` is set and it has one."""
        if not self.options.lookup_path:
            return None
        path = self.options.lookup_path.format(request_id=quote(request_id, safe=""))
        try:
            status, payload = await self._exchange("GET", path, None, {"Accept": "application/json"})
        except _NoAnswer:
            return None  # no worse off: the repeated POST still carries the same RequestId
        return payload if status == 200 else None

    async def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """One HTTP request: (status, body), or ``_NoAnswer`` when none came back."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=self.options.timeout, sock_connect=self.options.connect_timeout
            )
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(timeout=timeout, connector=connector)
        try:
            # No redirects: a signing request goes to the SDC configured, or nowhere.
            async with self._session.request(
                method, self._url + path, data=body, headers=headers, allow_redirects=False
            ) as answer:
                return answer.status, await answer.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise _NoAnswer(f"cannot connect ({exc})", sent=False) from exc
        except TimeoutError as exc:
            raise _NoAnswer(f"no answer within {self.options.timeout}s", sent=True) from exc
        except aiohttp.ClientError as exc:
            raise _NoAnswer(f"connection lost ({exc.__class__.__name__})", sent=True) from exc

    def _result(self, receipt: FiscalReceipt, payload: bytes) -> FiscalResult:
        try:
            answer = _DECODER.decode(payload)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"TaxCore SDC answered something that is not JSON: {exc}", sent=True) from exc
        if not isinstance(answer, dict):
            raise ProtocolError("TaxCore SDC answered JSON that is not an object", sent=True)
        missing = [key for key in _REQUIRED_ANSWER if not isinstance(answer.get(key), str) or not answer[key]]
        if missing:
            raise ProtocolError(f"TaxCore SDC answer lacks {', '.join(missing)}", sent=True)
        total = answer.get("totalAmount")
        expected = _money(receipt.total, receipt.currency_exponent)
        if isinstance(total, int | Decimal) and abs(Decimal(total)) != abs(expected):
            raise ProtocolError(
                f"TaxCore SDC answered RequestId {receipt.request_id} with invoice "
                f"{answer['invoiceNumber']} of {total}, not this receipt's {expected}",
                sent=True,
            )
        return FiscalResult(
            fiscal_number=answer["invoiceNumber"],
            fiscalised_at=answer["sdcDateTime"],
            device_serial=answer["signedBy"],
            qr_data=answer["verificationUrl"],
            print_lines=answer["journal"].splitlines(),
            details=answer,
        )


def _money(minor: int, exponent: int) -> Decimal:
    """Minor units as a TaxCore amount (two decimals); refuses what two decimals cannot hold."""
    value = Decimal(minor).scaleb(-exponent)
    amount = value.quantize(CENT)
    if amount != value:
        raise Declined(f"amount {value} has more than two decimals, which TaxCore cannot take")
    return amount


def _refusal(status: int, payload: bytes) -> str:
    """The reason of a 4xx: the SDC's message and each ``modelState`` property with its codes."""
    try:
        body = _DECODER.decode(payload)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        text = payload.decode("utf-8", "replace").strip()[:200]
        return f"TaxCore SDC refused the invoice (HTTP {status}){': ' + text if text else ''}"
    state = body.get("modelState")
    if isinstance(state, dict):  # ASP.NET's other shape: {property: [errors]}
        state = [{"property": key, "errors": value} for key, value in state.items()]
    problems = []
    for entry in state if isinstance(state, list) else []:
        if not isinstance(entry, dict):
            continue
        codes = entry.get("errors")
        codes = codes if isinstance(codes, list) else [codes]
        texts = [f"{code} {ERROR_TEXT.get(str(code), '')}".strip() for code in codes]
        problems.append(f"{entry.get('property') or 'invoice'}: {', '.join(texts)}")
    message = body.get("message")
    head = (
        f"TaxCore SDC refused the invoice (HTTP {status}{': ' + message if isinstance(message, str) else ''})"
    )
    return head + (": " + "; ".join(problems) if problems else "")
