"""The configuration the cloud authors and every hub applies: sections, items and the delta.

A store's configuration is a set of **items**, each named by ``(section, key)``. The cloud
stamps every write with a revision from one counter per tenant; a store's config version is
the highest revision among the items it sees (the tenant's items plus the store's own
overrides). So "what changed since version V" is "every item whose revision is above V",
deletions included as tombstones, and a hub that missed ten versions fetches one delta.

The hub learns the desired version from the retained ``down/config``
(:class:`protocols.sync.messages.DesiredConfig`), fetches :class:`ConfigDelta` from
``fetch_url`` with its broker credentials, decodes every body with :func:`decode_body` and
applies the delta in one transaction, or rejects all of it and keeps the last good config.

Item bodies are the types below. The cloud validates what an admin writes against the same
types, so a body the cloud accepts is one the hub can decode; the hub still checks the
references between items (a product's tax rate must exist) when it applies them.

Keys: integer-identified entities (tax rates, products, employees, ...) use the decimal form
of a cloud-assigned id, which the hub keeps as the row's primary key; tenders use their own
id (``"cash"``); roles their role name; ``store_settings`` and ``store_options`` the key
``"store"``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final, Literal

import msgspec

from protocols.sync.errors import SyncDecodeError
from protocols.sync.pos_entities import InfocodeIn, SalesTargetIn
from protocols.sync.store_settings import StoreSettings
from protocols.sync.values import Amount, Code, Id, Name, PercentText, QuantityText


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Bodies refuse unknown fields: a misspelt field is an error that names it, not a no-op."""


# --- taxes, units, categories, products -----------------------------------------------------


class TaxRateConfig(_Body, kw_only=True):
    name: Name
    rate: PercentText
    inclusive: bool = True
    compound: bool = False
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    is_default: bool = False


class TaxGroupConfig(_Body, kw_only=True):
    name: Name
    rate_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=10)]


class UnitConfig(_Body, kw_only=True):
    name: Name
    abbreviation: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    decimals: Annotated[int, msgspec.Meta(ge=0, le=3)] = 0


class CategoryConfig(_Body, kw_only=True):
    name: Name
    color: Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")] = "#607d8b"
    sort_order: int = 0
    parent_id: Id | None = None


Barcodes = Annotated[
    list[Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z-]{4,32}$")]], msgspec.Meta(max_length=20)
]


class VariantConfig(_Body, kw_only=True):
    id: Id
    name: Name
    price: Amount | None = None  # None: the product's price
    sku: Code | None = None
    barcodes: Barcodes = []
    own_stock: bool = False


class ProductConfig(_Body, kw_only=True):
    """A product as authored; stock is the hub's own (it moves with sales) and never pushed."""

    name: Name
    price: Amount
    cost_price: Amount | None = None
    sku: Code | None = None
    plu: Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,5}$")] | None = None
    barcodes: Barcodes = []
    category_id: Id | None = None
    unit_id: Id | None = None
    tax_rate_id: Id | None = None
    tax_group_id: Id | None = None
    kitchen_station: Annotated[str, msgspec.Meta(max_length=32)] = ""
    is_promo: bool = False
    track_stock: bool = False
    min_stock: QuantityText = "0"
    variants: Annotated[list[VariantConfig], msgspec.Meta(max_length=100)] = []


# --- tenders (seed 001) ---------------------------------------------------------------------

TenderType = Literal[
    "cash", "card", "card_selfservice", "lunchvoucher", "voucher", "epassi", "eazybreak", "mobilepay",
    "mobilepay_selfservice", "prepaid", "invoice", "only_invoice", "other", "giftcard",
]  # fmt: skip


