"""Helpers of the report tests: documents built line by line, and hubs feeding the real ingest.

Facts go through :class:`cloud.sync.ingest.EventIngest` with the default projectors, exactly as
the MQTT bridge hands them over, without a broker in between.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec

from cloud.db.models import Hub
from cloud.sync.ingest import BatchOutcome, EventIngest, HubDirectory
from cloud.sync.projections import default_projectors
from protocols.sync.documents import SaleDocument, SaleLine, SalePayment, SaleTax
from protocols.sync.messages import EventEnvelope, encode
from protocols.sync.topics import HubTopics
from tests.cloud.bridge_support import uuid7
from tests.cloud.conftest import Cloud, store_body

Line = tuple[str, int | None, str, int, int]  # name, product id, quantity, total (tax included), rate %


def inclusive_tax(total: int, rate: int) -> int:
    """The tax inside ``total`` at ``rate`` percent, half-even."""
    return int((Decimal(total) * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def document(
    number: int,
    lines: list[Line],
    payments: list[tuple[str, int]],
    *,
    seller: str = "Ana",
    at: str = "2026-11-22T10:00:00+00:00",
    doc_type: str = "receipt",
    training: bool = False,
    change: int = 0,
) -> SaleDocument:
    """A document with prices including tax; ``payments`` are (tender id, amount counted)."""
    sale_lines: list[SaleLine] = []
    taxes: dict[int, tuple[int, int]] = {}
    for no, (name, product, qty, total, rate) in enumerate(lines, 1):
        tax = inclusive_tax(total, rate)
        sale_lines.append(SaleLine(id=number * 100 + no, line_no=no, product_id=product, variant_id=None, name=name,
                                   quantity=qty, unit_price=total, gratis_quantity="0", gross=total, discount=0,
                                   net=total, total=total, note="", refund_of_line=None, refunded_quantity="0"))  # fmt: skip
        base, amount = taxes.get(rate, (0, 0))
        taxes[rate] = (base + total - tax, amount + tax)
    total = sum(line[3] for line in lines)
    tax_total = sum(a for _, a in taxes.values())
    return SaleDocument(
        id=number, uuid=str(uuid.uuid4()), doc_type=doc_type, number=number, number_text=f"R-{number}",  # type: ignore[arg-type]
        terminal_id="T1", training=training, customer_id=None, buyer=None, seller=seller, refund_of=None,
        reason=None, currency="EUR", subtotal=total, discount_total=0, tax_total=tax_total, total=total, rounding=0,
        paid_total=total, change_total=change, balance_due=0, created_at=at, lines=sale_lines,
        taxes=[SaleTax(rate_id=rate, name=f"VAT {rate}%", rate=str(rate), inclusive=True, base=b, amount=a)
               for rate, (b, a) in sorted(taxes.items())],
        payments=[SalePayment(tender_id=t, tender_type=t, amount=amount, tendered=amount + (change if t == "cash" else 0),
                              change=change if t == "cash" else 0, rounding=0, reference=None, comment=None)
                  for t, amount in payments],
    )  # fmt: skip


def envelope(seq: int, kind: str, payload: msgspec.Struct | dict[str, Any] | bytes) -> bytes:
    """An ``up/events`` message; a ``bytes`` payload goes out exactly as given."""
    raw = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    at = "2026-11-22T10:00:00+00:00"
    return encode(EventEnvelope(seq=seq, id=uuid7(), type=kind, occurred_at=at, payload=msgspec.Raw(raw)))


@dataclass
class FeedHub:
    """A hub of a store that sends facts straight into the ingest."""

    topics: HubTopics
    ingest: EventIngest
    seq: int = 0
    sent: dict[int, bytes] = field(default_factory=dict)

    async def send(self, kind: str, payload: msgspec.Struct | dict[str, Any] | bytes) -> BatchOutcome:
        """One fact with the next seq, in a batch of its own."""
        return await self.batch([(kind, payload)])

    async def batch(self, facts: list[tuple[str, msgspec.Struct | dict[str, Any] | bytes]]) -> BatchOutcome:
        """Several facts with the next seqs, in one batch (one transaction)."""
        messages = []
        for kind, payload in facts:
            self.seq += 1
            self.sent[self.seq] = envelope(self.seq, kind, payload)
            messages.append((self.topics, self.topics.up_events, self.sent[self.seq]))
        return await self.ingest.ingest(messages)

    async def resend(self, seq: int) -> BatchOutcome:
        """The fact ``seq`` again, byte for byte (a redelivery)."""
        return await self.ingest.ingest([(self.topics, self.topics.up_events, self.sent[seq])])


def make_ingest(cloud: Cloud) -> EventIngest:
    """The real ingest with the projectors the bridge runs."""
    return EventIngest(cloud.sessions, HubDirectory(), projectors=default_projectors())


async def add_store(cloud: Cloud, headers: dict[str, str], name: str, timezone: str = "Europe/Berlin") -> str:
    """A new store of the caller's tenant."""
    response = await cloud.client.post(
        "/api/v1/stores", json=store_body(name, timezone=timezone), headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_hub(cloud: Cloud, ingest: EventIngest, tenant_id: uuid.UUID, store_id: str) -> FeedHub:
    """An active hub in the store (written directly: claiming is tested elsewhere)."""
    async with cloud.sessions() as session:
        hub = Hub(tenant_id=tenant_id, store_id=uuid.UUID(store_id), name="Till", status="active")
        session.add(hub)
        await session.commit()
        return FeedHub(HubTopics(str(tenant_id), store_id, str(hub.id)), ingest)
