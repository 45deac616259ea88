"""What the catalog API takes and gives (msgspec Structs).

Inputs forbid unknown fields; prices are integer minor units (a float or a string is refused
when decoding); stock, quantities and rates are decimal strings (principle 5). ``...Patch``
inputs change only the fields they carry: a field left out is ``UNSET`` (kept), while ``null``
clears a field that may be empty (a product's category, a variant's own price).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from hub.domain.money import Amount, PercentText, QuantityText

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Short = Annotated[str, msgspec.Meta(max_length=200)]
SignedQuantityText = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]{1,7}(\.[0-9]{1,3})?$")]
Barcodes = Annotated[list[Code], msgspec.Meta(max_length=20)]
Priority = Annotated[int, msgspec.Meta(ge=0, le=100)]
RateIds = Annotated[list[int], msgspec.Meta(min_length=1, max_length=8)]
Abbreviation = Annotated[str, msgspec.Meta(min_length=1, max_length=8)]
Decimals = Annotated[int, msgspec.Meta(ge=0, le=3)]
Plu = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}$")]
Station = Annotated[str, msgspec.Meta(max_length=32)]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Phone = Annotated[str, msgspec.Meta(max_length=32)]
City = Annotated[str, msgspec.Meta(max_length=64)]
Notes = Annotated[str, msgspec.Meta(max_length=1000)]
Company = Annotated[str, msgspec.Meta(max_length=120)]
TaxId = Annotated[str, msgspec.Meta(max_length=32)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# --- tax rates and groups ------------------------------------------------------------------


class TaxRateIn(_In, kw_only=True):
    """A tax rate: ``rate`` in percent; inclusive (in the price) or exclusive (added on top)."""

    name: Name
    rate: PercentText
    inclusive: bool = True
    compound: bool = False
    priority: Priority = 0
    is_default: bool = False


class TaxRatePatch(_In, kw_only=True):
    """Change some fields of a tax rate; ``active: true`` brings an archived one back."""

    name: Name | UnsetType = UNSET
    rate: PercentText | UnsetType = UNSET
    inclusive: bool | UnsetType = UNSET
    compound: bool | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    is_default: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class TaxRateView(msgspec.Struct, kw_only=True):
    """A tax rate as the API shows it."""

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
    rate_ids: RateIds


class TaxGroupPatch(_In, kw_only=True):
    """Change a tax group's name or rates (``rate_ids`` replaces the list)."""

    name: Name | UnsetType = UNSET
    rate_ids: RateIds | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class TaxGroupView(msgspec.Struct, kw_only=True):
    """A tax group and the ids of its rates."""

    id: int
    name: str
    rate_ids: list[int]
    active: bool


# --- units and categories ------------------------------------------------------------------


class UnitIn(_In, kw_only=True):
    """A unit of measure; ``decimals`` 3 sells in grams of a kilogram, 0 in whole pieces."""

    name: Name
    abbreviation: Abbreviation
    decimals: Decimals = 0


class UnitPatch(_In, kw_only=True):
    """Change some fields of a unit."""

    name: Name | UnsetType = UNSET
    abbreviation: Abbreviation | UnsetType = UNSET
    decimals: Decimals | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class UnitView(msgspec.Struct, kw_only=True):
    """A unit of measure as the API shows it."""

    id: int
    name: str
    abbreviation: str
    decimals: int
    active: bool


class CategoryIn(_In, kw_only=True):
    """A category: the POS shows it as a filter tab; ``parent_id`` makes it a subcategory."""

    name: Name
    color: Color = "#607d8b"
    sort_order: int = 0
    parent_id: int | None = None


class CategoryPatch(_In, kw_only=True):
    """Change some fields of a category; ``parent_id: null`` makes it a top-level one."""

    name: Name | UnsetType = UNSET
    color: Color | UnsetType = UNSET
    sort_order: int | UnsetType = UNSET
    parent_id: int | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class CategoryView(msgspec.Struct, kw_only=True):
    """A category as the API shows it."""

    id: int
    name: str
    color: str
    sort_order: int
    parent_id: int | None
    active: bool


# --- products and variants -----------------------------------------------------------------


