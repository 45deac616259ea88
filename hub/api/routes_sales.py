"""POS terminal: store settings, tenders, carts, checkout, sales, reprints and refunds.

Thin: decode, check the caller's permission, call :mod:`hub.domain.sales`, answer. Every rule
lives in the domain; its errors come back as 4xx envelopes with their own codes.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from drivers.errors import DeviceError
from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Reply, Router
from hub.domain.sales.checkout import Seller
from hub.domain.sales.schemas import (
    AttachCustomer,
    CartCreate,
    CartView,
    Checkout,
    ClearCart,
    DiscountIn,
    HoldCart,
    LineAdd,
    LineUpdate,
    RefundWithoutReceipt,
    RefundWithReceipt,
    SaleView,
    VoidCart,
)
from hub.domain.sales.tenders import Tender
from hub.domain.store_settings import StoreSettings, VersionedSettings

router = Router()


class CartQuery(msgspec.Struct, forbid_unknown_fields=True):
    state: str = "open"
    terminal_id: str | None = None


class CartList(msgspec.Struct):
    carts: list[CartView]


class TenderList(msgspec.Struct):
    tenders: list[Tender]


class SaleQuery(msgspec.Struct, forbid_unknown_fields=True):
    number: str


class ReprintReply(msgspec.Struct):
    job_id: int


class GiftCardIn(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    amount: int


def _seller(ctx: RequestContext) -> Seller | None:
    return None if ctx.staff is None else Seller(employee_id=ctx.staff.employee_id)


def _cart_id(ctx: RequestContext) -> str:
    return ctx.request.match_info["cart_id"]


# --- settings and tenders ----------------------------------------------------------------


@router.route("GET", "/api/v1/settings", response=VersionedSettings, tags=("settings",))
async def get_settings(ctx: RequestContext, _: None) -> VersionedSettings:
    """The store's settings (receipt header and footer, currency, rounding, barcodes, tiers)."""
    return await ctx.services.sales.settings.get()


@router.route("PUT", "/api/v1/settings", body=StoreSettings, response=VersionedSettings, tags=("settings",))
async def put_settings(ctx: RequestContext, body: StoreSettings) -> VersionedSettings:
    """Replace the store's settings (audited); the version number goes up by one."""
    await ctx.require("settings")
    return await ctx.services.sales.settings.replace(body, actor=ctx.actor)


@router.route("GET", "/api/v1/tenders", response=TenderList, tags=("tenders",))
async def list_tenders(ctx: RequestContext, _: None) -> TenderList:
    """Payment methods, in the order the payment screen shows them."""
    return TenderList(tenders=list((await ctx.services.sales.checkout.tenders.all()).values()))


@router.route("PUT", "/api/v1/tenders/{tender_id}", body=Tender, response=Tender, tags=("tenders",))
async def put_tender(ctx: RequestContext, body: Tender) -> Tender:
    """Create or replace a tender (seed 001 fields: use, change, rounding, drawer ...)."""
    await ctx.require("tenders")
    if body.id != ctx.request.match_info["tender_id"]:
        raise ApiError(422, "id_mismatch", "the tender id in the path and the body differ")
    return await ctx.services.sales.checkout.tenders.put(body, actor=ctx.actor)


@router.route("POST", "/api/v1/gift-cards", body=GiftCardIn, status=201, tags=("tenders",))
async def issue_gift_card(ctx: RequestContext, body: GiftCardIn) -> Reply:
    """Load a gift card with a balance (minor units)."""
    await ctx.require("tenders")
    if body.amount <= 0 or not body.code:
        raise ApiError(422, "invalid_gift_card", "a gift card needs a code and a positive amount")
    await ctx.services.sales.gift_cards.issue(body.code, body.amount, actor=ctx.actor)
    return Reply(201, {"code": body.code, "balance": body.amount})


# --- carts -------------------------------------------------------------------------------


@router.route("POST", "/api/v1/carts", body=CartCreate, response=CartView, status=201, tags=("carts",))
async def create_cart(ctx: RequestContext, body: CartCreate) -> Reply:
    """Open a cart on a terminal (``training``, or a cashier in training, keeps it out of reports)."""
    await ctx.require("sell")
    if ctx.staff is not None and ctx.staff.training and not body.training:
        body = msgspec.structs.replace(body, training=True)
    return Reply(201, await ctx.services.sales.carts.create(body, actor=ctx.actor))


