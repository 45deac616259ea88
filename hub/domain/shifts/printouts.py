"""Shift reports and X/Z reports as receipt-printer documents, queued like any print job."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from hub.db.database import Transaction
from hub.domain.print_jobs import PrintJobs
from hub.domain.store_settings import StoreSettings
from protocols.escpos import Columns, Cut, ReceiptDocument, Separator, Text, render
from protocols.escpos.document import Block

WIDTH = {58: 32, 80: 48}


def header(settings: StoreSettings, title: str, subtitle: Sequence[str]) -> list[Block]:
    blocks: list[Block] = [
        Text(text=settings.business_name or settings.store_name, align="center", bold=True)
    ]
    blocks.append(Text(text=title, align="center", bold=True, double_height=True))
    blocks += [Text(text=line) for line in subtitle if line]
    blocks.append(Separator())
    return blocks


def rows(settings: StoreSettings, figures: Sequence[tuple[str, int | str]]) -> list[Block]:
    """Label/amount rows; ints are minor units."""
    return [
        Columns(left=label, right=settings.money_text(value) if isinstance(value, int) else value)
        for label, value in figures
    ]


def document(settings: StoreSettings, blocks: list[Block]) -> ReceiptDocument:
    return ReceiptDocument(
        blocks=[*blocks, Separator(), Cut()], language=settings.language, width=WIDTH[settings.paper_width_mm]
    )


async def queue_print(
    tx: Transaction,
    jobs: PrintJobs,
    printers: frozenset[str],
    settings: StoreSettings,
    doc: ReceiptDocument,
    *,
    key: str,
    actor: str,
) -> int | None:
    """Queue ``doc`` on the receipt printer inside ``tx``; None when the hub has no such printer."""
    if settings.receipt_printer not in printers:
        return None
    job, _ = await jobs.enqueue(
        tx,
        device_id=settings.receipt_printer,
        kind="document",
        payload=msgspec.json.encode(doc),
        rendered=render(doc),
        idempotency_key=key,
        source=actor,
    )
    return job.id
