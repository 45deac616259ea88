"""E-mail: the queue of receipts and invoices going out through the SMTP relay."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.api.context import RequestContext
from hub.api.routing import Reply, Router
from hub.domain.email_outbox import EmailView

router = Router()


class EmailQuery(msgspec.Struct, forbid_unknown_fields=True):
    state: Literal["queued", "sending", "sent", "failed"] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class EmailList(msgspec.Struct):
    emails: list[EmailView]


class SendEmail(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where to send the document; the same ``idempotency_key`` queues one message."""

    to: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Queued(msgspec.Struct):
    email_id: int


@router.route("GET", "/api/v1/emails", auth="admin", query=EmailQuery, response=EmailList, tags=("email",))
async def list_emails(ctx: RequestContext, _: None) -> EmailList:
    """Recent e-mails with their state, attempts and last error (newest first)."""
    query: EmailQuery = ctx.query
    return EmailList(emails=await ctx.services.email.list(state=query.state, limit=query.limit))


@router.route(
    "POST", "/api/v1/emails/{id}/retry", auth="admin", response=EmailView, errors=(404, 409), tags=("email",)
)
async def retry_email(ctx: RequestContext, _: None) -> EmailView:
    """Queue a failed e-mail again, now."""
    return await ctx.services.email.retry(ctx.path_int("id"))


@router.route(
    "POST", "/api/v1/sales/{sale_id}/email", body=SendEmail, response=Queued, status=201, tags=("sales",)
)
async def email_sale(ctx: RequestContext, body: SendEmail) -> Reply:
    """E-mail a receipt or invoice (invoices carry the A4 PDF) after the sale."""
    email_id = await ctx.services.sales.checkout.email_receipt(
        ctx.path_int("sale_id"), body.to, key=body.idempotency_key, actor=ctx.actor
    )
    return Reply(201, Queued(email_id=email_id))