class VariantIn(_In, kw_only=True):
    """A variant (size, colour): its own price (or the product's), SKU, barcode and stock."""

    name: Name
    price: Amount | None = None
    sku: Code | None = None
    barcodes: Barcodes = []
    own_stock: bool = False
    stock: SignedQuantityText = "0"


class VariantPatch(_In, kw_only=True):
    """Change some fields of a variant; ``price: null`` sells it at the product's price."""

    name: Name | UnsetType = UNSET
    price: Amount | UnsetType | None = UNSET
    sku: Code | UnsetType | None = UNSET
    barcodes: Barcodes | UnsetType = UNSET
    own_stock: bool | UnsetType = UNSET
    stock: SignedQuantityText | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class VariantView(msgspec.Struct, kw_only=True):
    """A variant as the API shows it (``price`` null: the product's price)."""

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
    plu: Plu | None = None
    barcodes: Barcodes = []
    category_id: int | None = None
    unit_id: int | None = None
    tax_rate_id: int | None = None
    tax_group_id: int | None = None
    kitchen_station: Station = ""
    is_promo: bool = False
    track_stock: bool = False
    stock: SignedQuantityText = "0"
    min_stock: QuantityText = "0"
    variants: Annotated[list[VariantIn], msgspec.Meta(max_length=100)] = []


class ProductPatch(_In, kw_only=True):
    """Change some fields of a product; ``barcodes`` replaces the product's own barcodes."""

    name: Name | UnsetType = UNSET
    price: Amount | UnsetType = UNSET
    cost_price: Amount | UnsetType | None = UNSET
    sku: Code | UnsetType | None = UNSET
    plu: Plu | UnsetType | None = UNSET
    barcodes: Barcodes | UnsetType = UNSET
    category_id: int | UnsetType | None = UNSET
    unit_id: int | UnsetType | None = UNSET
    tax_rate_id: int | UnsetType | None = UNSET
    tax_group_id: int | UnsetType | None = UNSET
    kitchen_station: Station | UnsetType = UNSET
    is_promo: bool | UnsetType = UNSET
    track_stock: bool | UnsetType = UNSET
    stock: SignedQuantityText | UnsetType = UNSET
    min_stock: QuantityText | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class ProductView(msgspec.Struct, kw_only=True):
    """A product with its own barcodes, its variants and its stock."""

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
    """One page of products and how many match in all."""

    products: list[ProductView]
    total: int


# --- stock ---------------------------------------------------------------------------------


class StockAdjustIn(_In, kw_only=True):
    """A manual stock change: ``delta`` (+/-) or the ``count`` found on the shelf, and why."""

    variant_id: int | None = None
    delta: SignedQuantityText | None = None
    count: SignedQuantityText | None = None
    reason: Reason


class StockMovementView(msgspec.Struct, kw_only=True):
    """One stock change: a sale, a return, or a manual adjustment with its reason."""

    id: int
    product_id: int
    variant_id: int | None
    delta: str
    reason: str
    at: str


class StockMovementPage(msgspec.Struct, kw_only=True):
    """Stock movements, newest first."""

    movements: list[StockMovementView]


# --- customers -----------------------------------------------------------------------------


class CustomerIn(_In, kw_only=True):
    """A customer; company name, tax id and address fill a B2B invoice's buyer."""

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    city: City | None = None
    notes: Notes = ""
    company_name: Company | None = None
    tax_id: TaxId | None = None
    address: Short | None = None
    max_discount_percent: PercentText | None = None


class CustomerPatch(_In, kw_only=True):
    """Change some of a customer's details; ``null`` clears an optional one."""

    name: Name | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    city: City | UnsetType | None = UNSET
    notes: Notes | UnsetType = UNSET
    company_name: Company | UnsetType | None = UNSET
    tax_id: TaxId | UnsetType | None = UNSET
    address: Short | UnsetType | None = UNSET
    max_discount_percent: PercentText | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class CustomerView(msgspec.Struct, kw_only=True):
    """A customer as the API shows it."""

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
    """One page of customers and how many match in all."""

    customers: list[CustomerView]
    total: int


def changes(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a patch carries (everything not ``UNSET``)."""
    return {name: value for name in patch.__struct_fields__ if (value := getattr(patch, name)) is not UNSET}
