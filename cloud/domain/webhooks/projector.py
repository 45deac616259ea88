"""The ingest projector: newly stored hub facts become webhook events.

It runs inside :class:`~cloud.sync.ingest.EventIngest`'s transaction with only the facts that
batch inserted, so a fact delivered twice by MQTT is projected once; the webhook event id is
derived from the fact's id (UUIDv5), so even a replayed projection could not queue it twice.
Training receipts are not business and produce no event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.domain.webhooks.catalog import FROM_FACT
from cloud.domain.webhooks.emit import WebhookEvent, queue_events, subscribed
from protocols.sync.documents import SaleDocument
from protocols.sync.messages import PAYLOADS

if TYPE_CHECKING:
    from cloud.sync.projections import StoredEvent


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def sale_data(doc: SaleDocument, fact: StoredEvent) -> dict[str, Any]:
    """What ``order.created`` and ``refund.created`` carry about a receipt, invoice or refund."""
    return {
        "uuid": doc.uuid,
        "doc_type": doc.doc_type,
        "number": doc.number,
        "number_text": doc.number_text,
        "store_id": str(fact.store_id),
        "hub_id": str(fact.hub_id),
        "terminal_id": doc.terminal_id,
        "seller": doc.seller,
        "customer_id": doc.customer_id,
        "refund_of": doc.refund_of,
        "reason": doc.reason,
        "currency": doc.currency,
        "created_at": doc.created_at,
        "totals": {
            "subtotal": doc.subtotal,
            "discount_total": doc.discount_total,
            "tax_total": doc.tax_total,
            "total": doc.total,
            "rounding": doc.rounding,
            "paid_total": doc.paid_total,
            "change_total": doc.change_total,
            "balance_due": doc.balance_due,
        },
        "lines": [
            {
                "line_no": line.line_no,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "total": line.total,
            }
            for line in doc.lines
        ],
        "taxes": [
            {"name": t.name, "rate": t.rate, "inclusive": t.inclusive, "base": t.base, "amount": t.amount}
            for t in doc.taxes
        ],
        "payments": [
            {
                "tender_id": p.tender_id,
                "tender_type": p.tender_type,
                "amount": p.amount,
                "tendered": p.tendered,
                "change": p.change,
                "reference": p.reference,
            }
            for p in doc.payments
        ],
    }


def event_for(fact: StoredEvent) -> WebhookEvent | None:
    """The webhook event a stored fact becomes, or None when it has none."""
    kind = FROM_FACT.get(fact.type)
    if kind is None:
        return None
    kind_of_payload = PAYLOADS[fact.type]
    payload = (
        fact.decoded
        if isinstance(fact.decoded, kind_of_payload)
        else msgspec.json.decode(fact.payload, type=kind_of_payload)
    )
    data: dict[str, Any]
    if isinstance(payload, SaleDocument):
        if payload.training:
            return None
        data = sale_data(payload, fact)
    else:
        data = {"store_id": str(fact.store_id), "hub_id": str(fact.hub_id), **msgspec.to_builtins(payload)}
    fact_id = _uuid(fact.id)
    return WebhookEvent(
        tenant_id=_uuid(fact.tenant_id),
        type=kind,
        data=data,
        event_id=uuid.uuid5(fact_id, kind),
        created_at=utcnow(),
    )


async def project_webhooks(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    """Queue the webhook events of facts just stored (a :class:`~cloud.sync.projections.Projector`)."""
    candidates = [fact for fact in events if fact.type in FROM_FACT]
    # Decoding every sale into its webhook body costs more than storing it: build only the
    # events some endpoint of the fact's tenant takes.
    wanted = await subscribed(session, {_uuid(fact.tenant_id) for fact in candidates})
    chosen = (fact for fact in candidates if (_uuid(fact.tenant_id), FROM_FACT[fact.type]) in wanted)
    queued = [e for e in (event_for(fact) for fact in chosen) if e is not None]
    if queued:
        await queue_events(session, queued)
