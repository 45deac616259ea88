"""References between items, checked against the tenant's current items before a write.

A product's tax rate, tax group, category and unit must exist; a tax group's rates; a
category's parent (without a cycle); a tender's change and commission tenders; a discount's
tender and products; a campaign's discounts; a layout page's category (``dpt_id``) and the
items its buttons act on (:data:`BUTTON_TARGETS`). SKUs, barcodes and variant ids are unique
across the tenant's products, cashier numbers across employees. An item still referenced
cannot be deleted. A failed check is a :class:`Problem` naming the field; the API turns the
first into an error (422 for a missing reference, 409 for a conflict) and the CSV import lists
them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.config import repository
from cloud.errors import DomainError
from protocols.sync.config import (
    CampaignConfig,
    CategoryConfig,
    DiscountConfig,
    EmployeeConfig,
    LayoutConfig,
    ProductConfig,
    TaxGroupConfig,
    TenderConfig,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: ``status`` 422 (missing reference) or 409 (conflict)."""

    status: int
    code: str
    field: str
    message: str

    def error(self, section: str) -> DomainError:
        return DomainError(
            self.status, self.code, f"{section}: {self.message}", {"section": section, "field": self.field}
        )


class _VariantRefs(msgspec.Struct):
    id: int
    sku: str | None = None
    barcodes: list[str] = []


class _ProductRefs(msgspec.Struct):
    sku: str | None = None
    barcodes: list[str] = []
    category_id: int | None = None
    unit_id: int | None = None
    tax_rate_id: int | None = None
    tax_group_id: int | None = None
    variants: list[_VariantRefs] = []


class _Refs(msgspec.Struct):
    """Any body, reduced to the fields other items are checked against."""

    parent_id: int | None = None
    rate_ids: list[int] = []
    change_tender: str | None = None
    commission_tender: str | None = None
    cashier_num: int | None = None
    product_ids: list[int] = []
    tender_id: str | None = None


class _ButtonRefs(msgspec.Struct):
    action: str
    object_id: str | None = None


class _PageRefs(msgspec.Struct):
    dpt_id: int | None = None
    buttons: list[_ButtonRefs] = []


class _LayoutRefs(msgspec.Struct):
    pages: list[_PageRefs] = []


BUTTON_TARGETS: Final = {"sell_product": "products", "apply_discount": "discounts", "open_tender": "tenders"}
"""The section whose item a button's ``object_id`` names, by the button's action."""


def layout_targets(layout: _LayoutRefs) -> Iterator[tuple[str, str, str]]:
    """``(field, section, key)`` of every item a layout refers to."""
    for p, page in enumerate(layout.pages):
        if page.dpt_id is not None:
            yield f"pages[{p}].dpt_id", "categories", str(page.dpt_id)
        for b, button in enumerate(page.buttons):
            section = BUTTON_TARGETS.get(button.action)
            if section is not None and button.object_id is not None:
                yield f"pages[{p}].buttons[{b}].object_id", section, button.object_id


def product_refs(body: ProductConfig) -> _ProductRefs:
    variants = [_VariantRefs(v.id, v.sku, list(v.barcodes)) for v in body.variants]
    return _ProductRefs(body.sku, list(body.barcodes), body.category_id, body.unit_id, body.tax_rate_id,
                        body.tax_group_id, variants)  # fmt: skip