@router.route("GET", "/api/v1/carts", query=CartQuery, response=CartList, tags=("carts",))
async def list_carts(ctx: RequestContext, _: None) -> CartList:
    """Carts by state: ``held`` lists the orders to recall."""
    query: CartQuery = ctx.query
    return CartList(
        carts=await ctx.services.sales.carts.list(state=query.state, terminal_id=query.terminal_id)
    )


@router.route("GET", "/api/v1/carts/{cart_id}", response=CartView, errors=(404,), tags=("carts",))
async def get_cart(ctx: RequestContext, _: None) -> CartView:
    """A cart, priced: lines, discounts, taxes per rate and the total."""
    return await ctx.services.sales.carts.view(_cart_id(ctx))


@router.route(
    "POST", "/api/v1/carts/{cart_id}/lines", body=LineAdd, response=CartView, status=201, tags=("carts",)
)
async def add_line(ctx: RequestContext, body: LineAdd) -> Reply:
    """Add a product, a variant or a scanned barcode (in-store weight and price codes too)."""
    await ctx.require("sell")
    cart_id = _cart_id(ctx)
    weight = None
    if body.weigh:
        # The cart's terminal's own scale, read now by its device task; the rules (stable only,
        # how the weight becomes the quantity) are the domain's.
        cart = await ctx.services.sales.carts.view(cart_id)
        scale = ctx.services.devices.scale_for(cart.terminal_id)
        if scale is not None:
            try:
                weight = await ctx.services.devices.weigh(scale)
            except DeviceError as exc:
                raise ApiError(503, exc.code, f"the scale did not answer: {exc}") from None
    return Reply(201, await ctx.services.sales.carts.add_line(cart_id, body, weight=weight))


@router.route(
    "PATCH", "/api/v1/carts/{cart_id}/lines/{line_id}", body=LineUpdate, response=CartView, tags=("carts",)
)
async def update_line(ctx: RequestContext, body: LineUpdate) -> CartView:
    """Change quantity, note, gratis, line discount or price (override: permission, audited)."""
    granted = await ctx.permissions()
    return await ctx.services.sales.carts.update_line(
        _cart_id(ctx),
        ctx.path_int("line_id"),
        body,
        actor=ctx.actor,
        can_override_price="price_override" in granted,
    )


@router.route("DELETE", "/api/v1/carts/{cart_id}/lines/{line_id}", response=CartView, tags=("carts",))
async def remove_line(ctx: RequestContext, _: None) -> CartView:
    """Remove a line."""
    return await ctx.services.sales.carts.remove_line(_cart_id(ctx), ctx.path_int("line_id"))


@router.route("POST", "/api/v1/carts/{cart_id}/clear", body=ClearCart, response=CartView, tags=("carts",))
async def clear_cart(ctx: RequestContext, body: ClearCart) -> CartView:
    """Remove every line; needs ``confirm: true`` (the confirmation dialog)."""
    return await ctx.services.sales.carts.clear(_cart_id(ctx), confirm=body.confirm)


@router.route("PUT", "/api/v1/carts/{cart_id}/discount", body=DiscountIn, response=CartView, tags=("carts",))
async def set_cart_discount(ctx: RequestContext, body: DiscountIn) -> CartView:
    """A percentage or fixed cart discount, within the store's tiers or the customer's maximum."""
    await ctx.require("discount")
    return await ctx.services.sales.carts.set_discount(_cart_id(ctx), body, actor=ctx.actor)


@router.route("DELETE", "/api/v1/carts/{cart_id}/discount", response=CartView, tags=("carts",))
async def remove_cart_discount(ctx: RequestContext, _: None) -> CartView:
    """Remove the cart discount."""
    return await ctx.services.sales.carts.set_discount(_cart_id(ctx), None)


@router.route(
    "PUT", "/api/v1/carts/{cart_id}/customer", body=AttachCustomer, response=CartView, tags=("carts",)
)
async def attach_customer(ctx: RequestContext, body: AttachCustomer) -> CartView:
    """Attach (or with null detach) a customer."""
    return await ctx.services.sales.carts.attach_customer(_cart_id(ctx), body)


@router.route("POST", "/api/v1/carts/{cart_id}/hold", body=HoldCart, response=CartView, tags=("carts",))
async def hold_cart(ctx: RequestContext, body: HoldCart) -> CartView:
    """Park the order with an optional note and serve the next customer."""
    return await ctx.services.sales.carts.hold(_cart_id(ctx), body.note)