class TenderConfig(_Body, kw_only=True):
    name: Name
    tender_type: TenderType
    printout_type: Literal["receipt", "no_receipt", "bill", "invoice"] = "receipt"
    tender_use: Literal["multiple", "single", "only_this"] = "multiple"
    cashdrawer: Literal["ignore", "force_open", "force_close"] = "ignore"
    change_type: Literal["none", "tender", "overpay"] = "none"
    change_tender: Code | None = None
    eft: bool = False
    rounding: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0  # minor units, 5 = 0.05
    over_tender: bool = False
    under_tender: bool = False
    require_comment: bool = False
    sort_order: int = 0
    lunch_voucher: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    commission_tender: Code | None = None
    commission_percentage: PercentText | None = None


# --- staff, roles and the permission matrix --------------------------------------------------

Role = Literal["owner", "admin", "manager", "employee", "cashier", "waiter"]
PermissionName = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,48}$")]


class RoleConfig(_Body, kw_only=True):
    """One row of the permission matrix: the role (the item's key) holds these permissions."""

    permissions: Annotated[list[PermissionName], msgspec.Meta(max_length=200)]


class EmployeeConfig(_Body, kw_only=True):
    """An employee; the cloud hashes the PIN (argon2id) and only the hash travels."""

    cashier_num: Annotated[int, msgspec.Meta(ge=1, le=999_999)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    role: Role = "cashier"
    pin_hash: Annotated[str, msgspec.Meta(pattern=r"^\$argon2id\$")]
    location_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    training: bool = False
    manager: bool = False
    selfservice: bool = False
    cardnumber: Annotated[str, msgspec.Meta(min_length=4, max_length=64)] | None = None
    pos_layout: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    layout_page: Annotated[int, msgspec.Meta(ge=0, le=99)] | None = None
    pos_language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    commission_rate: PercentText = "0"
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None


# --- discounts and campaigns (seed 001) -----------------------------------------------------


class MatchDiscount(_Body, kw_only=True):
    type: Literal["PRICE", "AMOUNT", "PERCENT"]
    amount: Annotated[int, msgspec.Meta(ge=0)]  # minor units, or a whole percent for PERCENT


class ProductMatcher(_Body, kw_only=True):
    """One matcher of a MIXNMATCH/BUNDLE group: products by department, number or group."""

    dpt: list[int] = []
    plu: list[str] = []
    grp: list[str] = []
    delivery: str | None = None
    discount: MatchDiscount
    order: Literal["PRICE_ASC", "PRICE_DESC"] | None = None
    optional: bool = False
    bundling: bool = False


class SellLine(_Body, kw_only=True):
    productId: str  # seed 001's field name
    qty: Annotated[int, msgspec.Meta(ge=1)]


class MatchRules(_Body, kw_only=True):
    salesLines: Annotated[list[list[ProductMatcher]], msgspec.Meta(min_length=1)]
    sell: list[SellLine] = []
    order: Literal["PRICE_ASC", "PRICE_DESC"] | None = None


DiscountType = Literal[
    "PLU_PCT_DISC", "TOTAL_PCT_DISC", "PLU_EUR_DISC", "TOTAL_EUR_DISC", "SET_PRICE", "MIXNMATCH", "BUNDLE"
]


class DiscountConfig(_Body, kw_only=True):
    """A discount (seed 001); ``percent`` for the percentage types, ``amount`` (minor units)
    for amount and set-price types, ``match`` for MIXNMATCH and BUNDLE."""

    name: Name
    discount_type: DiscountType
    target: Literal["PLU", "RECEIPT", "TENDER", "CUSTOMER", "CUSTOMERGROUP"]
    subscription_type: Literal["ALWAYS", "SUBSCRIBE", "CAMPAIGN"] = "ALWAYS"
    percent: PercentText | None = None
    amount: Amount | None = None
    priority: int | None = None
    manual: bool = False
    match: MatchRules | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    time_restriction: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    tender_id: Code | None = None
    product_ids: list[Id] = []
    invoicing: dict[str, Any] | None = None
    hide_on_receipt: bool = False


class CampaignDiscount(_Body, kw_only=True):
    discount_id: Code
    is_coupon: bool = False
    start_date: date | None = None
    end_date: date | None = None


class ReferencePeriod(_Body, kw_only=True):
    start_date: date
    end_date: date
    weight: Annotated[float, msgspec.Meta(gt=0, le=100)] = 1


class CampaignData(_Body, kw_only=True):
    discounts: list[CampaignDiscount] = []
    reference_periods: Annotated[list[ReferencePeriod], msgspec.Meta(max_length=20)] = []
    report_dpts: list[Id] = []
    report_plus: list[Id] = []
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class CampaignConfig(_Body, kw_only=True):
    name: Name
    start_date: date
    end_date: date | None = None
    location_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    data: CampaignData = msgspec.field(default_factory=CampaignData)


# --- layouts and floor plans ----------------------------------------------------------------

ButtonAction = Literal[
    "sell_product", "apply_discount", "change_page", "open_tender", "open_drawer", "subtotal", "void_line",
    "hold_cart", "recall_cart", "customer", "infocode", "function",
]  # fmt: skip


class LayoutButton(_Body, kw_only=True):
    x: Annotated[int, msgspec.Meta(ge=0, le=31)]
    y: Annotated[int, msgspec.Meta(ge=0, le=31)]
    span_x: Annotated[int, msgspec.Meta(ge=1, le=32)] = 1
    span_y: Annotated[int, msgspec.Meta(ge=1, le=32)] = 1
    action: ButtonAction
    object_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    text: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=3)] = []
    color: Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None
    icon: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class LayoutPage(_Body, kw_only=True):
    name: Name
    type: Literal["NORMAL", "DPT", "SUBTOTAL", "DISCOUNT", "MASTER"] = "NORMAL"
    columns: Annotated[int, msgspec.Meta(ge=1, le=32)]
    rows: Annotated[int, msgspec.Meta(ge=1, le=32)]
    dpt_id: Id | None = None  # DPT pages fill themselves from this category
    buttons: Annotated[list[LayoutButton], msgspec.Meta(max_length=1024)] = []


