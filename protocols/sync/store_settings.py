"""The store's settings document, as the hub applies it and the cloud authors it.

Receipt header and footer, currency, rounding, in-store barcodes, discount tiers and presets,
the shift clock. The hub keeps it as one JSON document with a version (``hub.domain.store_settings``);
the cloud validates what an admin writes against this same type, so a document the cloud
accepts is one the hub can apply.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from protocols.sync.values import Amount, PercentText

Text64 = Annotated[str, msgspec.Meta(max_length=64)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]


class InStoreBarcodeLayout(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """EAN-13 codes a scale or the store prints: prefix, item code, then a weight or a price.

    The default reads ``2 IIIII VVVVV C``: prefix "2" (one digit; "20".."29" with ``prefix``
    "2" all match), a 5-digit item code (the product's ``plu``), a 5-digit value and the check
    digit. ``value_kind`` says whether the value is a weight in grams (``value_decimals`` 3
    gives kilograms) or a price in minor units.
    """

    enabled: bool = True
    prefix: Annotated[str, msgspec.Meta(pattern=r"^2[0-9]{0,1}$")] = "2"
    item_digits: Annotated[int, msgspec.Meta(ge=3, le=6)] = 5
    value_digits: Annotated[int, msgspec.Meta(ge=4, le=6)] = 5
    value_kind: Literal["weight", "price"] = "weight"
    value_decimals: Annotated[int, msgspec.Meta(ge=0, le=3)] = 3


class DiscountTier(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Without a customer, a cart whose total is at least ``min_total`` may get ``max_percent``."""

    min_total: Amount
    max_percent: PercentText


class DiscountPreset(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A quick discount button on the POS discount panel ("10%", "Staff")."""

    percent: PercentText
    label: Annotated[str, msgspec.Meta(max_length=24)] = ""


class StoreSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Everything a sale needs to know about the store."""

    store_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = "store-1"
    store_name: Text64 = "SmartPOS store"
    business_name: Text64 = ""
    address: Text200 = ""
    jib: Annotated[str, msgspec.Meta(max_length=32)] = ""  # company identification number
    pdv_number: Annotated[str, msgspec.Meta(max_length=32)] = ""  # VAT registration number
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    receipt_header: Annotated[str, msgspec.Meta(max_length=500)] = ""  # lines under the store's details
    receipt_footer: Annotated[str, msgspec.Meta(max_length=500)] = ""
    # Regional number format of printed amounts (help center: regional settings).
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal["", " ", ".", ",", "'"] = ""
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "BAM"
    currency_symbol: Annotated[str, msgspec.Meta(max_length=8)] = "KM"
    currency_exponent: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    language: Annotated[str, msgspec.Meta(max_length=16)] = "bs"
    paper_width_mm: Literal[58, 80] = 80
    rounding_scope: Literal["line", "document"] = "line"
    in_store_barcodes: InStoreBarcodeLayout = InStoreBarcodeLayout()
    discount_tiers: Annotated[list[DiscountTier], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=lambda: [
            DiscountTier(min_total=0, max_percent="5"),
            DiscountTier(min_total=5000, max_percent="10"),
            DiscountTier(min_total=10000, max_percent="15"),
        ]
    )
    # Up to six preset buttons; a preset is still checked against the tiers when applied.
    discount_presets: Annotated[list[DiscountPreset], msgspec.Meta(max_length=6)] = msgspec.field(
        default_factory=lambda: [DiscountPreset(percent="5"), DiscountPreset(percent="10")]
    )
    customer_max_discount_percent: PercentText = "20"
    refund_without_receipt_needs_manager: bool = True
    receipt_printer: Annotated[str, msgspec.Meta(max_length=64)] = "receipt"
    cash_drawer: Annotated[str, msgspec.Meta(max_length=64)] = "receipt"
    auto_print: bool = True
    # Shifts: the store's clock (business dates, 23:59 auto-close, work hours), opening cash.
    timezone: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$")] = "Europe/Sarajevo"
    opening_cash_mode: Literal["fixed", "free"] = "free"
    fixed_opening_cash: Amount = 0
    work_start: Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "08:00"
    work_end: Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "22:00"
    late_threshold_min: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 10  # 1440: never late
    early_threshold_min: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 10  # 1440: never early
    auto_lock_after_order: bool = False
    shift_notification_emails: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=254)]], msgspec.Meta(max_length=10)
    ] = []

    def __post_init__(self) -> None:
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator must differ from decimal_separator")

    def money_text(self, minor: int) -> str:
        """``minor`` units as the store prints amounts: 123456 -> "1.234,56" with "," and "."."""
        sign = "-" if minor < 0 else ""
        whole, frac = divmod(abs(minor), 10**self.currency_exponent)
        digits = f"{whole:,}".replace(",", self.thousands_separator)
        if self.currency_exponent == 0:
            return sign + digits
        return f"{sign}{digits}{self.decimal_separator}{frac:0{self.currency_exponent}d}"
