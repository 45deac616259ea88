"""Germany's KassenSichV: receipts signed by a TSE, a cloud TSS with fiskaly SIGN DE v2's REST API.

Authentication: ``POST {url}/auth`` with ``{"api_key", "api_secret"}`` answers a bearer
``access_token`` and its lifetime (``access_token_expires_in``); the adapter fetches one before
its first call, again before it runs out, and once more when a call answers ``401``.

A receipt is one TSE transaction, written with ``PUT {url}/tss/{tss_id}/tx/{tx_id}?tx_revision=N``:
revision 1 starts it (``{"state": "ACTIVE", "client_id": ...}``), revision 2 updates it with
the receipt (``schema.standard_v1.receipt``: ``receipt_type`` RECEIPT or TRAINING,
``amounts_per_vat_rate``, ``amounts_per_payment_type``, amounts as strings with two decimals,
negative in a refund) and revision 3 finishes it (``"state": "FINISHED"``, the same receipt).
The finish answers ``number``, ``time_start``/``time_end``, ``signature`` (``value``,
``counter``, ``algorithm``, ``public_key``), ``tss_serial_number``, ``client_serial_number``,
``log.timestamp_format`` and ``qr_code_data``; all of it is kept in ``details``.

Nothing twice (principle 3): the transaction id is a UUID5 of the TSS id and
``receipt.request_id``, so every attempt for a receipt, in this process or after a crash,
writes the same transaction. ``sign`` first reads it (``GET .../tx/{tx_id}``): FINISHED is
the answer; ACTIVE continues from its latest revision; missing starts it. After a lost answer
or a ``409`` (the revision was taken, by our own lost attempt) it reads the transaction again
and goes on from what the TSE says.

QR code (DSFinV-K)::

    V0;<client serial>;Kassenbeleg-V1;<processData>;<tx number>;<signature counter>;
    <start>;<end>;ecdsa-plain-SHA256;<log time format>;<signature>;<public key>

with ``processData`` like ``Beleg^7.50_0.00_0.00_0.00_0.00^7.50:Bar`` (gross per VAT rate in
the order 19 %, 7 %, 10.7 %, 5.5 %, 0 %; then payments, Bar or Unbar). The TSE's own
``qr_code_data`` is used; :func:`qr_code_data` builds the same from the answer's fields when a
TSE does not send it.

Errors: ``DeviceOffline`` when the TSE cannot be reached or used (no answer, 5xx, credentials
refused; ``sent`` whether anything may have reached it), ``Declined`` when it refuses the
transaction or the receipt cannot be expressed (an unknown VAT rate), ``ProtocolError`` when the
answer is not a transaction.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import aiohttp
import msgspec

from drivers.errors import Declined, DeviceOffline, ProtocolError
from drivers.signing.base import SigningAdapter
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult

log = logging.getLogger(__name__)

Seconds = Annotated[float, msgspec.Meta(gt=0, le=600)]
CENT = Decimal("0.01")
# Percent -> the TSE's vat_rate. Keys are compared as numbers ("19" == "19.0").
VAT_RATES = {"19": "NORMAL", "7": "REDUCED_1", "10.7": "SPECIAL_RATE_1", "5.5": "SPECIAL_RATE_2", "0": "NULL"}
_VAT_ORDER = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
# Fixed forever: changing it would give every receipt a new transaction id.
_TX_NAMESPACE = uuid.UUID("8d0b8a49-4bd6-5d8e-9b7c-2f6a1c3e5a70")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class TseOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The TSS and client (till) to sign with, and the API credentials.

    ``url`` is the API base, e.g. ``https://kassensichv-middleware.fiskaly.com/api/v2``.
    ``vat_rates`` adds or overrides entries of :data:`VAT_RATES`. ``attempts`` bounds the
    calls of one ``sign`` that end without an answer (or in a 5xx or 409) before it gives up.
    """

    url: str
    tss_id: str
    client_id: str
    api_key: str
    api_secret: str
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "EUR"
    vat_rates: dict[str, str] = {}
    timeout: Seconds = 15.0
    connect_timeout: Seconds = 3.0
    attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    retry_delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.5