class LayoutConfig(_Body, kw_only=True):
    name: Name
    pages: Annotated[list[LayoutPage], msgspec.Meta(min_length=1, max_length=50)]


class TableConfig(_Body, kw_only=True):
    id: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    seats: Annotated[int, msgspec.Meta(ge=1, le=100)] = 4
    shape: Literal["square", "round", "rect"] = "square"
    x: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    y: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    width: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    height: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100


class FloorPlanConfig(_Body, kw_only=True):
    name: Name
    width: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    height: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    tables: Annotated[list[TableConfig], msgspec.Meta(max_length=500)] = []


# --- store options beside the settings document ---------------------------------------------


class ShiftRules(_Body, kw_only=True):
    require_open_shift: bool = True
    blind_close: bool = False  # the cashier counts without seeing the expected amount
    max_difference: Amount = 0  # a larger counting difference needs a manager
    auto_close_at: Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = "23:59"


class LoyaltySettings(_Body, kw_only=True):
    enabled: bool = False
    points_per_currency_unit: PercentText = "1"
    point_value: Amount = 1  # minor units one point is worth when redeemed
    min_redeem_points: Annotated[int, msgspec.Meta(ge=0)] = 100


class FiscalSettings(_Body, kw_only=True):
    enabled: bool = False
    device: Annotated[str, msgspec.Meta(max_length=64)] = ""
    operator: Annotated[str, msgspec.Meta(max_length=32)] = ""
    print_copy: bool = False


class StoreOptions(_Body, kw_only=True):
    """Shift rules, loyalty, fiscal settings and modules on/off (help center, store settings)."""

    shift_rules: ShiftRules = msgspec.field(default_factory=ShiftRules)
    loyalty: LoyaltySettings = msgspec.field(default_factory=LoyaltySettings)
    fiscal: FiscalSettings = msgspec.field(default_factory=FiscalSettings)
    modules: dict[Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,32}$")], bool] = {}


# --- sections and the delta -----------------------------------------------------------------

