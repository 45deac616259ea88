"""The Austrian RKSV machine-readable code and its pieces (RK-Suite R1), pure and sans-I/O.

Sources (facts only): RKSV §§ 8-10 and its Anlage (Z 4 chaining, Z 8/9 AES-256 turnover
counter, Z 12 machine-readable code); the BMF/A-SIT "Festlegungen zu Detailfragen der RKSV"
and the A-SIT Mustercode (github.com/BMF-RKSV-Technik/at-registrierkassen-mustercode).

The code is 13 fields after a leading underscore::

    _R1-<ZDA>_<Kassen-ID>_<Belegnummer>_<Datum-Uhrzeit>_<Normal>_<Ermaessigt-1>_<Ermaessigt-2>
    _<Null>_<Besonders>_<Umsatzzaehler-AES256-ICM>_<Zertifikat-Seriennummer>_<Sig-Voriger-Beleg>

That string (without the signature) is the JWS payload; the QR code appends ``_`` and the
signature in standard Base64. R1 means ES256 signatures, SHA-256 hashes and an 8-byte chain
value. ``<ZDA>`` names the certificate provider: ``AT1``..``AT<n>`` for a certificate of a
trust service (the serial is then the certificate's serial in hex), ``AT0`` for a closed
system whose key is named by the company's tax identifier plus a key id (``U:ATU12345678-K1``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

import msgspec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ALGORITHM: Final = "R1"
JWS_HEADER: Final = '{"alg":"ES256"}'
# Signature value of a receipt issued while the security device was out of order (A-SIT
# Mustercode, Detailfragen "Ausfall der Signaturerstellungseinheit"); it is printed as well.
FAILED_SIGNATURE_TEXT: Final = "Sicherheitseinrichtung ausgefallen"
FAILED_SIGNATURE: Final = FAILED_SIGNATURE_TEXT.encode("utf-8")
# Training and storno receipts carry Base64("TRA") / Base64("STO") instead of the counter
# (RKSV § 10 Abs. 3; Mustercode 0.5: shorter than the 5-byte minimum, so never ambiguous).
TRAINING_MARKER: Final = "VFJB"
STORNO_MARKER: Final = "U1RP"
TURNOVER_LENGTH: Final = 8  # bytes of the encrypted counter; the Anlage allows 5..16
CHAIN_LENGTH: Final = 8  # R1: the first 8 bytes of SHA-256
AES_KEY_LENGTH: Final = 32
ES256_SIGNATURE_LENGTH: Final = 64  # JWS ES256: R || S, 32 bytes each (RFC 7518 § 3.4)

_ZDA = re.compile(r"^(AT0|[A-Z]{2}[1-9][0-9]*)$")
# A closed system (AT0) names the key by a company identifier and an optional key id:
# U: VAT id, S: tax number, G: GLN (the BMF test tool's formats).
_CLOSED_SERIAL = re.compile(r"^(U:[A-Z0-9]{1,14}|S:[0-9]{9}|G:[0-9]{13})(-[A-Za-z0-9]+)?$")
_OPEN_SERIAL = re.compile(r"^[0-9A-Fa-f]+$")
_AMOUNT = re.compile(r"^-?(0|[1-9][0-9]{0,16}),[0-9]{2}$")  # fits the 8-byte counter
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class RksvError(ValueError):
    """Base of every RKSV codec error."""


class RksvFormatError(RksvError):
    """A value that cannot go into the code, or text that is not a well-formed code or JWS."""


class TaxSet(StrEnum):
    """The five amount fields of the code, in code order."""

    NORMAL = "normal"
    REDUCED_1 = "reduced_1"
    REDUCED_2 = "reduced_2"
    ZERO = "zero"
    SPECIAL = "special"


# Which field a tax rate (percent) goes to. The signature format fixes 20/10/13/19 %; the BMF
# (README "Brutto vs. Netto", 10.02.2016) puts exempt amounts and every other rate into
# Satz-Null, and 4.9 % (from 1.7.2026) into Satz-Besonders (BMF note of 13.03.2026).
_RATE_SETS: Final = {
    Decimal(20): TaxSet.NORMAL,
    Decimal(10): TaxSet.REDUCED_1,
    Decimal(13): TaxSet.REDUCED_2,
    Decimal(19): TaxSet.SPECIAL,
    Decimal("4.9"): TaxSet.SPECIAL,
}


def tax_set(rate: str | Decimal) -> TaxSet:
    """The amount field for a tax rate in percent ("20", "10.00", Decimal("4.9"))."""
    try:
        value = Decimal(rate)
    except InvalidOperation:
        raise RksvFormatError(f"tax rate {rate!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise RksvFormatError(f"tax rate {rate!r} is not a percentage")
    return _RATE_SETS.get(value, TaxSet.ZERO)


class Amounts(msgspec.Struct, frozen=True, kw_only=True):
    """Gross amounts (tax included, BMF 10.02.2016) per tax set, in cents."""

    normal: int = 0
    reduced_1: int = 0
    reduced_2: int = 0
    zero: int = 0
    special: int = 0

    @classmethod
    def of(cls, fields: Iterable[int]) -> Amounts:
        """From the five amounts in code order."""
        normal, reduced_1, reduced_2, zero, special = fields
        return cls(normal=normal, reduced_1=reduced_1, reduced_2=reduced_2, zero=zero, special=special)

    @classmethod
    def from_lines(cls, lines: Iterable[tuple[str | Decimal, int]]) -> Amounts:
        """Sum ``(tax rate, gross cents)`` lines into their tax sets."""
        sums = dict.fromkeys(TaxSet, 0)
        for rate, cents in lines:
            sums[tax_set(rate)] += cents
        return cls.of(sums[key] for key in TaxSet)

    def fields(self) -> tuple[int, int, int, int, int]:
        """The amounts in code order: Normal, Ermaessigt-1, Ermaessigt-2, Null, Besonders."""
        return (self.normal, self.reduced_1, self.reduced_2, self.zero, self.special)

    @property
    def total(self) -> int:
        """What the receipt adds to the turnover counter: all five sets, Satz-Null included
        (RKSV § 8 Abs. 1; Mustercode 0.5 notes)."""
        return sum(self.fields())

    def negated(self) -> Amounts:
        return Amounts.of(-cents for cents in self.fields())


def format_amount(cents: int) -> str:
    """Euros with two decimals and a decimal comma, no grouping: -1234 -> "-12,34"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole},{fraction:02d}"