class _Again(Exception):
    """This call gave no usable answer; read the transaction again and go on (if attempts left)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class TseAdapter(SigningAdapter):
    """Signs receipts as transactions of one TSS for one client. One HTTP session per adapter."""

    name = "tse"

    def __init__(self, options: TseOptions) -> None:
        self.options = options
        self._url = options.url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._token = ""
        self._token_until = 0.0  # monotonic time after which the token is fetched again
        self._vat = {Decimal(rate): name for rate, name in {**VAT_RATES, **options.vat_rates}.items()}

    def transaction_id(self, receipt: FiscalReceipt) -> str:
        """The receipt's transaction id: the same for every attempt, in every process."""
        return str(uuid.uuid5(_TX_NAMESPACE, f"{self.options.tss_id}/{receipt.request_id}"))

    def receipt_schema(self, receipt: FiscalReceipt) -> dict[str, Any]:
        """``schema`` for the update and finish: the receipt as gross amounts per VAT rate and tender."""
        sign = -1 if receipt.kind == "refund" else 1  # DSFinV-K records a return as negative amounts
        per_vat: dict[str, Decimal] = {}
        for item in receipt.items:
            vat = self._vat.get(Decimal(item.tax_rate))
            if vat is None:
                known = ", ".join(f"{rate}% {name}" for rate, name in self._vat.items())
                raise Declined(f"tax rate {item.tax_rate}% has no TSE VAT rate (known: {known})")
            per_vat[vat] = per_vat.get(vat, Decimal("0")) + sign * _money(
                item.total, receipt.currency_exponent
            )
        per_payment: dict[str, Decimal] = {}
        for payment in receipt.payments:
            kind = "CASH" if payment.type == "cash" else "NON_CASH"
            amount = sign * _money(payment.amount, receipt.currency_exponent)
            per_payment[kind] = per_payment.get(kind, Decimal("0")) + amount
        return {
            "standard_v1": {
                "receipt": {
                    "receipt_type": "TRAINING" if receipt.training else "RECEIPT",
                    "amounts_per_vat_rate": [
                        {"vat_rate": vat, "amount": _text(per_vat[vat])}
                        for vat in _VAT_ORDER
                        if vat in per_vat
                    ],
                    "amounts_per_payment_type": [
                        {
                            "payment_type": kind,
                            "amount": _text(amount),
                            "currency_code": self.options.currency,
                        }
                        for kind, amount in per_payment.items()
                    ],
                }
            }
        }

    async def sign(self, receipt: FiscalReceipt) -> FiscalResult:
        """Run (or finish, or find) the receipt's transaction and return its signature."""
        schema = self.receipt_schema(receipt)  # refuses an unmappable receipt before any call
        tx_id = self.transaction_id(receipt)
        path = f"/tss/{self.options.tss_id}/tx/{tx_id}"
        tx: dict[str, Any] | None = None
        known, failures, sent = False, 0, False
        while True:
            try:
                if not known:
                    tx = await self._read(path)
                    known = True
                step = self._next_step(tx, schema, tx_id)
                if step is None:
                    assert tx is not None  # only a finished transaction has no next step
                    return self._result(tx, schema)
                revision, body = step
                sent = True  # from here on the TSE may hold a revision of ours
                tx = await self._write(path, revision, body)
            except _Again as exc:
                failures, sent, known = failures + 1, sent or exc.sent, False
                if failures >= self.options.attempts:
                    raise DeviceOffline(
                        f"TSE at {self._url}: {exc} ({failures} times); retry with request id "
                        f"{receipt.request_id} (transaction {tx_id})",
                        sent=sent,
                    ) from exc
                log.warning("TSE transaction %s: %s; reading it again", tx_id, exc)
                await asyncio.sleep(self.options.retry_delay * 2 ** (failures - 1))

    async def close(self) -> None:
        """Close the HTTP session. Never raises."""
        session, self._session = self._session, None
        if session is not None:
            try:
                await session.close()
            except Exception:  # closing must not fail the caller's shutdown
                log.debug("closing the TSE session failed", exc_info=True)

    def _next_step(
        self, tx: dict[str, Any] | None, schema: dict[str, Any], tx_id: str
    ) -> tuple[int, dict[str, Any]] | None:
        """The next revision to write, or None when the transaction is finished."""
        client = self.options.client_id
        if tx is None:
            return 1, {"state": "ACTIVE", "client_id": client}
        state, revision = tx.get("state"), tx.get("latest_revision", tx.get("revision"))
        if state == "FINISHED":
            return None
        if state != "ACTIVE" or not isinstance(revision, int) or revision < 1:
            raise Declined(
                f"TSE transaction {tx_id} is {state} at revision {revision}; it cannot be finished"
            )
        if revision == 1:
            return 2, {"state": "ACTIVE", "client_id": client, "schema": schema}
        return revision + 1, {"state": "FINISHED", "client_id": client, "schema": schema}

    async def _read(self, path: str) -> dict[str, Any] | None:
        status, answer = await self._call("GET", path)
        if status == 404:
            return None
        return self._transaction(status, answer)

    async def _write(self, path: str, revision: int, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self._call("PUT", path, body, {"tx_revision": str(revision)})
        if status == 409:
            raise _Again(f"revision {revision} conflicts: {_describe(answer)}", sent=True)
        return self._transaction(status, answer)

    def _transaction(self, status: int, answer: Any) -> dict[str, Any]:
        if status >= 500:
            raise _Again(f"HTTP {status}", sent=True)
        if 400 <= status < 500:
            raise Declined(f"TSE refused the transaction (HTTP {status}): {_describe(answer)}", sent=True)
        if status != 200 or not isinstance(answer, dict):
            raise ProtocolError(f"TSE answered HTTP {status} without a transaction", sent=True)
        return answer

    async def _call(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One authorised call; a ``401`` fetches a new token and tries once more."""
        for _ in range(2):
            if not self._token or time.monotonic() >= self._token_until:
                await self._login()
            status, answer = await self._exchange(method, path, body, query, self._token)
            if status != 401:
                return status, answer
            self._token = ""
        raise DeviceOffline(f"TSE at {self._url} refuses our fresh access token: {_describe(answer)}")

    async def _login(self) -> None:
        credentials = {"api_key": self.options.api_key, "api_secret": self.options.api_secret}
        status, answer = await self._exchange("POST", "/auth", credentials, None, "")
        if status in (400, 401, 403):
            raise DeviceOffline(f"TSE refused api_key/api_secret (HTTP {status}): {_describe(answer)}")
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise _Again(f"login answered HTTP {status}", sent=False)
        lifetime = answer.get("access_token_expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | Decimal) else 300.0
        self._token = answer["access_token"]
        self._token_until = time.monotonic() + lifetime * 0.8  # renew well before it runs out

    async def _exchange(
        self, method: str, path: str, body: Any, query: dict[str, str] | None, token: str
    ) -> tuple[int, Any]:
        """One HTTP request: (status, decoded JSON or None); ``_Again`` when no answer came."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=self.options.timeout, sock_connect=self.options.connect_timeout
            )
            self._session = aiohttp.ClientSession(timeout=timeout)
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else msgspec.json.encode(body)
        try:
            # No redirects: a transaction goes to the TSE configured, or nowhere.
            async with self._session.request(
                method, self._url + path, data=data, params=query, headers=headers, allow_redirects=False
            ) as response:
                status, payload = response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise _Again(f"cannot connect ({exc})", sent=False) from exc
        except TimeoutError as exc:
            raise _Again(f"no answer within {self.options.timeout}s", sent=True) from exc
        except aiohttp.ClientError as exc:
            raise _Again(f"connection lost ({exc.__class__.__name__})", sent=True) from exc
        try:
            return status, _DECODER.decode(payload) if payload else None
        except msgspec.DecodeError:
            return status, payload.decode("utf-8", "replace")[:200]

    def _result(self, tx: dict[str, Any], schema: dict[str, Any]) -> FiscalResult:
        try:
            signature, number = tx["signature"], tx["number"]
            recorded = _total(tx.get("schema"))
            if recorded is not None and recorded != _total(schema):
                raise ProtocolError(
                    f"TSE transaction {tx.get('_id')} was finished with other amounts than this receipt",
                    sent=True,
                )
            start, end = iso_time(tx["time_start"]), iso_time(tx["time_end"])
            lines = [
                f"TSE-Transaktion: {number}",
                f"TSE-Start: {start}",
                f"TSE-Stop: {end}",
                f"TSE-Seriennummer: {tx['tss_serial_number']}",
                f"TSE-Signaturzähler: {signature['counter']}",
                f"TSE-Signatur: {signature['value']}",
                f"TSE-Zeitformat: {tx['log']['timestamp_format']}",
                f"TSE-Hashalgorithmus: {signature['algorithm']}",
                f"TSE-PublicKey: {signature['public_key']}",
                f"Kassen-Seriennummer: {tx['client_serial_number']}",
            ]
            qr = tx.get("qr_code_data") or qr_code_data(tx)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"TSE answered a finished transaction without {exc}", sent=True) from exc
        return FiscalResult(
            fiscal_number=str(number),
            fiscalised_at=end,
            device_serial=str(tx["tss_serial_number"]),
            qr_data=str(qr),
            print_lines=lines,
            details=tx,
        )


