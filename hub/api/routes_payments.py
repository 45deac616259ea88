"""Card payments and scales: the payment journal, the ECR's abort, weighing.

Card payments themselves happen in checkout (a Card tender on a terminal with a card terminal);
these routes show their state, let the cashier abort a payment waiting for a card, and serve
the weighing dialog: read the weight once, watch it settle, zero and tare.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drivers.base import Weight
from drivers.errors import Declined, DeviceError
from hub.api.context import RequestContext
from hub.api.errors import ApiError
from hub.api.routing import Router
from hub.devices.manager import UnknownDevice, UnsupportedOperation
from hub.domain.payments.service import CardPaymentsService
from hub.domain.payments.store import CardPayment

router = Router()


class PaymentQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    state: (
        Literal["started", "waiting_for_card", "approved", "declined", "aborted", "unknown", "reversed"]
        | None
    ) = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


class PaymentList(msgspec.Struct):
    payments: list[CardPayment]


class WatchRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 60.0


class Done(msgspec.Struct):
    ok: bool = True


def _payments(ctx: RequestContext) -> CardPaymentsService:
    service = ctx.services.card_payments
    if service is None:
        raise ApiError(503, "not_ready", "card payments are not available yet")
    return service


def _device(ctx: RequestContext, kind: str) -> str:
    device_id = ctx.request.match_info["device_id"]
    try:
        ctx.services.devices.operations(device_id, kind)
    except UnknownDevice:
        raise ApiError(
            404, "device_not_found", f"no device {device_id!r} is configured on this hub"
        ) from None
    except UnsupportedOperation as exc:
        raise ApiError(409, f"not_a_{kind}", str(exc)) from None
    return device_id


def _device_error(exc: DeviceError) -> ApiError:
    if isinstance(exc, Declined):
        return ApiError(409, "device_refused", str(exc))
    return ApiError(503, exc.code, str(exc))


@router.route("GET", "/api/v1/payments", query=PaymentQuery, response=PaymentList, tags=("payments",))
async def list_payments(ctx: RequestContext, _: None) -> PaymentList:
    """Card payments and refunds, newest first, with their state and the terminal's answer."""
    store = _payments(ctx).store
    return PaymentList(payments=await store.recent(ctx.query.limit, state=ctx.query.state))


@router.route("GET", "/api/v1/payments/{payment_id}", response=CardPayment, errors=(404,), tags=("payments",))
async def get_payment(ctx: RequestContext, _: None) -> CardPayment:
    """One card payment: ``started``, ``waiting_for_card``, ``approved``, ``declined``, ``aborted`` or ``unknown``."""
    found = await _payments(ctx).store.get(ctx.path_int("payment_id"))
    if found is None:
        raise ApiError(404, "payment_not_found", "no such card payment")
    return found


@router.route(
    "POST",
    "/api/v1/payments/{payment_id}/reverse",
    response=CardPayment,
    errors=(402, 404, 409, 503),
    tags=("payments",),
)
async def reverse_payment(ctx: RequestContext, _: None) -> CardPayment:
    """Give back an approved card payment no sale was completed with: the terminal reverses it
    and the reversal is answered (the same one when asked again). A declined reversal is a 402
    with the terminal's reason; a payment that completed a sale is a 409 (refund the sale)."""
    await ctx.require("void_cart")
    try:
        return await _payments(ctx).reverse(ctx.path_int("payment_id"))
    except DeviceError as exc:
        raise _device_error(exc) from None


@router.route(
    "POST", "/api/v1/devices/{device_id}/abort", response=Done, errors=(404, 409, 503), tags=("payments",)
)
async def abort_payment(ctx: RequestContext, _: None) -> Done:
    """The cashier's abort of the payment the card terminal is waiting on (the ECR's abort)."""
    await ctx.require("sell")
    device_id = _device(ctx, "payment_terminal")
    try:
        await ctx.services.devices.card_abort(device_id)
    except DeviceError as exc:
        raise _device_error(exc) from None
    return Done()


@router.route(
    "GET", "/api/v1/devices/{device_id}/weight", response=Weight, errors=(404, 409, 503), tags=("scales",)
)
async def read_weight(ctx: RequestContext, _: None) -> Weight:
    """The scale's weight now, with ``stable`` (only a stable weight can be sold)."""
    device_id = _device(ctx, "scale")
    try:
        return await ctx.services.devices.weigh(device_id)
    except DeviceError as exc:
        raise _device_error(exc) from None


@router.route("POST", "/api/v1/devices/{device_id}/weighing", body=WatchRequest, response=Done,
              errors=(404, 409), tags=("scales",))  # fmt: skip
async def watch_weight(ctx: RequestContext, body: WatchRequest) -> Done:
    """Open a weighing dialog: every weight change becomes a ``scale.weight`` event for ``seconds``."""
    device_id = _device(ctx, "scale")
    ctx.services.devices.operations(device_id, "scale").watch(body.seconds)
    return Done()


async def _zero_or_tare(ctx: RequestContext, action: Literal["zero", "tare"]) -> Done:
    device_id = _device(ctx, "scale")
    try:
        await ctx.services.devices.zero_or_tare(device_id, action)
    except DeviceError as exc:
        raise _device_error(exc) from None
    return Done()


@router.route(
    "POST", "/api/v1/devices/{device_id}/zero", response=Done, errors=(404, 409, 503), tags=("scales",)
)
async def zero_scale(ctx: RequestContext, _: None) -> Done:
    """Zero the empty platform."""
    return await _zero_or_tare(ctx, "zero")


@router.route(
    "POST", "/api/v1/devices/{device_id}/tare", response=Done, errors=(404, 409, 503), tags=("scales",)
)
async def tare_scale(ctx: RequestContext, _: None) -> Done:
    """Take what is on the platform as tare."""
    return await _zero_or_tare(ctx, "tare")
