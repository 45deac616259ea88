"""Refunds with a receipt (chosen lines and quantities) and without one (manager approval).

With a receipt, each refunded line reverses the stored snapshot of the original line
(:func:`hub.domain.pricing.refund_slice`) instead of pricing it again, so tax rates or prices
changed since the sale do not change what is given back, and refunding every unit in any
number of refunds returns exactly what was paid. A line is never refunded beyond what was sold
and not yet refunded: that is checked again inside the transaction, so two tablets refunding
the same receipt at once cannot both succeed. Stock comes back, a refund document with its own
gap-free series is written, the money goes out through a tender, and a refund receipt prints.
Amounts on a refund document are negative.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

import msgspec

from hub.db.database import Transaction
from hub.domain import outbox
from hub.domain.clock import now_iso
from hub.domain.money import MoneyError, format_percent, format_quantity, parse_quantity
from hub.domain.pricing import PricedLine, PricingError, PricingLine, price_cart, refund_slice
from hub.domain.sales import sale_store
from hub.domain.sales.checkout import SalesService, Seller, attach_shift, request_hash, under_store_rules
from hub.domain.sales.errors import Forbidden, Invalid, NotFound, SalesError
from hub.domain.sales.numbering import next_number, number_text
from hub.domain.sales.sale_store import LineWrite, SaleHeader
from hub.domain.sales.schemas import (
    PaymentView,
    RefundWithoutReceipt,
    RefundWithReceipt,
    SaleView,
    TaxView,
)
from hub.domain.sales.tenders import SettledPayment, Settlement


def _quantity(text: str) -> Decimal:
    try:
        return parse_quantity(text)
    except MoneyError as exc:
        raise Invalid(exc.code, str(exc)) from None


class RefundService:
    """Refund workflows on top of :class:`SalesService` (same outputs and numbering)."""

    def __init__(self, sales: SalesService) -> None:
        self._sales = sales

    async def with_receipt(
        self, sale_id: int, request: RefundWithReceipt, *, actor: str, seller: Seller | None = None
    ) -> tuple[SaleView, bool]:
        s = self._sales
        await s._carts.infocodes.require(f"refund:{request.idempotency_key}", ["RECEIPT_REFUND", "REFUND"])
        digest = request_hash(f"refund-{sale_id}", request)
        replay = await s._replay(request.idempotency_key, digest)
        if replay is not None:
            return replay, False
        original = await s.sale(sale_id)
        if original.doc_type == "refund":
            raise SalesError("not_refundable", "a refund cannot be refunded")
        by_id = {line.id: line for line in original.lines}
        wanted: dict[int, Decimal] = defaultdict(Decimal)
        for item in request.lines:
            if item.sale_line_id not in by_id:
                raise NotFound("line_not_found", f"sale {sale_id} has no line {item.sale_line_id}")
            wanted[item.sale_line_id] += _quantity(item.quantity)
        tender = await s.tenders.get(request.tender_id)
        card_lines: tuple[str, ...] = ()
        if tender.eft:
            # The money goes back to the card before the refund is written: a declined refund
            # writes nothing, and a retry with the same key reuses an approval already given.
            total = await self._refund_total(sale_id, wanted)
            approval = await s._card.refund(amount=total, sale_key=request.idempotency_key,
                                            terminal_id=request.terminal_id)  # fmt: skip
            card_lines = approval.receipt_lines
        async with s._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, quantity, refunded_quantity, snapshot FROM sale_lines WHERE sale_id = ?",
                (sale_id,),
            )
            current = {row["id"]: row for row in rows}
            writes: list[LineWrite] = []
            taxes: dict[int, list[int]] = {}
            tax_meta: dict[int, tuple[str, str, bool]] = {}
            for number, (line_id, quantity) in enumerate(sorted(wanted.items()), start=1):
                row = current[line_id]
                sold, already = Decimal(row["quantity"]), Decimal(row["refunded_quantity"])
                if quantity > sold - already:
                    raise Invalid(
                        "refund_exceeds_sold",
                        f"line {line_id}: {format_quantity(quantity)} asked, "
                        f"{format_quantity(sold - already)} left to refund of {format_quantity(sold)} sold",
                    )
                snapshot = msgspec.json.decode(row["snapshot"], type=PricedLine)
                try:
                    amounts = refund_slice(snapshot, sold, already, quantity)
                except PricingError as exc:
                    raise Invalid(exc.code, str(exc)) from None
                line = by_id[line_id]
                writes.append(
                    LineWrite(
                        line_no=number,
                        product_id=line.product_id,
                        variant_id=line.variant_id,
                        name=line.name,
                        quantity=format_quantity(-quantity),
                        unit_price=line.unit_price,
                        gratis_quantity="0",
                        gross=-amounts.gross,
                        discount=-amounts.discount,
                        net=-amounts.net,
                        total=-amounts.total,
                        snapshot=msgspec.json.encode(amounts).decode(),
                        note="",
                        refund_of_line=line_id,
                    )
                )
                for tax in amounts.taxes:
                    sums = taxes.setdefault(tax.rate_id, [0, 0])
                    sums[0] -= tax.base
                    sums[1] -= tax.amount
                    tax_meta[tax.rate_id] = (tax.name, format_percent(tax.rate), tax.inclusive)
                await tx.execute(
                    "UPDATE sale_lines SET refunded_quantity = ? WHERE id = ?",
                    (format_quantity(already + quantity), line_id),
                )
                if line.product_id is not None and not original.training:
                    await s._carts.catalog.adjust_stock(tx, line.product_id, line.variant_id, quantity)
            tax_views = [
                TaxView(
                    rate_id=rid,
                    name=tax_meta[rid][0],
                    rate=tax_meta[rid][1],
                    inclusive=tax_meta[rid][2],
                    base=v[0],
                    amount=v[1],
                )
                for rid, v in sorted(taxes.items())
            ]
            sale = await self._write(
                tx,
                request.idempotency_key,
                digest,
                request.terminal_id,
                writes,
                tax_views,
                tender_id=tender.id,
                actor=actor,
                reason=request.reason,
                refund_of=sale_id,
                training=original.training,
                customer_id=original.customer_id,
                approved_by=None,
                seller=seller,
                card_lines=card_lines,
            )
        return sale, True

    async def _refund_total(self, sale_id: int, wanted: dict[int, Decimal]) -> int:
        """What refunding ``wanted`` of the sale's lines pays back (as the write will compute it)."""
        rows = await self._sales._db.fetchall(
            "SELECT id, quantity, refunded_quantity, snapshot FROM sale_lines WHERE sale_id = ?", (sale_id,)
        )
        current = {row["id"]: row for row in rows}
        total = 0
        for line_id, quantity in wanted.items():
            row = current[line_id]
            sold, already = Decimal(row["quantity"]), Decimal(row["refunded_quantity"])
            if quantity > sold - already:
                raise Invalid("refund_exceeds_sold", f"line {line_id}: more asked than is left to refund")
            snapshot = msgspec.json.decode(row["snapshot"], type=PricedLine)
            try:
                total += refund_slice(snapshot, sold, already, quantity).total
            except PricingError as exc:
                raise Invalid(exc.code, str(exc)) from None
        return total

    async def without_receipt(
        self,
        request: RefundWithoutReceipt,
        *,
        actor: str,
        permissions: frozenset[str],
        seller: Seller | None = None,
    ) -> tuple[SaleView, bool]:
        s = self._sales
        settings = (await s._settings.get()).settings
        if settings.refund_without_receipt_needs_manager and "refund_without_receipt" not in permissions:
            raise Forbidden("manager_approval_required", "a refund without a receipt needs a manager")
        await s._carts.infocodes.require(f"refund:{request.idempotency_key}", ["RECEIPT_REFUND", "REFUND"])
        digest = request_hash("refund-free", request)
        replay = await s._replay(request.idempotency_key, digest)
        if replay is not None:
            return replay, False
        catalog = s._carts.catalog
        pricing_lines = []
        names = []
        for index, item in enumerate(request.lines):
            found = await catalog.sellable(item.product_id, item.variant_id)
            if found is None:
                raise NotFound("product_not_found", f"no product {item.product_id}")
            names.append(found.name)
            pricing_lines.append(
                PricingLine(
                    key=str(index),
                    unit_price=item.unit_price,
                    quantity=_quantity(item.quantity),
                    taxes=await catalog.taxes_for(item.product_id, item.variant_id),
                )
            )
        try:
            priced = price_cart(pricing_lines, cart_discount=None, scope=settings.rounding_scope)
        except PricingError as exc:
            raise Invalid(exc.code, str(exc)) from None
        writes = [
            LineWrite(
                line_no=i + 1,
                product_id=item.product_id,
                variant_id=item.variant_id,
                name=names[i],
                quantity=format_quantity(-pl.quantity),
                unit_price=item.unit_price,
                gratis_quantity="0",
                gross=-pl.gross,
                discount=-(pl.gross - pl.net),
                net=-pl.net,
                total=-pl.total,
                snapshot=msgspec.json.encode(pl).decode(),
                note="",
                refund_of_line=None,
            )
            for i, (item, pl) in enumerate(zip(request.lines, priced.lines, strict=True))
        ]
        taxes = [
            TaxView(
                rate_id=t.rate_id,
                name=t.name,
                rate=format_percent(t.rate),
                inclusive=t.inclusive,
                base=-t.base,
                amount=-t.amount,
            )
            for t in priced.taxes
        ]
        free_tender = await s.tenders.get(request.tender_id)
        free_lines: tuple[str, ...] = ()
        if free_tender.eft:
            approval = await s._card.refund(amount=-sum(w.total for w in writes), sale_key=request.idempotency_key,
                                            terminal_id=request.terminal_id)  # fmt: skip
            free_lines = approval.receipt_lines
        async with s._db.transaction() as tx:
            for item in request.lines:
                await catalog.adjust_stock(tx, item.product_id, item.variant_id, _quantity(item.quantity))
            sale = await self._write(
                tx,
                request.idempotency_key,
                digest,
                request.terminal_id,
                writes,
                taxes,
                tender_id=request.tender_id,
                actor=actor,
                reason=request.reason,
                refund_of=None,
                training=False,
                customer_id=None,
                approved_by=actor if "refund_without_receipt" in permissions else None,
                seller=seller,
                card_lines=free_lines,
            )
        return sale, True

    async def _write(
        self,
        tx: Transaction,
        key: str,
        digest: str,
        terminal_id: str,
        writes: list[LineWrite],
        taxes: list[TaxView],
        *,
        tender_id: str,
        actor: str,
        reason: str,
        refund_of: int | None,
        training: bool,
        customer_id: int | None,
        approved_by: str | None,
        seller: Seller | None,
        card_lines: tuple[str, ...] = (),
    ) -> SaleView:
        s = self._sales
        versioned = await s._settings.get()
        settings = versioned.settings
        seller = await under_store_rules(s._settings, seller)
        tender = await s.tenders.get(tender_id)
        if await sale_store.find_by_key(tx, key) is not None:
            raise SalesError("checkout_in_progress", "this refund was just completed; retry to read it")
        total = sum(w.total for w in writes)
        net = sum(w.net for w in writes)
        gross = sum(w.gross for w in writes)
        tax_total = sum(t.amount for t in taxes)
        number = await next_number(
            tx, store_id=settings.store_id, terminal_id=terminal_id, doc_type="refund", training=training
        )
        await tx.execute(
            "INSERT INTO terminals (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (terminal_id, terminal_id, now_iso()),
        )
        header = SaleHeader(
            uuid=str(uuid.uuid4()),
            doc_type="refund",
            number=number,
            number_text=number_text(
                terminal_id=terminal_id, doc_type="refund", number=number, training=training
            ),
            store_id=settings.store_id,
            terminal_id=terminal_id,
            training=training,
            idempotency_key=key,
            request_hash=digest,
            cart_id=None,
            customer_id=customer_id,
            buyer=None,
            seller=actor,
            refund_of=refund_of,
            reason=reason,
            approved_by=approved_by,
            currency=settings.currency,
            subtotal=gross,
            discount_total=gross - net,
            tax_total=tax_total,
            total=total,
            rounding=0,
            paid_total=total,
            change_total=0,
            balance_due=0,
            settings_version=versioned.version,
            created_at=now_iso(),
        )
        payment = PaymentView(
            tender_id=tender.id,
            tender_type=tender.tender_type,
            amount=total,
            tendered=total,
            change=0,
            rounding=0,
            reference=None,
            comment=None,
        )
        sale_id = await sale_store.insert_document(tx, header, writes, taxes, [payment])
        await attach_shift(tx, sale_id, terminal_id, seller)
        sale = await sale_store.load_sale(tx, sale_id)
        if not training:
            await outbox.append(tx, "sale.refunded", sale)
        await s._events.append(
            tx, "sale.refunded", {"id": sale_id, "number": sale.number_text, "total": total}
        )
        settlement = Settlement(
            payments=(SettledPayment(tender, total, total, 0, 0, "", ""),),
            rounding=0,
            paid_total=total,
            change_total=0,
            balance_due=0,
            open_drawer=tender.cashdrawer == "force_open",
        )
        refund_of_number, original = None, None
        if refund_of is not None:
            original = await sale_store.load_sale(tx, refund_of)
            refund_of_number = original.number_text
        return await s.outputs(
            tx,
            sale,
            settings,
            settlement,
            actor,
            print_receipt=None,
            email=None,
            refund_of_number=refund_of_number,
            notes=[*await s._carts.infocodes.receipt_lines(f"refund:{key}"), *card_lines],
            refund_of=original,
        )
