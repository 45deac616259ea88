"""What the catalog API takes and gives (msgspec Structs).

Inputs forbid unknown fields; prices are integer minor units (a float or a string is refused
when decoding); stock, quantities and rates are decimal strings (principle 5). ``...Patch``
inputs change only the fields they carry.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.domain.money import Amount, PercentText, QuantityText

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Short = Annotated[str, msgspec.Meta(max_length=200)]
SignedQuantityText = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]{1,7}(\.[0-9]{1,3})?$")]
Barcodes = Annotated[list[Code], msgspec.Meta(max_length=20)]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TaxRateIn(_In, kw_only=True):
    """A tax rate: ``rate`` in percent; inclusive (in the price) or exclusive (added on top)."""

    name: Name
    rate: PercentText
    inclusive: bool = True
    compound: bool = False
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    is_default: bool = False


class TaxRateView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    rate: str
    inclusive: bool
    compound: bool
    priority: int
    is_default: bool
    active: bool


class TaxGroupIn(_In, kw_only=True):
    """Several rates that apply together (a product taxed at federal and state rates)."""

    name: Name
    rate_ids: Annotated[list[int], msgspec.Meta(min_length=1, max_length=8)]


class TaxGroupView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    rate_ids: list[int]
    active: bool


class UnitIn(_In, kw_only=True):
    """A unit of measure; ``decimals`` 3 sells in grams of a kilogram, 0 in whole pieces."""

    name: Name
    abbreviation: Annotated[str, msgspec.Meta(min_length=1, max_length=8)]
    decimals: Annotated[int, msgspec.Meta(ge=0, le=3)] = 0


class UnitView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    abbreviation: str
    decimals: int
    active: bool


class CategoryIn(_In, kw_only=True):
    name: Name
    color: Color = "#607d8b"
    sort_order: int = 0
    parent_id: int | None = None


class CategoryView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    color: str
    sort_order: int
    parent_id: int | None
    active: bool


class VariantIn(_In, kw_only=True):
    """A variant (size, colour): its own price (or the product's), SKU, barcode and stock."""

    name: Name
    price: Amount | None = None
    sku: Code | None = None
    barcodes: Barcodes = []
    own_stock: bool = False
    stock: SignedQuantityText = "0"


class VariantView(msgspec.Struct, kw_only=True):
    id: int
    product_id: int
    name: str
    price: int | None
    sku: str | None
    barcodes: list[str]
    own_stock: bool
    stock: str
    active: bool


class ProductIn(_In, kw_only=True):
    """A product as the back office authors it."""

    name: Name
    price: Amount
    cost_price: Amount | None = None
    sku: Code | None = None
    plu: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}$")] | None = None
    barcodes: Barcodes = []
    category_id: int | None = None
    unit_id: int | None = None
    tax_rate_id: int | None = None
    tax_group_id: int | None = None
    kitchen_station: Annotated[str, msgspec.Meta(max_length=32)] = ""
    is_promo: bool = False
    track_stock: bool = False
    stock: SignedQuantityText = "0"
    min_stock: QuantityText = "0"
    variants: Annotated[list[VariantIn], msgspec.Meta(max_length=100)] = []


class ProductPatch(_In, kw_only=True):
    """Change some fields of a product; ``barcodes`` replaces the product's own barcodes."""

    name: Name | None = None
    price: Amount | None = None
    cost_price: Amount | None = None
    sku: Code | None = None
    plu: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}$")] | None = None
    barcodes: Barcodes | None = None
    category_id: int | None = None
    unit_id: int | None = None
    tax_rate_id: int | None = None
    tax_group_id: int | None = None
    kitchen_station: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    is_promo: bool | None = None
    track_stock: bool | None = None
    stock: SignedQuantityText | None = None
    min_stock: QuantityText | None = None
    active: bool | None = None


class ProductView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    price: int
    cost_price: int | None
    sku: str | None
    plu: str | None
    barcodes: list[str]
    category_id: int | None
    unit_id: int | None
    tax_rate_id: int | None
    tax_group_id: int | None
    kitchen_station: str
    is_promo: bool
    track_stock: bool
    stock: str
    min_stock: str
    low_stock: bool
    active: bool
    variants: list[VariantView]
    updated_at: str


class ProductPage(msgspec.Struct, kw_only=True):
    products: list[ProductView]
    total: int


class CustomerIn(_In, kw_only=True):
    """A customer; company name, tax id and address fill a B2B invoice's buyer."""

    name: Name
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    city: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    notes: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    company_name: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    tax_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    address: Short | None = None
    max_discount_percent: PercentText | None = None


class CustomerView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    email: str | None
    phone: str | None
    city: str | None
    notes: str
    company_name: str | None
    tax_id: str | None
    address: str | None
    max_discount_percent: str | None
    active: bool
    updated_at: str


class CustomerPage(msgspec.Struct, kw_only=True):
    customers: list[CustomerView]
    total: int
