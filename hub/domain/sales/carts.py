"""Carts: create, add by product, variant or barcode, change, discount, hold, recall, void.

Every change is one short transaction and a websocket event (``cart.updated``); the priced
view comes from the one pricing function (:mod:`hub.domain.sales.pricing_view`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import msgspec

from drivers.base import Weight
from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import now_iso
from hub.domain.events import EventLog
from hub.domain.money import MoneyError, parse_quantity
from hub.domain.sales import cart_store as store
from hub.domain.sales.barcode_lines import resolve_scan
from hub.domain.sales.cart_store import CartRow, LineRow
from hub.domain.sales.discount_rules import check_discount
from hub.domain.sales.errors import Forbidden, Invalid, NotFound, SalesError
from hub.domain.sales.ports import CatalogPort, InfocodePort, NoInfocodes
from hub.domain.sales.pricing_view import CartPricer
from hub.domain.sales.schemas import (
    AttachCustomer,
    CartCreate,
    CartView,
    DiscountIn,
    LineAdd,
    LineUpdate,
)
from hub.domain.sales.weighing import weighed_line
from hub.domain.store_settings import StoreSettingsService


def _quantity(text: str, decimals: int) -> Decimal:
    try:
        value = parse_quantity(text)
    except MoneyError as exc:
        raise Invalid(exc.code, str(exc)) from None
    if value != value.quantize(Decimal(1).scaleb(-decimals)):
        raise Invalid("invalid_quantity", f"this product is sold in steps of {Decimal(1).scaleb(-decimals)}")
    return value


class CartService:
    """The cart workflows of the POS terminal."""

    def __init__(
        self,
        db: Database,
        events: EventLog,
        catalog: CatalogPort,
        settings: StoreSettingsService,
        infocodes: InfocodePort | None = None,
    ) -> None:
        self._db = db
        self._events = events
        self.catalog = catalog
        self._settings = settings
        self.pricer = CartPricer(catalog)
        self.infocodes: InfocodePort = infocodes or NoInfocodes()

    async def view(self, cart_id: str) -> CartView:
        cart, lines = await store.load_cart(self._db, cart_id)
        settings = (await self._settings.get()).settings
        return (await self.pricer.price(cart, lines, settings)).view

    async def _changed(self, cart_id: str) -> CartView:
        view = await self.view(cart_id)
        await self._events.record(
            "cart.updated",
            {"id": view.id, "terminal_id": view.terminal_id, "state": view.state, "total": view.total},
        )
        return view

    async def create(self, request: CartCreate, *, actor: str) -> CartView:
        cart_id = str(uuid.uuid4())
        now = now_iso()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO terminals (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (request.terminal_id, request.terminal_id, now),
            )
            await tx.execute(
                "INSERT INTO carts (id, terminal_id, state, training, created_by, created_at, updated_at) "
                "VALUES (?, ?, 'open', ?, ?, ?, ?)",
                (cart_id, request.terminal_id, int(request.training), actor, now, now),
            )
        return await self._changed(cart_id)

    async def list(self, *, state: str, terminal_id: str | None) -> list[CartView]:
        carts = await store.list_carts(self._db, state=state, terminal_id=terminal_id)
        return [await self.view(cart.id) for cart in carts]

    async def add_line(self, cart_id: str, request: LineAdd, *, weight: Weight | None = None) -> CartView:
        """Add a line; with ``request.weigh`` the scale's ``weight`` becomes its quantity."""
        if request.weigh:
            if weight is None:
                raise Invalid("no_scale", "this terminal has no scale to weigh on")
            request = weighed_line(request, weight)
        settings = (await self._settings.get()).settings
        if request.barcode is not None:
            if request.product_id is not None or request.variant_id is not None:
                raise Invalid("invalid_line", "give a barcode or a product, not both")
            item, quantity, label_price = await resolve_scan(self.catalog, request.barcode, settings)
            if label_price is None and request.quantity != "1":
                quantity = _quantity(request.quantity, item.quantity_decimals)
        elif request.product_id is not None:
            found = await self.catalog.sellable(request.product_id, request.variant_id)
            if found is None:
                raise NotFound("product_not_found", f"no sellable product {request.product_id}")
            item, label_price = found, None
            quantity = _quantity(request.quantity, item.quantity_decimals)
        else:
            raise Invalid("invalid_line", "give a product_id or a barcode")
        first = not (await store.load_cart(self._db, cart_id))[1]
        triggers = ["SELL_PRODUCT", "SELL_DPT", "SELL_GRP"] + (["RECEIPT_START"] if first else [])
        await self.infocodes.require(cart_id, triggers, product_id=item.product_id)
        async with self._db.transaction() as tx:
            cart, lines = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            mergeable = next(
                (
                    line
                    for line in lines
                    if line.product_id == item.product_id
                    and line.variant_id == item.variant_id
                    and not line.price_overridden
                    and line.discount is None
                    and not line.note
                    and not request.note
                    and line.source_barcode is None
                    and label_price is None
                    and item.quantity_decimals == 0
                ),
                None,
            )
            if mergeable is not None:
                await store.update_line(tx, replace(mergeable, quantity=mergeable.quantity + quantity))
            else:
                line = LineRow(
                    id=0,
                    product_id=item.product_id,
                    variant_id=item.variant_id,
                    name=item.name,
                    unit_price=label_price if label_price is not None else item.price,
                    price_overridden=False,
                    quantity=quantity,
                    gratis=False,
                    discount=None,
                    note=request.note,
                    source_barcode=request.barcode,
                )
                await store.insert_line(tx, cart_id, line)
            await store.touch(tx, cart_id, now_iso())
        return await self._changed(cart_id)

    async def update_line(
        self, cart_id: str, line_id: int, request: LineUpdate, *, actor: str, can_override_price: bool
    ) -> CartView:
        settings = (await self._settings.get()).settings
        triggers = (["OPEN_PRICE"] if request.unit_price is not None else []) + (
            ["RECEIPT_COMMENT"] if request.note else []
        )
        if triggers:
            await self.infocodes.require(cart_id, triggers)
        async with self._db.transaction() as tx:
            cart, lines = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            line = next((candidate for candidate in lines if candidate.id == line_id), None)
            if line is None:
                raise NotFound("line_not_found", f"cart {cart_id} has no line {line_id}")
            item = await self.catalog.sellable(line.product_id, line.variant_id)
            decimals = item.quantity_decimals if item else 3
            updated = line
            if request.quantity is not None:
                updated = replace(updated, quantity=_quantity(request.quantity, decimals))
            if request.note is not None:
                updated = replace(updated, note=request.note)
            if request.unit_price is not None and request.unit_price != line.unit_price:
                if not can_override_price:
                    raise Forbidden(
                        "permission_denied", "overriding a price needs the price_override permission"
                    )
                updated = replace(updated, unit_price=request.unit_price, price_overridden=True)
                await audit.record(
                    tx,
                    actor=actor,
                    action="cart.price_override",
                    target=cart_id,
                    details={"line": line_id, "from": line.unit_price, "to": request.unit_price},
                )
            if request.gratis is not None:
                if request.gratis and any(
                    other.gratis and other.product_id == line.product_id and other.id != line.id
                    for other in lines
                ):
                    raise SalesError("gratis_limit", "only one unit per product per cart can be gratis")
                updated = replace(updated, gratis=request.gratis)
            if request.clear_discount:
                updated = replace(updated, discount=None)
            elif request.discount is not None:
                updated = replace(updated, discount=request.discount)
            new_lines = [updated if other.id == line_id else other for other in lines]
            if updated.discount is not None and updated.discount != line.discount:
                priced = await self.pricer.price(cart, [replace(updated, discount=None)], settings)
                cart_priced = await self.pricer.price(cart, new_lines, settings)
                customer = await self._customer_limit(cart)
                check_discount(
                    updated.discount,
                    applies_to=priced.view.lines[0].net,
                    cart_total=cart_priced.view.subtotal,
                    settings=settings,
                    has_customer=cart.customer_id is not None,
                    customer_max=customer,
                    touches_promo=item is not None and item.is_promo,
                )
            await store.update_line(tx, updated)
            await store.touch(tx, cart_id, now_iso())
        return await self._changed(cart_id)

    async def _customer_limit(self, cart: CartRow) -> Decimal | None:
        if cart.customer_id is None:
            return None
        customer = await self.catalog.customer(cart.customer_id)
        return customer.max_discount_percent if customer else None

    async def remove_line(self, cart_id: str, line_id: int) -> CartView:
        async with self._db.transaction() as tx:
            cart, _ = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            cursor = await tx.execute(
                "DELETE FROM cart_lines WHERE id = ? AND cart_id = ?", (line_id, cart_id)
            )
            if cursor.rowcount == 0:
                raise NotFound("line_not_found", f"cart {cart_id} has no line {line_id}")
            await store.touch(tx, cart_id, now_iso())
        return await self._changed(cart_id)

    async def clear(self, cart_id: str, *, confirm: bool) -> CartView:
        if not confirm:
            raise Invalid("confirmation_required", "clearing a cart needs confirm: true")
        async with self._db.transaction() as tx:
            cart, _ = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            await tx.execute("DELETE FROM cart_lines WHERE cart_id = ?", (cart_id,))
            await store.touch(tx, cart_id, now_iso(), discount=None)
        return await self._changed(cart_id)

    async def _audit_refusal(
        self, exc: SalesError, cart_id: str, discount: DiscountIn | None, actor: str
    ) -> None:
        """A discount over the limit is refused and changes nothing, but the attempt is audited."""
        if exc.code in ("discount_limit", "promo_needs_customer") and discount is not None:
            async with self._db.transaction() as tx:
                await audit.record(
                    tx, actor=actor, action="discount.refused", target=f"cart:{cart_id}",
                    details={"reason": exc.code, "discount": msgspec.to_builtins(discount)},
                )  # fmt: skip

    async def set_discount(
        self, cart_id: str, discount: DiscountIn | None, *, actor: str = "unknown"
    ) -> CartView:
        try:
            return await self._set_discount(cart_id, discount)
        except SalesError as exc:
            await self._audit_refusal(exc, cart_id, discount, actor)
            raise

    async def _set_discount(self, cart_id: str, discount: DiscountIn | None) -> CartView:
        settings = (await self._settings.get()).settings
        async with self._db.transaction() as tx:
            cart, lines = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            if discount is not None:
                if not lines:
                    raise SalesError("cart_empty", "add items before a discount")
                before = await self.pricer.price(replace(cart, discount=None), lines, settings)
                promo = False
                for line in lines:
                    item = await self.catalog.sellable(line.product_id, line.variant_id)
                    promo = promo or (item is not None and item.is_promo)
                check_discount(
                    discount,
                    applies_to=before.view.total,
                    cart_total=before.view.subtotal,
                    settings=settings,
                    has_customer=cart.customer_id is not None,
                    customer_max=await self._customer_limit(cart),
                    touches_promo=promo,
                )
            await store.touch(tx, cart_id, now_iso(), discount=store.encode_discount(discount))
        return await self._changed(cart_id)

    async def attach_customer(self, cart_id: str, request: AttachCustomer) -> CartView:
        if request.customer_id is not None and await self.catalog.customer(request.customer_id) is None:
            raise NotFound("customer_not_found", f"customer {request.customer_id} does not exist")
        async with self._db.transaction() as tx:
            cart, _ = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            await store.touch(tx, cart_id, now_iso(), customer_id=request.customer_id)
        return await self._changed(cart_id)

    async def hold(self, cart_id: str, note: str) -> CartView:
        async with self._db.transaction() as tx:
            cart, lines = await store.load_cart(tx, cart_id)
            store.require_open(cart)
            if not lines:
                raise SalesError("cart_empty", "an empty cart cannot be held")
            await store.touch(tx, cart_id, now_iso(), state="held", hold_note=note)
        return await self._changed(cart_id)

    async def recall(self, cart_id: str) -> CartView:
        async with self._db.transaction() as tx:
            cart, _ = await store.load_cart(tx, cart_id)
            if cart.state != "held":
                raise SalesError("cart_not_held", f"cart {cart_id} is {cart.state}, not held")
            await store.touch(tx, cart_id, now_iso(), state="open")
        return await self._changed(cart_id)

    async def void(self, cart_id: str, reason: str, *, actor: str) -> CartView:
        await self.infocodes.require(cart_id, ["RECEIPT_TRASH"])
        async with self._db.transaction() as tx:
            cart, lines = await store.load_cart(tx, cart_id)
            if cart.state not in ("open", "held"):
                raise SalesError("cart_not_open", f"cart {cart_id} is {cart.state}")
            await store.touch(tx, cart_id, now_iso(), state="voided")
            await audit.record(
                tx,
                actor=actor,
                action="cart.voided",
                target=cart_id,
                details={"reason": reason, "lines": len(lines)},
            )
        return await self._changed(cart_id)
