"""Austria (RKSV): every receipt signed on the hub, chained, with an encrypted turnover counter.

The hub is the cashbox: it keeps the state in a :class:`RksvStateStore`, builds each receipt
with :mod:`protocols.signing.rksv_cashbox` and has a :class:`Signer` sign it (:class:`SoftwareSigner`:
an EC P-256 key); a failed signer still gets the receipt issued, chained, counted and marked.

Nothing twice (principle 3): ``sign`` finds an earlier result by ``request_id`` first, and each
receipt is committed with its new state in one store transaction, so a crash before the commit
leaves nothing behind and the retry issues the same receipt number again. Null receipts due
first (start, month, year, the signed one ending an outage) are committed the same way, each
under its own key, and listed in ``details["issued_before"]`` for printing (RKSV § 8 Abs. 3).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from datetime import datetime
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.errors import Busy, Declined, DeviceOffline, ProtocolError
from drivers.signing.base import SigningAdapter
from protocols.fiscal.receipt import FiscalReceipt, FiscalResult
from protocols.signing.rksv import (
    ALGORITHM,
    ES256_SIGNATURE_LENGTH,
    FAILED_SIGNATURE_TEXT,
    Amounts,
    RksvError,
)
from protocols.signing.rksv_cashbox import (
    LABELS,
    MUST_BE_SIGNED,
    CashboxConfig,
    Due,
    Issued,
    ReceiptKind,
    complete,
    draft,
    receipts_due,
)
from protocols.signing.rksv_cashbox import (
    RksvState as RksvState,  # re-exported: the stores' state type
)
from protocols.signing.rksv_verify import raw_signature

log = logging.getLogger(__name__)


class SignerFailed(Exception):
    """The signature creation device cannot sign now (card pulled, HSM unreachable, ...)."""


class Signer(Protocol):
    """A signature creation device for ES256."""

    @property
    def certificate_serial(self) -> str:
        """Hex serial of the certificate, or for a closed system (AT0) the company's key id."""
        ...

    async def sign(self, data: bytes) -> bytes:
        """The raw ES256 signature (R || S, 64 bytes) of ``data``; raises :class:`SignerFailed`."""
        ...


class SoftwareSigner:
    """Signs with an EC P-256 private key held by the hub (PEM, PKCS#8 or SEC1)."""

    def __init__(
        self, private_key_pem: bytes | str, certificate_serial: str, *, password: bytes | None = None
    ) -> None:
        pem = private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
        key = serialization.load_pem_private_key(pem, password=password)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("RKSV (R1) signs with ES256: the key must be an EC P-256 private key")
        self._key = key
        self._serial = certificate_serial

    @property
    def certificate_serial(self) -> str:
        return self._serial

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    async def sign(self, data: bytes) -> bytes:
        # cryptography returns DER; the JWS wants R || S.
        return raw_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))


class RksvStoreConflict(Exception):
    """The store refused a commit: the request id is taken, or the state moved on meanwhile."""


class RksvStateStore(Protocol):
    """Where the cashbox state and every issued receipt live (the hub's SQLite store)."""

    async def load(self) -> RksvState | None:
        """The state after the last committed receipt, or None for a new cashbox."""
        ...

    async def commit(self, request_id: str, state: RksvState, result: FiscalResult) -> None:
        """Store ``result`` under ``request_id`` and ``state`` as current, in one transaction.

        Raises :class:`RksvStoreConflict` when ``request_id`` is stored already or when
        ``state.last_receipt_number`` is not one more than the stored state's."""
        ...

    async def find(self, request_id: str) -> FiscalResult | None:
        """The result committed under ``request_id``, if any."""
        ...


class InMemoryRksvStore:
    """:class:`RksvStateStore` in memory, for tests; ``journal`` lists results in order."""

    def __init__(self) -> None:
        self._state: RksvState | None = None
        self._results: dict[str, FiscalResult] = {}
        self.journal: list[FiscalResult] = []

    async def load(self) -> RksvState | None:
        return self._state

    async def commit(self, request_id: str, state: RksvState, result: FiscalResult) -> None:
        last = self._state.last_receipt_number if self._state is not None else 0
        if request_id in self._results:
            raise RksvStoreConflict(f"request {request_id!r} is already stored")
        if state.last_receipt_number != last + 1:
            raise RksvStoreConflict(f"receipt {state.last_receipt_number} does not follow {last}")
        self._state = state
        self._results[request_id] = result
        self.journal.append(result)

    async def find(self, request_id: str) -> FiscalResult | None:
        return self._results.get(request_id)