def parse_amount(text: str) -> int:
    """The inverse of :func:`format_amount`; anything else raises :class:`RksvFormatError`."""
    if not _AMOUNT.match(text):
        raise RksvFormatError(f"amount {text!r} is not like 12,34")
    whole, fraction = text.lstrip("-").split(",")
    cents = int(whole) * 100 + int(fraction)
    return -cents if text.startswith("-") else cents


def format_time(local: datetime) -> str:
    """Beleg-Datum-Uhrzeit: local time, ISO 8601 to the second, without a zone."""
    if local.tzinfo is not None:
        raise RksvFormatError("the receipt time must be local time without a zone")
    return local.replace(microsecond=0).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    if not _DATE_TIME.match(text):
        raise RksvFormatError(f"time {text!r} is not YYYY-MM-DDThh:mm:ss")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise RksvFormatError(f"time {text!r} is not a valid date") from None


def check_certificate_serial(zda: str, serial: str) -> None:
    """Raise unless ``serial`` fits ``zda``: a company key id for AT0, a hex serial otherwise."""
    if not _ZDA.match(zda):
        raise RksvFormatError(f"ZDA id {zda!r} is not AT0 or a provider id like AT1")
    pattern = _CLOSED_SERIAL if zda == "AT0" else _OPEN_SERIAL
    if not pattern.match(serial):
        kind = "U:/S:/G: company id (optionally -keyid)" if zda == "AT0" else "hex certificate serial"
        raise RksvFormatError(f"certificate serial {serial!r} is not a {kind} as {zda} requires")