@dataclass
class ProductIndex:
    """Who holds each SKU, barcode and variant id among the tenant's products."""

    sku: dict[str, str] = field(default_factory=dict)
    barcode: dict[str, str] = field(default_factory=dict)
    variant: dict[int, str] = field(default_factory=dict)
    held: dict[str, _ProductRefs] = field(default_factory=dict)

    def add(self, key: str, refs: _ProductRefs) -> None:
        self.remove(key)
        self.held[key] = refs
        for sku, barcodes in [(refs.sku, refs.barcodes), *((v.sku, v.barcodes) for v in refs.variants)]:
            if sku:
                self.sku.setdefault(sku, key)
            for code in barcodes:
                self.barcode.setdefault(code, key)
        for v in refs.variants:
            self.variant.setdefault(v.id, key)

    def remove(self, key: str) -> None:
        old = self.held.pop(key, None)
        if old is None:
            return
        for sku, barcodes in [(old.sku, old.barcodes), *((v.sku, v.barcodes) for v in old.variants)]:
            if sku and self.sku.get(sku) == key:
                del self.sku[sku]
            for code in barcodes:
                if self.barcode.get(code) == key:
                    del self.barcode[code]
        for v in old.variants:
            if self.variant.get(v.id) == key:
                del self.variant[v.id]

    def conflicts(self, key: str, refs: _ProductRefs) -> list[Problem]:
        """SKUs, barcodes and variant ids of ``refs`` that another product holds (or repeated)."""
        problems: list[Problem] = []
        seen: set[str] = set()
        places = [("", refs.sku, refs.barcodes)] + [
            (f"variants[{i}].", v.sku, v.barcodes) for i, v in enumerate(refs.variants)
        ]
        for prefix, sku, barcodes in places:
            if sku:
                holder = self.sku.get(sku)
                if (holder is not None and holder != key) or f"sku:{sku}" in seen:
                    problems.append(
                        Problem(
                            409,
                            "duplicate",
                            f"{prefix}sku",
                            f"SKU {sku!r} is already used by product {holder or key}",
                        )
                    )
                seen.add(f"sku:{sku}")
            for i, code in enumerate(barcodes):
                holder = self.barcode.get(code)
                if (holder is not None and holder != key) or f"bc:{code}" in seen:
                    problems.append(Problem(409, "duplicate", f"{prefix}barcodes[{i}]",
                                            f"barcode {code!r} is already used by product {holder or key}"))  # fmt: skip
                seen.add(f"bc:{code}")
        for i, v in enumerate(refs.variants):
            holder = self.variant.get(v.id)
            if (holder is not None and holder != key) or f"v:{v.id}" in seen:
                problems.append(Problem(409, "duplicate", f"variants[{i}].id",
                                        f"variant id {v.id} is already used by product {holder or key}"))  # fmt: skip
            seen.add(f"v:{v.id}")
        return problems


def missing(field_name: str, section: str, value: object) -> Problem:
    return Problem(422, "invalid_reference", field_name, f"{field_name}: no {section} item {value}")