class RksvAdapter(SigningAdapter):
    """Signs receipts of one RKSV cashbox (one ``cashbox_id``, one AES key, one signer)."""

    name: ClassVar[str] = "rksv"

    def __init__(
        self,
        *,
        cashbox_id: str,
        aes_key: str,
        signer: Signer,
        store: RksvStateStore,
        zda: str = "AT0",
        timezone: str = "Europe/Vienna",
        turnover_length: int = 8,
    ) -> None:
        """``aes_key`` is the Base64 of the 32-byte key registered with FinanzOnline. ``zda``
        is the certificate provider id: AT0 (closed system: the hub's own key, the serial a
        company key id such as ``U:ATU12345678-K1``) or AT1.. for a trust service certificate."""
        try:
            key = base64.b64decode(aes_key.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("rksv aes_key is not Base64") from None
        try:
            self._config = CashboxConfig(
                cashbox_id=cashbox_id,
                aes_key=key,
                certificate_serial=signer.certificate_serial,
                zda=zda,
                turnover_length=turnover_length,
            )
        except RksvError as error:
            raise ValueError(f"rksv configuration: {error}") from None
        self._signer = signer
        self._store = store
        self._zone = ZoneInfo(timezone)
        self._lock = asyncio.Lock()

    async def sign(self, receipt: FiscalReceipt) -> FiscalResult:
        kind, amounts = self._classify(receipt)
        return await self._run(receipt.request_id, self._local(receipt.at), Due(kind=kind), amounts)

    async def start_receipt(self, request_id: str, at: str) -> FiscalResult:
        """The cashbox's first receipt (a signed null receipt); once per cashbox."""
        local = self._local(at)
        async with self._lock:
            found = await self._store.find(request_id)
            if found is not None:
                return found
            state = await self._store.load() or RksvState()
            if state.has_start_receipt:
                raise Declined(f"rksv {self._config.cashbox_id}: the start receipt was issued already")
            try:
                outcome = await self._issue(request_id, state, Due(kind=ReceiptKind.START), local)
            except RksvStoreConflict as error:
                return await self._after_conflict(request_id, error)
            assert outcome is not None  # only optional receipts are skipped
            return outcome[1]

    async def month_receipt(self, request_id: str, at: str) -> FiscalResult:
        """The month's closing null receipt; December's is the year receipt (RKSV § 8 Abs. 3)."""
        local = self._local(at)
        if local.month == 12:
            due = Due(kind=ReceiptKind.YEAR, closes_year=local.year, closes_period=True)
        else:
            due = Due(kind=ReceiptKind.MONTH, closes_period=True)
        return await self._run(request_id, local, due, None)

    async def year_receipt(self, request_id: str, at: str) -> FiscalResult:
        """The year receipt, signed or not at all (DeviceOffline while the signer fails).
        Issued in December it closes that year, later it closes the year before."""
        local = self._local(at)
        year = local.year if local.month == 12 else local.year - 1
        due = Due(kind=ReceiptKind.YEAR, closes_year=year, closes_period=True)
        return await self._run(request_id, local, due, None, strict=True)

    async def close(self) -> None:
        return None

    async def _run(
        self, request_id: str, local: datetime, due: Due, amounts: Amounts | None, *, strict: bool = False
    ) -> FiscalResult:
        async with self._lock:
            # Looked up under the lock: a call with the same key may have just finished.
            found = await self._store.find(request_id)
            if found is not None:
                return found
            try:
                state = await self._store.load() or RksvState()
                if strict and state.year_closed >= due.closes_year:
                    raise Declined(f"rksv: the year receipt for {due.closes_year} was issued already")
                if due.closes_period:
                    due = _merge_closing(due, receipts_due(state, local))
                state, before = await self._issue_due(state, local, skip_closing=due.closes_period)
                outcome = await self._issue(
                    request_id, state, due, local, amounts, strict=strict, before=before
                )
            except RksvStoreConflict as error:
                return await self._after_conflict(request_id, error)
            assert outcome is not None  # only optional receipts are skipped
            return outcome[1]

    async def _after_conflict(self, request_id: str, error: RksvStoreConflict) -> FiscalResult:
        # Another writer got there first: its result stands if it was this request, else retry.
        found = await self._store.find(request_id)
        if found is not None:
            return found
        raise Busy(f"rksv {self._config.cashbox_id}: {error}; retry")

    async def _issue_due(
        self, state: RksvState, local: datetime, *, skip_closing: bool = False
    ) -> tuple[RksvState, list[FiscalResult]]:
        """Issue the null receipts due before a receipt at ``local`` (start, month/year closing,
        and, when the signer works again, an owed year receipt or the outage's recovery)."""
        issued: list[FiscalResult] = []
        for _ in range(4):  # start or closing, then one optional: never more than two
            due = [d for d in receipts_due(state, local) if not (skip_closing and d.closes_period)]
            if not due:
                break
            item = due[0]
            key = f"rksv:{self._config.cashbox_id}:{state.last_receipt_number + 1}:{item.kind}"
            outcome = await self._issue(key, state, item, local, optional=item.optional)
            if outcome is None:
                break
            state, result = outcome
            issued.append(result)
        return state, issued

    async def _issue(
        self,
        request_id: str,
        state: RksvState,
        due: Due,
        local: datetime,
        amounts: Amounts | None = None,
        *,
        strict: bool = False,
        optional: bool = False,
        before: list[FiscalResult] | None = None,
    ) -> tuple[RksvState, FiscalResult] | None:
        """Draft, sign and commit one receipt; None when an optional one could not be signed."""
        try:
            drafted = draft(
                self._config,
                state,
                due.kind,
                local,
                amounts,
                closes_period=due.closes_period,
                closes_year=due.closes_year,
            )
        except RksvError as error:
            raise Declined(f"rksv {self._config.cashbox_id}: {error}") from None
        signature = await self._signature(drafted.signing_input, due.kind)
        if signature is None:
            if optional:
                return None
            if strict or (due.kind in MUST_BE_SIGNED and due.kind is not ReceiptKind.YEAR):
                raise DeviceOffline(
                    f"rksv {self._config.cashbox_id}: the {due.kind} receipt must be signed "
                    "and the signature device failed"
                )
        new_state, issued = complete(state, drafted, signature, local)
        result = self._result(issued, before or [])
        await self._store.commit(request_id, new_state, result)
        return new_state, result

    async def _signature(self, data: bytes, kind: ReceiptKind) -> bytes | None:
        try:
            signature = await self._signer.sign(data)
        except SignerFailed as error:
            log.warning(
                "rksv %s: signature device failed on a %s receipt: %s", self._config.cashbox_id, kind, error
            )
            return None
        if len(signature) != ES256_SIGNATURE_LENGTH:
            raise ProtocolError(
                f"rksv {self._config.cashbox_id}: the signer returned {len(signature)} bytes, not 64"
            )
        return signature

    def _result(self, issued: Issued, before: list[FiscalResult]) -> FiscalResult:
        code = issued.code
        lines = [LABELS[issued.kind]] if LABELS[issued.kind] else []
        if not issued.signed:
            lines.append(FAILED_SIGNATURE_TEXT)
        lines.append(f"Kassen-ID: {code.cashbox_id}")
        local = datetime.fromisoformat(code.issued_at).replace(tzinfo=self._zone)
        details: dict[str, object] = {
            "receipt_type": issued.kind.value,
            "algorithm": f"{ALGORITHM}-{code.zda}",
            "cashbox_id": code.cashbox_id,
            "receipt_id": code.receipt_id,
            "issued_at": code.issued_at,
            "amounts": msgspec.to_builtins(code.amounts),
            "turnover_encrypted": code.turnover,
            "turnover_counter": issued.turnover,
            "certificate_serial": code.certificate_serial,
            "chain_value": code.previous_chain,
            "jws": issued.jws,
            "signed": issued.signed,
            "training": code.is_training,
            "storno": code.is_storno,
            "issued_before": [msgspec.to_builtins(result) for result in before],
        }
        return FiscalResult(
            fiscal_number=code.receipt_id,
            fiscalised_at=local.isoformat(),
            device_serial=code.cashbox_id,
            qr_data=issued.qr,
            print_lines=lines,
            details=details,
        )

    def _classify(self, receipt: FiscalReceipt) -> tuple[ReceiptKind, Amounts]:
        """The receipt's kind and its gross amounts per tax set (refunds negative)."""
        if receipt.currency_exponent != 2:
            raise Declined("rksv: amounts are euros with two decimals (currency exponent 2)")
        try:
            amounts = Amounts.from_lines((item.tax_rate, item.total) for item in receipt.items)
        except RksvError as error:
            raise Declined(f"rksv: {error}") from None
        if amounts.total != receipt.total:
            raise Declined(f"rksv: the lines add up to {amounts.total}, the receipt total is {receipt.total}")
        if receipt.kind == "refund":
            amounts = amounts.negated()
        if receipt.training:
            return ReceiptKind.TRAINING, amounts
        # A refund that names the receipt it reverses is a storno booking (RKSV § 10 Abs. 3);
        # a refund without one is a standard receipt with negative amounts.
        if receipt.kind == "refund" and receipt.refund_of_number:
            return ReceiptKind.STORNO, amounts
        return ReceiptKind.STANDARD, amounts

    def _local(self, at: str) -> datetime:
        """The receipt time as local time without a zone (Beleg-Datum-Uhrzeit)."""
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise Declined(f"rksv: receipt time {at!r} is not ISO 8601") from None
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self._zone).replace(tzinfo=None)


def _merge_closing(requested: Due, due: list[Due]) -> Due:
    """An explicit month/year receipt stands in for the closing due anyway (one, not two)."""
    for item in due:
        if item.closes_period and item.kind is ReceiptKind.YEAR and requested.kind is not ReceiptKind.YEAR:
            return Due(kind=ReceiptKind.YEAR, closes_year=item.closes_year, closes_period=True)
    return requested