@router.route("POST", "/api/v1/carts/{cart_id}/recall", response=CartView, tags=("carts",))
async def recall_cart(ctx: RequestContext, _: None) -> CartView:
    """Bring a held order back."""
    return await ctx.services.sales.carts.recall(_cart_id(ctx))


@router.route("POST", "/api/v1/carts/{cart_id}/void", body=VoidCart, response=CartView, tags=("carts",))
async def void_cart(ctx: RequestContext, body: VoidCart) -> CartView:
    """Void an open or held cart (audited with the reason)."""
    await ctx.require("void_cart")
    return await ctx.services.sales.carts.void(_cart_id(ctx), body.reason, actor=ctx.actor)


@router.route(
    "POST", "/api/v1/carts/{cart_id}/checkout", body=Checkout, response=SaleView, status=201, tags=("sales",)
)
async def checkout(ctx: RequestContext, body: Checkout) -> Reply:
    """Pay and complete: 201 with the sale, or 200 with the same sale for a repeated key."""
    await ctx.require("sell")
    sale, created = await ctx.services.sales.checkout.checkout(
        _cart_id(ctx), body, actor=ctx.actor, seller=_seller(ctx)
    )
    settings = (await ctx.services.sales.settings.get()).settings
    if created and ctx.staff is not None and settings.auto_lock_after_order:
        # Auto-lock: the next order starts with a PIN or a card again.
        await ctx.services.staff.logout(ctx.staff, reason="auto_lock")
    return Reply(201 if created else 200, sale)


# --- sales and refunds -------------------------------------------------------------------


@router.route("GET", "/api/v1/sales/{sale_id}", response=SaleView, errors=(404,), tags=("sales",))
async def get_sale(ctx: RequestContext, _: None) -> SaleView:
    """A completed sale, invoice or refund with lines, taxes and payments."""
    return await ctx.services.sales.checkout.sale(ctx.path_int("sale_id"))


@router.route("GET", "/api/v1/sales/{sale_id}/invoice.pdf", errors=(404,), tags=("sales",))
async def sale_pdf(ctx: RequestContext, _: None) -> web.Response:
    """The document as an A4 PDF (the B2B invoice with seller, buyer and tax per rate)."""
    name, pdf = await ctx.services.sales.checkout.document_pdf(ctx.path_int("sale_id"))
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.route("GET", "/api/v1/sales", query=SaleQuery, response=SaleView, errors=(404,), tags=("sales",))
async def find_sale(ctx: RequestContext, _: None) -> SaleView:
    """Find a document by its printed number (a scanned receipt QR code)."""
    query: SaleQuery = ctx.query
    return await ctx.services.sales.checkout.sale_by_number(query.number)


@router.route("POST", "/api/v1/sales/{sale_id}/reprint", response=ReprintReply, status=201, tags=("sales",))
async def reprint(ctx: RequestContext, _: None) -> Reply:
    """Print the receipt again, marked COPY (audited)."""
    job_id = await ctx.services.sales.checkout.reprint(ctx.path_int("sale_id"), actor=ctx.actor)
    return Reply(201, ReprintReply(job_id=job_id))


@router.route(
    "POST",
    "/api/v1/sales/{sale_id}/refunds",
    body=RefundWithReceipt,
    response=SaleView,
    status=201,
    tags=("sales",),
)
async def refund_with_receipt(ctx: RequestContext, body: RefundWithReceipt) -> Reply:
    """Refund chosen lines of a receipt; never more than was sold and not yet refunded."""
    await ctx.require("refund_with_receipt")
    sale, created = await ctx.services.sales.refunds.with_receipt(
        ctx.path_int("sale_id"), body, actor=ctx.actor, seller=_seller(ctx)
    )
    return Reply(201 if created else 200, sale)


@router.route(
    "POST", "/api/v1/refunds", body=RefundWithoutReceipt, response=SaleView, status=201, tags=("sales",)
)
async def refund_without_receipt(ctx: RequestContext, body: RefundWithoutReceipt) -> Reply:
    """Refund items without a receipt (a manager, when the store's settings say so)."""
    sale, created = await ctx.services.sales.refunds.without_receipt(
        body, actor=ctx.actor, permissions=await ctx.permissions(), seller=_seller(ctx)
    )
    return Reply(201 if created else 200, sale)
