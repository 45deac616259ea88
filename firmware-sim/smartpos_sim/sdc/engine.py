"""The simulated SDC itself: counters, signatures, the journal, and answers kept by RequestId.

What it does as a TaxCore SDC does:

- Counters: ``totalCounter`` counts every invoice; ``transactionTypeCounter`` counts invoices of
  the same invoice type and transaction type. ``invoiceCounter`` reads
  ``<transactionTypeCounter>/<totalCounter><extension>``, the extension being two Cyrillic
  letters (``ПП`` a normal sale, ``ПР`` a normal refund; the other types use the first letter
  of their Serbian name, this simulator's choice). ``invoiceNumber`` is
  ``<requestedBy>-<signedBy>-<totalCounter>``.
- Tax: each label has a rate; a line's gross total is split over its labels
  (net = gross / (1 + sum of rates)), and ``taxItems`` sums the tax per label, rounded half up
  to the para at the end.
- RequestId: TaxCore documents the optional ``RequestId`` header (at most 32 characters) as the
  POS's key for finding a request whose answer never arrived. This simulator keeps every answer
  by its RequestId: ``GET /api/v3/invoices/{requestId}`` returns it, and a repeated
  ``POST`` with the same RequestId returns it again instead of signing a second time.

What is simulated only: the signature is an HMAC-SHA256 with a per-process key (a real SDC signs
with its secure element's RSA key), ``encryptedInternalData`` is a keyed hash, and
``verificationUrl`` points at this process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from smartpos_sim.sdc.validation import Invoice

CENT = Decimal("0.01")
WIDTH = 40
_TYPE_WORDS = {
    "Normal": ("ПРОМЕТ", "П"),
    "Proforma": ("ПРЕДРАЧУН", "Р"),
    "Copy": ("КОПИЈА", "К"),
    "Training": ("ОБУКА", "О"),
    "Advance": ("АВАНС", "А"),
}
_TRANSACTION_WORDS = {"Sale": ("ПРОДАЈА", "П"), "Refund": ("РЕФУНДАЦИЈА", "Р")}
_PAYMENT_WORDS = {
    "Other": "Друго безготовинско плаћање",
    "Cash": "Готовина",
    "Card": "Платна картица",
    "Check": "Чек",
    "WireTransfer": "Пренос на рачун",
    "Voucher": "Ваучер",
    "MobileMoney": "Инстант плаћање",
}


@dataclass(frozen=True)
class TaxRate:
    label: str
    rate: Decimal  # percent
    name: str


# Serbia's labels as SDCs there configure them (a simulator default; --tax replaces them).
DEFAULT_TAXES = (
    TaxRate("Ђ", Decimal("20"), "О-ПДВ"),
    TaxRate("Е", Decimal("10"), "П-ПДВ"),
    TaxRate("Г", Decimal("0"), "Без ПДВ"),
    TaxRate("А", Decimal("0"), "Не-ПДВ"),
)


@dataclass(frozen=True)
class Identity:
    """Who the SDC signs for: printed on every journal and returned in every answer."""

    uid: str = "SIMSDC01"
    tin: str = "100000001"
    business_name: str = "SmartPOS Sim d.o.o."
    location_name: str = "Продавница 1"
    address: str = "Кнеза Милоша 1"
    district: str = "Београд"
    mrc: str = "00-0000-SIMSDC01"


class Sdc:
    """One SDC with its secure element: signs invoices and remembers each answer."""

    def __init__(self, identity: Identity, taxes: tuple[TaxRate, ...], verification_base: str) -> None:
        self.identity = identity
        self.taxes = {tax.label: tax for tax in taxes}
        self.verification_base = verification_base.rstrip("/")
        self._key = secrets.token_bytes(32)
        self.total_counter = 0
        self.type_counters: dict[tuple[str, str], int] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.signed: list[dict[str, Any]] = []  # one entry per signature, for GET /sim/invoices

    @property
    def labels(self) -> set[str]:
        return set(self.taxes)

    def find(self, request_id: str) -> dict[str, Any] | None:
        return self.answers.get(request_id)

    def sign(self, invoice: Invoice, request_id: str | None) -> dict[str, Any]:
        """Sign ``invoice``, or return the answer already given to ``request_id``.

        Synchronous on purpose: nothing else runs between finding no answer and storing the new
        one, so two requests with one RequestId can never both sign.
        """
        if request_id is not None and request_id in self.answers:
            return self.answers[request_id]
        kind = (invoice.invoice_type, invoice.transaction_type)
        self.total_counter += 1
        self.type_counters[kind] = self.type_counters.get(kind, 0) + 1
        type_counter = self.type_counters[kind]
        extension = _TYPE_WORDS[kind[0]][1] + _TRANSACTION_WORDS[kind[1]][1]
        uid = self.identity.uid
        number = f"{uid}-{uid}-{self.total_counter}"
        now = datetime.now(UTC).astimezone()
        sdc_time = now.isoformat(timespec="milliseconds")
        tax_items = self._tax_items(invoice)
        signed_text = "|".join((number, sdc_time, str(invoice.total), str(self.total_counter), extension))
        signature = base64.b64encode(hmac.digest(self._key, signed_text.encode(), hashlib.sha256)).decode()
        internal = hmac.digest(self._key, b"internal|" + signed_text.encode(), hashlib.sha256)
        url = self._verification_url(number, sdc_time, invoice.total, signature)
        answer: dict[str, Any] = {
            "requestedBy": uid,
            "signedBy": uid,
            "sdcDateTime": sdc_time,
            "invoiceCounter": f"{type_counter}/{self.total_counter}{extension}",
            "invoiceCounterExtension": extension,
            "invoiceNumber": number,
            "taxItems": tax_items,
            "verificationUrl": url,
            "verificationQRCode": _qr_gif(url),
            "journal": "",
            "messages": "Успешно",
            "signature": signature,
            "encryptedInternalData": base64.b64encode(internal).decode(),
            "totalCounter": self.total_counter,
            "transactionTypeCounter": type_counter,
            "totalAmount": invoice.total,
            "taxGroupRevision": 1,
            "businessName": self.identity.business_name,
            "tin": self.identity.tin,
            "locationName": self.identity.location_name,
            "address": self.identity.address,
            "district": self.identity.district,
            "mrc": self.identity.mrc,
        }
        answer["journal"] = self._journal(invoice, answer, now)
        if request_id is not None:
            self.answers[request_id] = answer
        self.signed.append(
            {
                "requestId": request_id,
                "invoiceNumber": number,
                "invoiceType": invoice.invoice_type,
                "transactionType": invoice.transaction_type,
                "totalAmount": str(invoice.total),
                "totalCounter": self.total_counter,
                "sdcDateTime": sdc_time,
            }
        )
        return answer

    def status(self) -> dict[str, Any]:
        """What ``GET /api/v3/status`` answers: device identity, time and the tax rates."""
        rates = [
            {
                "name": tax.name,
                "categoryType": 0,
                "taxRates": [{"rate": tax.rate, "label": tax.label}],
                "orderId": index + 1,
            }
            for index, tax in enumerate(self.taxes.values())
        ]
        current = {"validFrom": "2020-01-01T00:00:00Z", "groupId": 1, "taxCategories": rates}
        last = f"{self.identity.uid}-{self.identity.uid}-{self.total_counter}" if self.total_counter else ""
        return {
            "isPinRequired": False,
            "auditRequired": False,
            "sdcDateTime": datetime.now(UTC).astimezone().isoformat(timespec="milliseconds"),
            "lastInvoiceNumber": last,
            "protocolVersion": "3.0",
            "deviceSerialNumber": self.identity.mrc,
            "make": "SmartPOS",
            "model": "Simulated SDC",
            "softwareVersion": "1.0",
            "hardwareVersion": "1.0",
            "uid": self.identity.uid,
            "gsc": ["0000"],
            "mssc": [],
            "supportedLanguages": ["sr-Cyrl-RS", "en-US"],
            "currentTaxRates": current,
            "allTaxRates": [current],
        }

    def _tax_items(self, invoice: Invoice) -> list[dict[str, Any]]:
        tax: dict[str, Decimal] = {}
        for item in invoice.items:
            rates = [self.taxes[label].rate for label in item.labels]
            net = item.total / (1 + sum(rates, Decimal("0")) / 100)
            for label, rate in zip(item.labels, rates, strict=True):
                tax[label] = tax.get(label, Decimal("0")) + net * rate / 100
        return [
            {
                "categoryType": 0,
                "label": label,
                "amount": amount.quantize(CENT, ROUND_HALF_UP),
                "rate": self.taxes[label].rate,
                "categoryName": self.taxes[label].name,
            }
            for label, amount in tax.items()
        ]

    def _verification_url(self, number: str, sdc_time: str, total: Decimal, signature: str) -> str:
        data = json.dumps([number, sdc_time, str(total), signature[:16]], separators=(",", ":"))
        token = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
        return f"{self.verification_base}/?vl={token}"

    def _journal(self, invoice: Invoice, answer: dict[str, Any], now: datetime) -> str:
        """The text the POS prints: identity, items, totals, taxes, SDC number and counter."""
        fiscal = invoice.invoice_type == "Normal"
        title = "ФИСКАЛНИ РАЧУН" if fiscal else "ОВО НИЈЕ ФИСКАЛНИ РАЧУН"
        kind = f"{_TYPE_WORDS[invoice.invoice_type][0]} {_TRANSACTION_WORDS[invoice.transaction_type][0]}"
        ident = self.identity
        lines = [f" {title} ".center(WIDTH, "=")]
        lines += [_pair(k, v) for k, v in (("ПИБ:", ident.tin), ("Предузеће:", ident.business_name))]
        lines += [_pair("Место продаје:", ident.location_name), _pair("Адреса:", ident.address)]
        lines += [_pair("Општина:", ident.district), _pair("Касир:", invoice.cashier)]
        if invoice.buyer_id:
            lines.append(_pair("ИД купца:", invoice.buyer_id))
        if invoice.referent_number:
            lines.append(_pair("Реф. број:", invoice.referent_number))
            lines.append(_pair("Реф. време:", _local(invoice.referent_dt)))
        lines += [f" {kind} ".center(WIDTH, "-"), "Артикли", "=" * WIDTH]
        lines.append("Назив   Цена         Кол.         Укупно")
        for item in invoice.items:
            lines.append(f"{item.name} ({', '.join(item.labels)})")
            numbers = f"{_money(item.unit_price):>14}{_qty(item.quantity):>12}{_money(item.total):>14}"
            lines.append(numbers.rjust(WIDTH))
        lines += ["-" * WIDTH, _pair("Укупан износ:", _money(invoice.total))]
        lines += [_pair(_PAYMENT_WORDS[kind_] + ":", _money(amount)) for kind_, amount in invoice.payments]
        lines += ["=" * WIDTH, "Ознака       Име      Стопа        Порез"]
        total_tax = Decimal("0")
        for tax in answer["taxItems"]:
            total_tax += tax["amount"]
            rate = f"{_money(tax['rate'])}%"
            lines.append(f"{tax['label']:<8}{tax['categoryName']:>10}{rate:>10}{_money(tax['amount']):>12}")
        lines += ["-" * WIDTH, _pair("Укупан износ пореза:", _money(total_tax)), "=" * WIDTH]
        lines.append(_pair("ПФР време:", now.strftime("%d.%m.%Y. %H:%M:%S")))
        lines.append(_pair("ПФР број рачуна:", answer["invoiceNumber"]))
        lines.append(_pair("Бројач рачуна:", answer["invoiceCounter"]))
        closing = "КРАЈ ФИСКАЛНОГ РАЧУНА" if fiscal else title
        lines += ["=" * WIDTH, f" {closing} ".center(WIDTH, "=")]
        return "\r\n".join(lines)


def _pair(left: str, right: str) -> str:
    """``left`` and ``right`` on one journal line, ``right`` flush right (wider text runs on)."""
    return left + right.rjust(max(WIDTH - len(left), len(right) + 1))


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):f}".replace(".", ",")


def _qty(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001'), ROUND_HALF_UP):f}".replace(".", ",")


def _local(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%d.%m.%Y. %H:%M:%S")
    except ValueError:
        return iso


def _qr_gif(url: str) -> str:
    """The verification URL as a QR code image, GIF, base64 (what ``verificationQRCode`` holds)."""
    import qrcode  # type: ignore[import-untyped]  # Pillow behind it: loaded on first signature

    buffer = io.BytesIO()
    qrcode.make(url, border=2).save(buffer, format="GIF")
    return base64.b64encode(buffer.getvalue()).decode()
