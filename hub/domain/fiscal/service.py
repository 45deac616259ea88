"""Fiscalisation as the sales flow sees it: build the fiscal receipt of a sale and queue it.

The sale's transaction calls :meth:`Fiscalisation.queue`: the fiscal document is committed with
the sale or not at all. Lines carry their own tax rate (the priced snapshot), mapped to the
device's tax group by the store's ``tax_groups`` setting; a rate without a group refuses the
sale before anything is written, rather than fiscalising it under the wrong group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import msgspec

from hub.db.database import Transaction
from hub.domain.errors import Invalid
from hub.domain.fiscal.documents import FiscalView, enqueue
from hub.domain.pricing.types import LineTax
from hub.domain.sales.schemas import SaleView
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt, PaymentType

_PAYMENT_TYPES: dict[str, PaymentType] = {
    "cash": "cash", "card": "card", "check": "check", "voucher": "voucher", "gift_card": "voucher",
    "credit": "credit", "account": "credit",
}  # fmt: skip


@dataclass(frozen=True)
class FiscalSettings:
    """Which fiscaliser a store uses and how its tax rates map to fiscal tax groups.

    ``device`` is the queue the documents go to: the fiscal printer's device id, or the mode's
    name for a signing service.
    """

    mode: Literal["off", "device", "taxcore", "tse", "rksv"] = "off"
    device: str = ""
    tax_groups: dict[str, str] = field(default_factory=dict)  # "17" -> "A"
    currency_exponent: int = 2

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


class _Taxed(msgspec.Struct):
    """The part of a line snapshot fiscalisation reads: the line's taxes."""

    taxes: tuple[LineTax, ...] = ()


def _rate_key(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Fiscalisation:
    """Builds and queues fiscal receipts; a no-op when the store does not fiscalise."""

    def __init__(self, settings: FiscalSettings, on_queued: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        # Wakes the device's worker once the document is committed (it would find it at its
        # next poll anyway, seconds later).
        self.on_queued = on_queued

    def queued(self, tx: Transaction) -> None:
        """Wake the fiscal device's worker after ``tx`` commits."""
        wake, device = self.on_queued, self.settings.device
        if wake is not None:
            tx.after_commit(lambda: wake(device))

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def _group(self, rate: Decimal) -> str:
        key = _rate_key(rate)
        group = self.settings.tax_groups.get(key)
        if group is None:
            raise Invalid(
                "no_fiscal_tax_group",
                f"tax rate {key} % has no fiscal tax group; add it to [fiscal] tax_groups",
                details={"rate": key},
            )
        return group

    async def receipt(
        self, tx: Transaction, sale: SaleView, *, refund_of: SaleView | None = None
    ) -> FiscalReceipt:
        """The fiscal receipt of a completed sale or refund (read inside the sale's tx)."""
        rows = await tx.fetchall("SELECT line_no, snapshot FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
                                 (sale.id,))  # fmt: skip
        # A sold line keeps its PricedLine, a refunded one its RefundAmounts: both carry taxes.
        snapshots = {row["line_no"]: msgspec.json.decode(row["snapshot"], type=_Taxed) for row in rows}
        items = []
        for line in sale.lines:
            priced = snapshots[line.line_no]
            rate = priced.taxes[0].rate if priced.taxes else Decimal(0)
            quantity = Decimal(line.quantity).copy_abs()
            items.append(
                FiscalItem(
                    name=line.name,
                    quantity=f"{quantity.normalize():f}",
                    unit_price=abs(line.unit_price),
                    total=abs(line.total),
                    discount=abs(line.discount),
                    tax_group=self._group(rate),
                    tax_rate=_rate_key(rate),
                )
            )
        payments = [
            # What was handed over, so the device prints the change as the sale did.
            FiscalPayment(
                type=_PAYMENT_TYPES.get(p.tender_type, "other"),
                amount=abs(p.amount),
                tendered=max(abs(p.tendered), abs(p.amount)),
            )
            for p in sale.payments
        ]
        reference_number, reference_at = "", ""
        if refund_of is not None:
            row = await tx.fetchone(
                "SELECT fiscal_number, result FROM fiscal_documents WHERE sale_id = ? AND state = 'fiscalised'",
                (refund_of.id,),
            )
            if row is not None:
                reference_number = row["fiscal_number"] or ""
                reference_at = msgspec.json.decode(row["result"]).get("fiscalised_at", "")
        return FiscalReceipt(
            request_id=sale.uuid.replace("-", ""),
            kind="refund" if refund_of is not None or sale.total < 0 else "sale",
            number=sale.number_text,
            at=sale.created_at,
            cashier=sale.seller,
            items=items,
            payments=payments,
            total=abs(sale.total),
            training=sale.training,
            currency_exponent=self.settings.currency_exponent,
            refund_of_number=reference_number,
            refund_of_at=reference_at or (refund_of.created_at if refund_of else ""),
        )

    async def queue(
        self, tx: Transaction, sale: SaleView, *, refund_of: SaleView | None = None
    ) -> FiscalView | None:
        """Queue the sale's fiscal receipt in ``tx``; None when nothing is to be fiscalised."""
        if not self.enabled or sale.training:
            return None
        receipt = await self.receipt(tx, sale, refund_of=refund_of)
        view = await enqueue(tx, sale.id, self.settings.device, receipt)
        self.queued(tx)
        return view
