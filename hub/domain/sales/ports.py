"""What sales needs from the catalog, as a narrow interface (the catalog context implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from hub.db.database import Transaction
from hub.domain.pricing import Discount, PricingLine, TaxRate


@dataclass(frozen=True, slots=True)
class SellableItem:
    """A product (or one of its variants) as a cart line needs it."""

    product_id: int
    variant_id: int | None
    name: str
    price: int
    is_promo: bool
    quantity_decimals: int  # 0 for pieces, 3 for kilograms
    track_stock: bool


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    id: int
    name: str
    email: str | None
    company_name: str | None
    tax_id: str | None
    address: str | None
    max_discount_percent: Decimal | None


class CatalogPort(Protocol):
    async def sellable(self, product_id: int, variant_id: int | None) -> SellableItem | None: ...

    async def by_barcode(self, code: str) -> SellableItem | None: ...

    async def by_plu(self, plu: str) -> SellableItem | None: ...

    async def taxes_for(self, product_id: int, variant_id: int | None) -> tuple[TaxRate, ...]: ...

    async def customer(self, customer_id: int) -> CustomerInfo | None: ...

    async def adjust_stock(
        self, tx: Transaction, product_id: int, variant_id: int | None, delta: Decimal
    ) -> None: ...


class AutomaticDiscounts(Protocol):
    """Where campaigns and automatic discounts (the pricing-engine issue) plug in.

    Given the cart's lines as the engine will price them, return them with any automatic line
    discounts set (``Discount.source`` names the campaign) and an automatic cart discount. A
    manual discount the cashier set on a line or the cart is kept: automatic ones fill the gaps.
    """

    async def apply(
        self, lines: list[PricingLine], *, customer_id: int | None
    ) -> tuple[list[PricingLine], Discount | None]: ...


class NoAutomaticDiscounts:
    """Until campaigns exist: every cart is priced as the cashier built it."""

    async def apply(
        self, lines: list[PricingLine], *, customer_id: int | None
    ) -> tuple[list[PricingLine], Discount | None]:
        return lines, None


class InfocodePort(Protocol):
    """Infocode prompts at POS steps (see :mod:`hub.domain.infocodes.service`)."""

    async def require(
        self,
        context: str,
        triggers: Sequence[str],
        *,
        product_id: int | None = None,
        tender_id: str | None = None,
    ) -> None: ...

    async def receipt_lines(self, context: str) -> list[str]: ...


class NoInfocodes:
    """No prompts configured: every step goes ahead."""

    async def require(
        self,
        context: str,
        triggers: Sequence[str],
        *,
        product_id: int | None = None,
        tender_id: str | None = None,
    ) -> None:
        return None

    async def receipt_lines(self, context: str) -> list[str]:
        return []