SECTIONS: Final[dict[str, type[msgspec.Struct]]] = {
    # In the order a hub applies them, so references point at rows already written.
    "tax_rates": TaxRateConfig,
    "tax_groups": TaxGroupConfig,
    "units": UnitConfig,
    "categories": CategoryConfig,
    "products": ProductConfig,
    "tenders": TenderConfig,
    "roles": RoleConfig,
    "employees": EmployeeConfig,
    "infocodes": InfocodeIn,
    "sales_targets": SalesTargetIn,
    "discounts": DiscountConfig,
    "campaigns": CampaignConfig,
    "layouts": LayoutConfig,
    "floor_plans": FloorPlanConfig,
    "store_settings": StoreSettings,
    "store_options": StoreOptions,
}
SectionName = Literal[
    "tax_rates", "tax_groups", "units", "categories", "products", "tenders", "roles", "employees", "infocodes",
    "sales_targets", "discounts", "campaigns", "layouts", "floor_plans", "store_settings", "store_options",
]  # fmt: skip
SINGLETON_KEY: Final = "store"
"""The key of the one item of ``store_settings`` and ``store_options``."""
INTEGER_KEYED: Final[frozenset[str]] = frozenset(
    {"tax_rates", "tax_groups", "units", "categories", "products", "employees", "infocodes", "sales_targets"}
)
"""Sections whose key is a cloud-assigned integer id (the hub's primary key)."""

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


NO_BODY: Final = msgspec.Raw(b"null")


class ConfigItem(msgspec.Struct, kw_only=True):
    """One item at a revision; ``deleted`` items (tombstones) carry ``null`` as their body.

    The body stays raw JSON until :func:`decode_body` (msgspec cannot put ``Raw`` in a union,
    so "no body" is the JSON ``null``, :data:`NO_BODY`).
    """

    section: SectionName
    key: Key
    revision: Annotated[int, msgspec.Meta(ge=1)]
    deleted: bool = False
    body: msgspec.Raw = NO_BODY

    @property
    def has_body(self) -> bool:
        return bytes(self.body).strip() != b"null"


class ConfigDelta(msgspec.Struct, kw_only=True):
    """What a hub fetches: every item above ``since`` up to ``version``.

    ``full`` is true when ``since`` is 0: the items are the whole configuration, and anything
    the hub holds in these sections that the delta does not name is withdrawn.
    """

    v: int = 1
    store: str
    version: Annotated[int, msgspec.Meta(ge=0)]
    since: Annotated[int, msgspec.Meta(ge=0)]
    full: bool
    items: list[ConfigItem]


def decode_body(section: str, body: bytes | msgspec.Raw) -> msgspec.Struct:
    """The typed body of one item; :class:`SyncDecodeError` names the section, key path and field."""
    kind = SECTIONS.get(section)
    if kind is None:
        raise SyncDecodeError(f"unknown config section {section!r}")
    try:
        decoded: msgspec.Struct = msgspec.json.decode(body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SyncDecodeError(f"{section}: {exc}") from None
    return decoded


def check_key(section: str, key: str) -> None:
    """Refuse a key that does not fit its section (an integer id, or ``"store"`` for singletons)."""
    if section in ("store_settings", "store_options"):
        if key != SINGLETON_KEY:
            raise SyncDecodeError(f"{section}: the key must be {SINGLETON_KEY!r}")
    elif section in INTEGER_KEYED and not (key.isdigit() and 1 <= int(key) <= 2**53):
        raise SyncDecodeError(f"{section}: key {key!r} is not a positive integer id")


def decode_delta(data: bytes) -> ConfigDelta:
    """The delta envelope (bodies stay raw until :func:`decode_body`)."""
    try:
        delta: ConfigDelta = msgspec.json.decode(data, type=ConfigDelta)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SyncDecodeError(f"config delta: {exc}") from None
    if delta.v != 1:
        raise SyncDecodeError(f"config delta: unknown version {delta.v}")
    return delta