def _check_id(name: str, value: str) -> None:
    # Fields are separated by "_" and a cashbox id or receipt number may not contain one.
    if not value or "_" in value or any(ord(c) < 0x20 for c in value):
        raise RksvFormatError(f"{name} {value!r} is empty or contains '_' or control characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise RksvFormatError(f"{what} {text!r} is not Base64") from None


def _b64url(data: bytes) -> str:
    # JWS compact form: URL-safe alphabet, no padding (RFC 7515 § 2).
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise RksvFormatError(f"{what} is not unpadded Base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def turnover_iv(cashbox_id: str, receipt_id: str) -> bytes:
    """Anlage Z 8: the first 16 bytes of SHA-256 over the UTF-8 of cashbox id + receipt id."""
    return hashlib.sha256((cashbox_id + receipt_id).encode("utf-8")).digest()[:16]


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(key) != AES_KEY_LENGTH:
        raise RksvFormatError(f"the AES key has {len(key)} bytes, not {AES_KEY_LENGTH}")
    # ICM is CTR with the IV as the initial 128-bit counter block. Only ``len(data)`` bytes of
    # key stream are used, so no padding is involved (Mustercode: NoPadding is essential).
    cipher = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return cipher.update(data) + cipher.finalize()


def encrypt_turnover(
    counter: int, key: bytes, cashbox_id: str, receipt_id: str, length: int = TURNOVER_LENGTH
) -> str:
    """Stand-Umsatz-Zaehler-AES256-ICM: cents as ``length``-byte big-endian two's complement."""
    if not 5 <= length <= 16:
        raise RksvFormatError(f"turnover counter length {length} is outside 5..16 bytes")
    try:
        plain = counter.to_bytes(length, "big", signed=True)
    except OverflowError:
        raise RksvFormatError(f"turnover counter {counter} does not fit {length} bytes") from None
    return _b64(_aes_ctr(key, turnover_iv(cashbox_id, receipt_id), plain))


def decrypt_turnover(encoded: str, key: bytes, cashbox_id: str, receipt_id: str) -> int:
    """The counter in cents, from the code's field (not a TRA/STO marker)."""
    data = _b64_decode(encoded, "turnover counter")
    if not 5 <= len(data) <= 16:
        raise RksvFormatError(f"turnover counter has {len(data)} bytes, not 5..16")
    return int.from_bytes(_aes_ctr(key, turnover_iv(cashbox_id, receipt_id), data), "big", signed=True)


def chain_value(previous_jws: str | None, cashbox_id: str) -> str:
    """Sig-Voriger-Beleg (Anlage Z 4): Base64 of the first 8 bytes of SHA-256 over the previous
    receipt's whole JWS compact representation, or over the cashbox id for the start receipt."""
    data = previous_jws if previous_jws else cashbox_id
    return _b64(hashlib.sha256(data.encode("utf-8")).digest()[:CHAIN_LENGTH])


class ReceiptCode(msgspec.Struct, frozen=True, kw_only=True):
    """The signed fields of one receipt, exactly as they appear in the code."""

    zda: str
    cashbox_id: str
    receipt_id: str
    issued_at: str  # YYYY-MM-DDThh:mm:ss, local time
    amounts: Amounts
    turnover: str  # encrypted counter, or TRAINING_MARKER / STORNO_MARKER
    certificate_serial: str
    previous_chain: str

    def __post_init__(self) -> None:
        _check_id("cashbox id", self.cashbox_id)
        _check_id("receipt id", self.receipt_id)
        # Only the format here: whether the serial fits the ZDA is the cashbox's configuration
        # (check_certificate_serial), and codes of other cashboxes must still parse.
        if not _ZDA.match(self.zda):
            raise RksvFormatError(f"ZDA id {self.zda!r} is not AT0 or a provider id like AT1")
        _check_id("certificate serial", self.certificate_serial)
        parse_time(self.issued_at)
        markers = (TRAINING_MARKER, STORNO_MARKER)
        if (
            self.turnover not in markers
            and not 5 <= len(_b64_decode(self.turnover, "turnover counter")) <= 16
        ):
            raise RksvFormatError(f"turnover counter {self.turnover!r} is not 5..16 bytes")
        if len(_b64_decode(self.previous_chain, "chain value")) != CHAIN_LENGTH:
            raise RksvFormatError(f"chain value {self.previous_chain!r} is not {CHAIN_LENGTH} bytes")

    @property
    def is_training(self) -> bool:
        return self.turnover == TRAINING_MARKER

    @property
    def is_storno(self) -> bool:
        return self.turnover == STORNO_MARKER

    @property
    def is_null(self) -> bool:
        """A null receipt (start, month, year, recovery): every amount is zero."""
        return not any(self.amounts.fields())

    def payload(self) -> str:
        """The machine-readable code without its signature: the JWS payload."""
        fields = [
            f"{ALGORITHM}-{self.zda}",
            self.cashbox_id,
            self.receipt_id,
            self.issued_at,
            *(format_amount(cents) for cents in self.amounts.fields()),
            self.turnover,
            self.certificate_serial,
            self.previous_chain,
        ]
        return "_" + "_".join(fields)

    @classmethod
    def from_payload(cls, payload: str) -> ReceiptCode:
        parts = payload.split("_")
        if len(parts) != 13 or parts[0]:
            raise RksvFormatError("the code is not '_' followed by 12 '_'-separated fields")
        suite, _, zda = parts[1].partition("-")
        if suite != ALGORITHM:
            raise RksvFormatError(f"RK-Suite {parts[1]!r} is not {ALGORITHM}-<ZDA>")
        return cls(
            zda=zda,
            cashbox_id=parts[2],
            receipt_id=parts[3],
            issued_at=parts[4],
            amounts=Amounts.of(parse_amount(part) for part in parts[5:10]),
            turnover=parts[10],
            certificate_serial=parts[11],
            previous_chain=parts[12],
        )


def signing_input(code: ReceiptCode) -> bytes:
    """What ES256 signs: BASE64URL(header) "." BASE64URL(payload) (RFC 7515 § 5.1)."""
    header = _b64url(JWS_HEADER.encode("utf-8"))
    return f"{header}.{_b64url(code.payload().encode('utf-8'))}".encode("ascii")


def jws_compact(code: ReceiptCode, signature: bytes) -> str:
    """The receipt's JWS compact representation, as stored in the DEP and chained over."""
    if signature != FAILED_SIGNATURE and len(signature) != ES256_SIGNATURE_LENGTH:
        raise RksvFormatError(f"an ES256 signature has {ES256_SIGNATURE_LENGTH} bytes, not {len(signature)}")
    return f"{signing_input(code).decode('ascii')}.{_b64url(signature)}"


def failed_jws(code: ReceiptCode) -> str:
    """The JWS of a receipt signed while the security device was out of order."""
    return jws_compact(code, FAILED_SIGNATURE)


def jws_parts(jws: str) -> tuple[str, bytes]:
    """The payload text and the signature bytes of a JWS compact representation."""
    segments = jws.split(".")
    if len(segments) != 3:
        raise RksvFormatError("a JWS compact representation has three '.'-separated segments")
    header = _b64url_decode(segments[0], "JWS header")
    if header != JWS_HEADER.encode("utf-8"):
        raise RksvFormatError(f"JWS header {header!r} is not {JWS_HEADER}")
    try:
        payload = _b64url_decode(segments[1], "JWS payload").decode("utf-8")
    except UnicodeDecodeError:
        raise RksvFormatError("JWS payload is not UTF-8") from None
    return payload, _b64url_decode(segments[2], "JWS signature")


def split_jws(jws: str) -> tuple[ReceiptCode, bytes]:
    """The code and the signature bytes of a JWS compact representation."""
    payload, signature = jws_parts(jws)
    return ReceiptCode.from_payload(payload), signature


def qr_code(jws: str) -> str:
    """The QR code's text: the payload, "_", and the signature in standard Base64.

    The payload is taken as signed (not re-formatted), so the QR code verifies whatever
    formatting the signer used."""
    payload, signature = jws_parts(jws)
    ReceiptCode.from_payload(payload)
    return f"{payload}_{_b64(signature)}"


def jws_from_qr(text: str) -> str:
    """The JWS compact representation back from a QR code's text."""
    payload, sep, encoded = text.rpartition("_")
    if not sep:
        raise RksvFormatError("the QR code has no signature field")
    ReceiptCode.from_payload(payload)
    signature = _b64_decode(encoded, "signature")
    header = _b64url(JWS_HEADER.encode("utf-8"))
    return f"{header}.{_b64url(payload.encode('utf-8'))}.{_b64url(signature)}"


def is_failed_signature(signature: bytes) -> bool:
    return signature == FAILED_SIGNATURE
