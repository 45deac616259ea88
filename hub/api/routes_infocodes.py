"""Infocodes: authoring, the prompts due at a step, and answering them.

A conversation is a cart (its id) or a refund (``refund:<idempotency key>``). A step that
has unanswered required prompts answers ``409 infocode_required`` with the prompts in
``details``; answer them here and repeat the step.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.api.context import RequestContext
from hub.api.routing import Reply, Router
from hub.domain.infocodes.schemas import AnswerIn, AnswerView, InfocodeIn, InfocodeView, Prompt, Trigger

router = Router()


class InfocodeList(msgspec.Struct):
    infocodes: list[InfocodeView]


class PromptQuery(msgspec.Struct, forbid_unknown_fields=True):
    trigger: Trigger
    product_id: int | None = None
    tender_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class PromptList(msgspec.Struct):
    prompts: list[Prompt]


class AnswerList(msgspec.Struct):
    answers: list[AnswerView]


@router.route("GET", "/api/v1/infocodes", response=InfocodeList, tags=("infocodes",))
async def list_infocodes(ctx: RequestContext, _: None) -> InfocodeList:
    """Every infocode with its trigger, input type, validation and sub-codes."""
    return InfocodeList(infocodes=await ctx.services.infocodes.all())


@router.route(
    "POST", "/api/v1/infocodes", body=InfocodeIn, response=InfocodeView, status=201, tags=("infocodes",)
)
async def create_infocode(ctx: RequestContext, body: InfocodeIn) -> Reply:
    """Add an infocode (seed 001 fields; functionbuttons and textfunctionlist take sub-codes)."""
    await ctx.require("settings")
    return Reply(201, await ctx.services.infocodes.create(body, actor=ctx.actor))


@router.route(
    "GET",
    "/api/v1/conversations/{context}/prompts",
    query=PromptQuery,
    response=PromptList,
    tags=("infocodes",),
)
async def due_prompts(ctx: RequestContext, _: None) -> PromptList:
    """The prompts due for a step of a cart or refund (answered ones are left out)."""
    q: PromptQuery = ctx.query
    prompts = await ctx.services.infocodes.due(
        ctx.request.match_info["context"], [q.trigger], product_id=q.product_id, tender_id=q.tender_id
    )
    return PromptList(prompts=prompts)


@router.route(
    "POST",
    "/api/v1/conversations/{context}/answers",
    body=AnswerIn,
    response=AnswerView,
    status=201,
    errors=(404, 422),
    tags=("infocodes",),
)
async def answer(ctx: RequestContext, body: AnswerIn) -> Reply:
    """Answer a prompt; the answer is checked against the code's input type and validation."""
    return Reply(
        201, await ctx.services.infocodes.answer(ctx.request.match_info["context"], body, actor=ctx.actor)
    )


@router.route("GET", "/api/v1/conversations/{context}/answers", response=AnswerList, tags=("infocodes",))
async def answers(ctx: RequestContext, _: None) -> AnswerList:
    """The answers given in a cart or refund (kept with the receipt)."""
    return AnswerList(answers=await ctx.services.infocodes.answers(ctx.request.match_info["context"]))