class Snapshot:
    """The tenant's current items, loaded per section on first use."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self._bodies: dict[tuple[str, bool], list[tuple[str, str, str]]] = {}
        self._products: ProductIndex | None = None
        self._keys: dict[str, set[str]] = {}

    async def bodies(self, section: str, *, all_scopes: bool = False) -> list[tuple[str, str, str]]:
        """``(scope, key, body)`` of live items of ``section``."""
        if (section, all_scopes) not in self._bodies:
            self._bodies[section, all_scopes] = await repository.live_bodies(
                self.session, self.tenant_id, section, all_scopes=all_scopes
            )
        return self._bodies[section, all_scopes]

    async def keys(self, section: str) -> set[str]:
        if section not in self._keys:
            self._keys[section] = {key for _, key, _ in await self.bodies(section)}
        return self._keys[section]

    async def products(self) -> ProductIndex:
        if self._products is None:
            index = ProductIndex()
            decoder = msgspec.json.Decoder(_ProductRefs)
            for _, key, body in await self.bodies("products"):
                index.add(key, decoder.decode(body))
            self._products = index
        return self._products

    async def refs(self, section: str, *, all_scopes: bool = False) -> list[tuple[str, str, _Refs]]:
        decoder = msgspec.json.Decoder(_Refs)
        return [(s, k, decoder.decode(b)) for s, k, b in await self.bodies(section, all_scopes=all_scopes)]

    async def product_problems(self, key: str, refs: _ProductRefs) -> list[Problem]:
        """References and uniqueness of one product body."""
        problems = []
        for name, section, value in (
            ("tax_rate_id", "tax_rates", refs.tax_rate_id),
            ("tax_group_id", "tax_groups", refs.tax_group_id),
            ("category_id", "categories", refs.category_id),
            ("unit_id", "units", refs.unit_id),
        ):
            if value is not None and str(value) not in await self.keys(section):
                problems.append(missing(name, section, value))
        index = await self.products()
        problems.extend(index.conflicts(key, refs))
        return problems

    async def problems(self, section: str, key: str, body: msgspec.Struct) -> list[Problem]:
        """Every failed check of writing ``body`` as ``section``/``key``."""
        if isinstance(body, ProductConfig):
            return await self.product_problems(key, product_refs(body))
        if isinstance(body, TaxGroupConfig):
            rates = await self.keys("tax_rates")
            return [
                missing(f"rate_ids[{i}]", "tax_rates", r)
                for i, r in enumerate(body.rate_ids)
                if str(r) not in rates
            ]
        if isinstance(body, CategoryConfig):
            return await self._category(key, body)
        if isinstance(body, TenderConfig):
            tenders = await self.keys("tenders") | {key}
            return [
                missing(name, "tenders", value)
                for name, value in (
                    ("change_tender", body.change_tender),
                    ("commission_tender", body.commission_tender),
                )
                if value is not None and value not in tenders
            ]
        if isinstance(body, EmployeeConfig):
            taken = {r.cashier_num: k for _, k, r in await self.refs("employees") if k != key}
            holder = taken.get(body.cashier_num)
            if holder is not None:
                return [Problem(409, "duplicate", "cashier_num",
                                f"cashier number {body.cashier_num} belongs to employee {holder}")]  # fmt: skip
            return []
        if isinstance(body, DiscountConfig):
            problems = []
            if body.tender_id is not None and body.tender_id not in await self.keys("tenders"):
                problems.append(missing("tender_id", "tenders", body.tender_id))
            products = await self.keys("products")
            problems += [missing(f"product_ids[{i}]", "products", p) for i, p in enumerate(body.product_ids)
                         if str(p) not in products]  # fmt: skip
            return problems
        if isinstance(body, CampaignConfig):
            discounts = await self.keys("discounts")
            return [missing(f"data.discounts[{i}].discount_id", "discounts", d.discount_id)
                    for i, d in enumerate(body.data.discounts) if d.discount_id not in discounts]  # fmt: skip
        if isinstance(body, LayoutConfig):
            layout = msgspec.json.decode(msgspec.json.encode(body), type=_LayoutRefs)
            return [missing(name, section, value) for name, section, value in layout_targets(layout)
                    if value not in await self.keys(section)]  # fmt: skip
        return []

    async def _category(self, key: str, body: CategoryConfig) -> list[Problem]:
        if body.parent_id is None:
            return []
        parents = {k: r.parent_id for _, k, r in await self.refs("categories")}
        if str(body.parent_id) not in parents:
            return [missing("parent_id", "categories", body.parent_id)]
        node: int | None = body.parent_id
        for _ in range(len(parents) + 1):
            if node is None:
                return []
            if str(node) == key:
                return [
                    Problem(
                        422,
                        "invalid_reference",
                        "parent_id",
                        "parent_id: the category would be its own ancestor",
                    )
                ]
            node = parents.get(str(node))
        return []

    async def users_of(self, section: str, key: str) -> list[dict[str, str]]:
        """Items that reference ``section``/``key`` (any scope): why it cannot be deleted."""
        found: list[dict[str, str]] = []

        def add(rows: Iterable[tuple[str, str]], where: str, name: str) -> None:
            found.extend({"section": where, "key": k, "store_id": s or "", "field": name} for s, k in rows)

        n = int(key) if key.isdigit() else None
        if section in {"tax_rates", "tax_groups", "categories", "units"}:
            name = {"tax_rates": "tax_rate_id", "tax_groups": "tax_group_id", "categories": "category_id",
                    "units": "unit_id"}[section]  # fmt: skip
            decoder = msgspec.json.Decoder(_ProductRefs)
            add(((s, k) for s, k, b in await self.bodies("products", all_scopes=True)
                 if getattr(decoder.decode(b), name) == n), "products", name)  # fmt: skip
        if section == "tax_rates":
            add(
                ((s, k) for s, k, r in await self.refs("tax_groups") if n in r.rate_ids),
                "tax_groups",
                "rate_ids",
            )
        if section == "categories":
            add(
                ((s, k) for s, k, r in await self.refs("categories") if r.parent_id == n),
                "categories",
                "parent_id",
            )
        if section == "tenders":
            add(((s, k) for s, k, r in await self.refs("tenders")
                 if k != key and key in (r.change_tender, r.commission_tender)), "tenders", "change_tender")  # fmt: skip
            add(
                ((s, k) for s, k, r in await self.refs("discounts") if r.tender_id == key),
                "discounts",
                "tender_id",
            )
        if section == "products":
            add(
                ((s, k) for s, k, r in await self.refs("discounts") if n in r.product_ids),
                "discounts",
                "product_ids",
            )
        if section in {"categories", *BUTTON_TARGETS.values()}:
            layouts = msgspec.json.Decoder(_LayoutRefs)
            for scope, layout_key, body in await self.bodies("layouts"):
                used_as = next((f for f, where, value in layout_targets(layouts.decode(body))
                                if (where, value) == (section, key)), None)  # fmt: skip
                if used_as is not None:
                    add([(scope, layout_key)], "layouts", used_as)
        return found
