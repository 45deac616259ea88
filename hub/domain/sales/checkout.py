"""Completing a sale: price, settle, number, and write everything in one transaction.

Architecture, "A cash sale, end to end": the cart is priced by the one pricing function, the
payments are settled by the tender rules, and then **one** SQLite transaction allocates the
gap-free number and writes the sale, its lines (each with its priced snapshot), payments, tax
summary, stock movements, the ``sale.completed`` outbox fact, the receipt print job, the drawer
job and the email job. The client's idempotency key makes a retried checkout return the same
sale; the same key with a different request is a conflict.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import msgspec

from hub.db.database import Database, Transaction
from hub.domain import audit, outbox
from hub.domain.clock import now_iso
from hub.domain.events import EventLog
from hub.domain.fiscal.service import Fiscalisation, FiscalSettings
from hub.domain.money import format_quantity
from hub.domain.print_jobs import PrintJobs
from hub.domain.print_render import DrawerRequest, render_payload
from hub.domain.sales import cart_store, sale_store
from hub.domain.sales.card_terminal import CardTerminal
from hub.domain.sales.carts import CartService
from hub.domain.sales.errors import Invalid, SalesError
from hub.domain.sales.numbering import DocType, next_number, number_text
from hub.domain.sales.pricing_view import PricedCartResult, tax_views
from hub.domain.sales.receipts import document_as_text, receipt_document
from hub.domain.sales.sale_store import LineWrite, SaleHeader
from hub.domain.sales.schemas import Buyer, Checkout, PaymentView, SaleView
from hub.domain.sales.tender_store import TenderStore
from hub.domain.sales.tenders import Settlement, TenderError, settle
from hub.domain.store_settings import StoreSettings, StoreSettingsService
from protocols.escpos import Block, Cut, QRCode, ReceiptDocument, Separator, Text, render
from protocols.fiscal.receipt import FiscalResult


class EmailPort(Protocol):
    """The durable e-mail outbox: queue a message inside the caller's transaction."""

    async def enqueue(
        self,
        tx: Transaction,
        *,
        to: str,
        subject: str,
        text: str,
        idempotency_key: str,
        attachment: tuple[str, str, bytes] | None = None,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class Seller:
    """The logged-in employee completing a document; their open shift on the terminal gets it."""

    employee_id: int
    require_shift: bool = True


async def under_store_rules(settings: StoreSettingsService, seller: Seller | None) -> Seller | None:
    """``seller`` with the store's shift rule applied: the cloud may let a store sell without
    an open shift (``store_options.shift_rules.require_open_shift``)."""
    if seller is None or not seller.require_shift:
        return seller
    if (await settings.options()).shift_rules.require_open_shift:
        return seller
    return replace(seller, require_shift=False)


async def attach_shift(tx: Transaction, sale_id: int, terminal_id: str, seller: Seller | None) -> None:
    """Book the document on the terminal's open shift (inside the sale's transaction).

    With staff set up, selling needs an open shift of the same employee: otherwise the whole
    sale rolls back, number included.
    """
    if seller is None:
        return
    shift = await tx.fetchone(
        "SELECT id, employee_id FROM shifts WHERE terminal_id = ? AND state = 'open'", (terminal_id,)
    )
    if shift is None:
        if seller.require_shift:
            raise SalesError("no_open_shift", f"start a shift on terminal {terminal_id} first")
    elif shift["employee_id"] != seller.employee_id:
        raise SalesError("terminal_occupied", "This terminal is occupied by another employee's shift")
    await tx.execute(
        "UPDATE sales SET shift_id = ?, employee_id = ? WHERE id = ?",
        (None if shift is None else shift["id"], seller.employee_id, sale_id),
    )


@dataclass(slots=True)
class Devices:
    """Which devices can take the receipt and the drawer kick; the device manager keeps it
    current as devices are adopted and removed at runtime.

    ``receipt_printers`` maps a terminal to the printer adopted as its receipt printer; a
    terminal without one prints on the store's ``receipt_printer`` setting.
    """

    printers: frozenset[str]
    drawers: frozenset[str]
    receipt_printers: dict[str, str] = field(default_factory=dict)

    def receipt_printer(self, terminal_id: str, default: str) -> str:
        return self.receipt_printers.get(terminal_id, default)


def request_hash(scope: str, request: msgspec.Struct) -> str:
    return hashlib.sha256(scope.encode() + b"\0" + msgspec.json.encode(request)).hexdigest()


class SalesService:
    """Checkout, reprint and (with :mod:`refunds`) refunds."""

    def __init__(
        self,
        db: Database,
        events: EventLog,
        jobs: PrintJobs,
        carts: CartService,
        tenders: TenderStore,
        settings: StoreSettingsService,
        card: CardTerminal,
        devices: Devices,
        email: EmailPort | None = None,
        fiscal: Fiscalisation | None = None,
    ) -> None:
        self.fiscal = fiscal or Fiscalisation(FiscalSettings())
        self._db = db
        self._events = events
        self._jobs = jobs
        self._carts = carts
        self.tenders = tenders
        self._settings = settings
        self._card = card
        self._devices = devices
        self._email = email

    async def _replay(self, key: str, digest: str) -> SaleView | None:
        found = await sale_store.find_by_key(self._db, key)
        if found is None:
            return None
        sale_id, stored = found
        if stored != digest:
            raise SalesError(
                "idempotency_conflict", f"idempotency key {key!r} was used for a different request"
            )
        return await sale_store.load_sale(self._db, sale_id)

    async def checkout(
        self, cart_id: str, request: Checkout, *, actor: str, seller: Seller | None = None
    ) -> tuple[SaleView, bool]:
        """Complete the cart; returns the sale and whether it is new (False: a replay)."""
        digest = request_hash(cart_id, request)
        replay = await self._replay(request.idempotency_key, digest)
        if replay is not None:
            return replay, False
        versioned = await self._settings.get()
        settings = versioned.settings
        seller = await under_store_rules(self._settings, seller)
        cart, lines = await cart_store.load_cart(self._db, cart_id)
        cart_store.require_open(cart)
        if not lines:
            raise SalesError("cart_empty", "the cart has no items")
        prompts = self._carts.infocodes
        await prompts.require(cart_id, ["SUBTOTAL", "RECEIPT_END"])
        for payment in request.payments:
            await prompts.require(cart_id, ["TENDER"], tender_id=payment.tender_id)
        priced = await self._carts.pricer.price(cart, lines, settings)
        tenders = await self.tenders.all()
        try:
            settlement = settle(priced.priced.total, list(request.payments), tenders)
        except TenderError as exc:
            raise Invalid(exc.code, str(exc)) from None
        references = {}
        card_lines: list[str] = []
        card_payment_ids: list[int] = []
        for index, (payment, settled) in enumerate(zip(request.payments, settlement.payments, strict=True)):
            if settled.tender.eft:
                # A decline raises here, before anything is written: the cart stays as it was.
                approval = await self._card.authorize(
                    payment,
                    amount=settled.amount,
                    sale_key=request.idempotency_key,
                    terminal_id=cart.terminal_id,
                    line=index,
                )
                references[index] = approval.reference
                card_lines += approval.receipt_lines
                if approval.payment_id is not None:
                    card_payment_ids.append(approval.payment_id)
        buyer = await self._buyer(request, priced, settlement)
        doc_type: DocType = "invoice" if buyer is not None else "receipt"
        sale_uuid = str(uuid.uuid4())
        async with self._db.transaction() as tx:
            if await sale_store.find_by_key(tx, request.idempotency_key) is not None:
                # Lost a race with the same request from another connection: answer as a replay.
                raise SalesError("checkout_in_progress", "this checkout was just completed; retry to read it")
            current, _ = await cart_store.load_cart(tx, cart_id)
            if current.state != "open" or current.updated_at != cart.updated_at:
                raise SalesError("cart_changed", "the cart changed while paying; review it and pay again")
            number = await next_number(
                tx,
                store_id=settings.store_id,
                terminal_id=cart.terminal_id,
                doc_type=doc_type,
                training=cart.training,
            )
            header = self._header(
                request,
                priced,
                settlement,
                settings,
                versioned.version,
                actor,
                buyer,
                doc_type,
                number,
                sale_uuid,
                digest,
            )
            payments = [
                PaymentView(
                    tender_id=p.tender.id,
                    tender_type=p.tender.tender_type,
                    amount=p.amount,
                    tendered=p.tendered,
                    change=p.change,
                    rounding=p.rounding,
                    reference=references.get(i) or p.reference or None,
                    comment=p.comment or None,
                )
                for i, p in enumerate(settlement.payments)
            ]
            sale_id = await sale_store.insert_document(
                tx, header, self._line_writes(priced), tax_views(priced.priced), payments
            )
            await attach_shift(tx, sale_id, cart.terminal_id, seller)
            await self._gift_cards(tx, settlement)
            if not cart.training:
                for line in lines:
                    await self._carts.catalog.adjust_stock(
                        tx, line.product_id, line.variant_id, -line.quantity
                    )
            await cart_store.touch(tx, cart_id, now_iso(), state="completed", sale_id=sale_id)
            sale = await sale_store.load_sale(tx, sale_id)
            if not cart.training:
                # Training sales stay out of reports, so they are not reported to the cloud either.
                await outbox.append(tx, "sale.completed", sale)
            await self._events.append(
                tx,
                "sale.completed",
                {
                    "id": sale_id,
                    "number": sale.number_text,
                    "total": sale.total,
                    "terminal_id": sale.terminal_id,
                    "change": sale.change_total,
                },
            )
            sale = await self.outputs(
                tx,
                sale,
                settings,
                settlement,
                actor,
                print_receipt=request.print_receipt,
                email=request.email,
                notes=[*await prompts.receipt_lines(cart_id), *card_lines],
            )
            for payment_id in card_payment_ids:
                await tx.execute(
                    "UPDATE card_payments SET sale_id = ?, updated_at = ? WHERE id = ?",
                    (sale_id, now_iso(), payment_id),
                )
        return sale, True

    async def _buyer(
        self, request: Checkout, priced: PricedCartResult, settlement: Settlement
    ) -> Buyer | None:
        invoice_tender = any(
            p.tender.printout_type == "invoice" or p.tender.tender_type == "invoice"
            for p in settlement.payments
        )
        if not request.b2b and not invoice_tender:
            return None
        if request.buyer is not None:
            return request.buyer
        customer_id = priced.cart.customer_id
        customer = await self._carts.catalog.customer(customer_id) if customer_id is not None else None
        if customer and customer.company_name and customer.tax_id and customer.address:
            return Buyer(company_name=customer.company_name, tax_id=customer.tax_id, address=customer.address)
        raise Invalid("buyer_required", "a B2B invoice needs the buyer's company name, tax id and address")

    def _header(
        self,
        request: Checkout,
        priced: PricedCartResult,
        settlement: Settlement,
        settings: StoreSettings,
        settings_version: int,
        actor: str,
        buyer: Buyer | None,
        doc_type: DocType,
        number: int,
        sale_uuid: str,
        digest: str,
    ) -> SaleHeader:
        cart, p = priced.cart, priced.priced
        return SaleHeader(
            uuid=sale_uuid,
            doc_type=doc_type,
            number=number,
            number_text=number_text(
                terminal_id=cart.terminal_id, doc_type=doc_type, number=number, training=cart.training
            ),
            store_id=settings.store_id,
            terminal_id=cart.terminal_id,
            training=cart.training,
            idempotency_key=request.idempotency_key,
            request_hash=digest,
            cart_id=cart.id,
            customer_id=cart.customer_id,
            buyer=buyer,
            seller=actor,
            refund_of=None,
            reason=None,
            approved_by=None,
            currency=settings.currency,
            subtotal=p.subtotal,
            discount_total=p.discount_total,
            tax_total=p.tax_total,
            total=p.total,
            rounding=settlement.rounding,
            paid_total=settlement.paid_total,
            change_total=settlement.change_total,
            balance_due=settlement.balance_due,
            settings_version=settings_version,
            created_at=now_iso(),
        )

    @staticmethod
    def _line_writes(priced: PricedCartResult) -> list[LineWrite]:
        writes = []
        for number, (line, pl) in enumerate(zip(priced.lines, priced.priced.lines, strict=True), start=1):
            writes.append(
                LineWrite(
                    line_no=number,
                    product_id=line.product_id,
                    variant_id=line.variant_id,
                    name=line.name,
                    quantity=format_quantity(line.quantity),
                    unit_price=line.unit_price,
                    gratis_quantity="1" if line.gratis else "0",
                    gross=pl.gross,
                    discount=pl.gross - pl.net,
                    net=pl.net,
                    total=pl.total,
                    snapshot=msgspec.json.encode(pl).decode(),
                    note=line.note,
                    refund_of_line=None,
                )
            )
        return writes

    async def _gift_cards(self, tx: Transaction, settlement: Settlement) -> None:
        for payment in settlement.payments:
            if payment.tender.tender_type != "giftcard":
                continue
            if not payment.reference:
                raise Invalid("reference_required", "a gift card payment needs the card number as reference")
            row = await tx.fetchone(
                "UPDATE gift_cards SET balance = balance - ?, updated_at = ? WHERE code = ? AND balance >= ? "
                "RETURNING balance",
                (payment.amount, now_iso(), payment.reference, payment.amount),
            )
            if row is None:
                raise SalesError(
                    "gift_card_insufficient", f"gift card {payment.reference} is unknown or lacks funds"
                )

    async def outputs(
        self,
        tx: Transaction,
        sale: SaleView,
        settings: StoreSettings,
        settlement: Settlement,
        actor: str,
        *,
        print_receipt: bool | None,
        email: str | None,
        refund_of_number: str | None = None,
        notes: Sequence[str] = (),
        refund_of: SaleView | None = None,
    ) -> SaleView:
        """Queue the receipt, the drawer kick and the email inside the sale's transaction.

        When the store fiscalises, the fiscal document is queued instead of the receipt: the
        fiscal printer prints it, and the receipt printer must never print it too.
        """
        fiscal = await self.fiscal.queue(tx, sale, refund_of=refund_of)
        tender_names = {t.id: t.name for t in (await self.tenders.all()).values()}
        document = receipt_document(
            sale, settings, tender_names=tender_names, refund_of_number=refund_of_number, notes=notes
        )
        print_job_id: int | None = None
        drawer_job_id: int | None = None
        email_job_id: int | None = None
        wants_print = (settings.auto_print if print_receipt is None else print_receipt) and fiscal is None
        printer = self._devices.receipt_printer(sale.terminal_id, settings.receipt_printer)
        if wants_print and printer in self._devices.printers:
            job, _ = await self._jobs.enqueue(
                tx,
                device_id=printer,
                kind="document",
                payload=msgspec.json.encode(document),
                rendered=render(document),
                idempotency_key=f"sale-{sale.uuid}-receipt",
                source=actor,
            )
            print_job_id = job.id
        drawer = settings.cash_drawer
        if settlement.open_drawer and drawer in self._devices.drawers:
            kick = DrawerRequest()
            job, _ = await self._jobs.enqueue(
                tx,
                device_id=drawer,
                kind="drawer",
                payload=msgspec.json.encode(kick),
                rendered=render_drawer(kick),
                idempotency_key=f"sale-{sale.uuid}-drawer",
                source=actor,
                audit_action="drawer.opened",
            )
            drawer_job_id = job.id
        if email:
            email_job_id = await self._queue_email(
                tx, sale, settings, document, email, f"sale-{sale.uuid}-email"
            )
        return msgspec.structs.replace(
            sale,
            print_job_id=print_job_id,
            drawer_job_id=drawer_job_id,
            email_job_id=email_job_id,
            fiscal=fiscal,
        )

    async def sale(self, sale_id: int) -> SaleView:
        return await sale_store.load_sale(self._db, sale_id)

    async def sale_by_number(self, number: str) -> SaleView:
        return await sale_store.load_sale(self._db, await sale_store.find_by_number(self._db, number))

    async def _queue_email(
        self,
        tx: Transaction,
        sale: SaleView,
        settings: StoreSettings,
        document: ReceiptDocument,
        to: str,
        key: str,
    ) -> int:
        if self._email is None:
            raise SalesError("email_not_configured", "this hub has no SMTP relay configured ([smtp] enabled)")
        attachment = None
        if sale.doc_type == "invoice":
            # A B2B buyer's accounting wants the A4 invoice itself, not only the text.
            names = {t.id: t.name for t in (await self.tenders.all()).values()}
            pdf = await asyncio.to_thread(_render_pdf, sale, settings, names)
            attachment = (f"{sale.number_text}.pdf", "application/pdf", pdf)
        return await self._email.enqueue(
            tx,
            to=to,
            subject=f"{settings.business_name or settings.store_name}: {sale.number_text}",
            text=document_as_text(document),
            idempotency_key=key,
            attachment=attachment,
        )

    async def email_receipt(self, sale_id: int, to: str, *, key: str, actor: str) -> int:
        """E-mail a completed document again (the receipt modal's "Email" button)."""
        sale = await self.sale(sale_id)
        settings = (await self._settings.get()).settings
        names = {t.id: t.name for t in (await self.tenders.all()).values()}
        document = receipt_document(sale, settings, tender_names=names)
        async with self._db.transaction() as tx:
            email_id = await self._queue_email(
                tx, sale, settings, document, to, f"sale-{sale.uuid}-email-{key}"
            )
            await audit.record(
                tx, actor=actor, action="sale.emailed", target=f"sale:{sale_id}", details={"to": to}
            )
        return email_id

    async def document_pdf(self, sale_id: int) -> tuple[str, bytes]:
        """(file name, A4 PDF) of a document: the B2B invoice, or any receipt for download."""
        sale = await self.sale(sale_id)
        settings = (await self._settings.get()).settings
        names = {t.id: t.name for t in (await self.tenders.all()).values()}
        # fpdf2 is pure Python and takes tens of milliseconds for a long invoice: off the loop.
        pdf = await asyncio.to_thread(_render_pdf, sale, settings, names)
        return f"{sale.number_text}.pdf", pdf

    async def print_signed(self, sale_id: int, result: FiscalResult, *, actor: str) -> int | None:
        """Print the receipt of a sale a signing service has signed, with what it must show.

        The signer's lines (TaxCore's journal, the TSE's transaction data, the RKSV markers) and
        its QR code go before the cut. The idempotency key is the one the receipt would have had,
        so signing retried after a crash never prints the receipt twice.
        """
        sale = await self.sale(sale_id)
        settings = (await self._settings.get()).settings
        printer = self._devices.receipt_printer(sale.terminal_id, settings.receipt_printer)
        if printer not in self._devices.printers or not settings.auto_print:
            return None
        tender_names = {t.id: t.name for t in (await self.tenders.all()).values()}
        document = receipt_document(sale, settings, tender_names=tender_names)
        fiscal: list[Block] = [Separator(), *(Text(text=line) for line in result.print_lines if line.strip())]
        if result.qr_data:
            fiscal.append(QRCode(data=result.qr_data[:700]))
        blocks = list(document.blocks)
        cut_at = max((i for i, block in enumerate(blocks) if isinstance(block, Cut)), default=len(blocks))
        document = msgspec.structs.replace(document, blocks=[*blocks[:cut_at], *fiscal, *blocks[cut_at:]])
        async with self._db.transaction() as tx:
            job, _ = await self._jobs.enqueue(
                tx, device_id=printer, kind="document", payload=msgspec.json.encode(document),
                rendered=render(document), idempotency_key=f"sale-{sale.uuid}-receipt", source=actor,
            )  # fmt: skip
        return job.id

    async def reprint(self, sale_id: int, *, actor: str) -> int:
        """Queue the receipt again, marked COPY; returns the print job id."""
        sale = await self.sale(sale_id)
        settings = (await self._settings.get()).settings
        printer = self._devices.receipt_printer(sale.terminal_id, settings.receipt_printer)
        if printer not in self._devices.printers:
            raise SalesError("no_printer", f"receipt printer {printer!r} is not configured")
        tender_names = {t.id: t.name for t in (await self.tenders.all()).values()}
        document = receipt_document(sale, settings, tender_names=tender_names)
        async with self._db.transaction() as tx:
            job, _ = await self._jobs.enqueue(
                tx,
                device_id=printer,
                kind="document",
                payload=msgspec.json.encode(document),
                rendered=render(document, copy=True),
                idempotency_key=None,
                source=actor,
                audit_action="sale.reprinted",
            )
        return job.id


def _render_pdf(sale: SaleView, settings: StoreSettings, tender_names: dict[str, str]) -> bytes:
    # Imported on first use: fpdf2 (with Pillow and fontTools) adds some 18 MB to the hub's
    # memory, and most hubs print an A4 invoice rarely or never.
    from hub.domain.sales.invoice_pdf import render_invoice_pdf

    return render_invoice_pdf(sale, settings, tender_names=tender_names)


def render_drawer(kick: DrawerRequest) -> bytes:
    return render_payload("drawer", msgspec.json.encode(kick))