def iso_time(unix: Any) -> str:
    """A TSE time (unix seconds) as DSFinV-K writes it: ``2024-05-01T10:00:00.000Z``."""
    if isinstance(unix, bool) or not isinstance(unix, int):
        raise ValueError(f"a unix time, got {unix!r}")
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def qr_code_data(tx: dict[str, Any]) -> str:
    """The DSFinV-K QR code text of a finished transaction, built from its answer's fields."""
    raw, signature = tx["schema"]["raw"], tx["signature"]
    fields = [
        "V0",
        tx["client_serial_number"],
        raw["process_type"],
        base64.b64decode(raw["process_data"]).decode("utf-8"),
        str(tx["number"]),
        str(signature["counter"]),
        iso_time(tx["time_start"]),
        iso_time(tx["time_end"]),
        signature["algorithm"],
        tx["log"]["timestamp_format"],
        signature["value"],
        signature["public_key"],
    ]
    return ";".join(str(field) for field in fields)


def _money(minor: int, exponent: int) -> Decimal:
    """Minor units as euros and cents; refuses what two decimals cannot hold."""
    value = Decimal(minor).scaleb(-exponent)
    amount = value.quantize(CENT)
    if amount != value:
        raise Declined(f"amount {value} has more than two decimals, which the TSE cannot take")
    return amount


def _text(amount: Decimal) -> str:
    """``7.50``, ``-7.50``; never ``-0.00``."""
    return f"{abs(amount) if amount == 0 else amount:.2f}"


def _total(schema: Any) -> Decimal | None:
    """The sum of a schema's amounts per VAT rate; None when the answer does not echo them."""
    receipt = schema.get("standard_v1", {}).get("receipt") if isinstance(schema, dict) else None
    if not isinstance(receipt, dict) or "amounts_per_vat_rate" not in receipt:
        return None
    return sum((Decimal(str(entry["amount"])) for entry in receipt["amounts_per_vat_rate"]), Decimal("0"))


def _describe(answer: Any) -> str:
    """A fiskaly-style error body (``code``, ``message``) as one line of text."""
    if isinstance(answer, dict):
        code, message = answer.get("code"), answer.get("message") or answer.get("error")
        return " ".join(str(part) for part in (code, message) if part) or str(answer)[:200]
    return str(answer)[:200] if answer else "no details"
