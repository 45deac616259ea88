"""The configuration the cloud pushed that the POS pages read as documents: discounts,
campaigns, layouts, floor plans and store options (the rest lives in the hub's own tables and
has its own routes)."""

from __future__ import annotations

from hub.api.context import RequestContext
from hub.api.routing import Router
from hub.domain.cloud_config import CloudConfig, ConfigDocuments

router = Router()


@router.route("GET", "/api/v1/config/{section}", response=ConfigDocuments, errors=(404,), tags=("config",))
async def config_documents(ctx: RequestContext, _: None) -> ConfigDocuments:
    """The active documents of a config section, by key (``body`` as the cloud authored it).

    Sections: ``discounts``, ``campaigns``, ``layouts``, ``floor_plans``, ``store_options``;
    any other is a 404 ``unknown_section``.
    """
    return await CloudConfig(ctx.services.db).documents(ctx.request.match_info["section"])
