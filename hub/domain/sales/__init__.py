"""The sales context: carts, tenders, checkout with gap-free numbering, receipts and refunds.

:class:`SalesModule` wires its services together for the hub; the API reaches them through
``services.sales``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.db.database import Database
from hub.domain.events import EventLog
from hub.domain.fiscal.service import Fiscalisation
from hub.domain.print_jobs import PrintJobs
from hub.domain.sales.card_terminal import CardTerminal, ConfirmedByCashier
from hub.domain.sales.carts import CartService
from hub.domain.sales.checkout import Devices, EmailPort, SalesService
from hub.domain.sales.gift_cards import GiftCards
from hub.domain.sales.ports import CatalogPort, InfocodePort
from hub.domain.sales.refunds import RefundService
from hub.domain.sales.tender_store import TenderStore
from hub.domain.store_settings import StoreSettingsService


@dataclass
class SalesModule:
    settings: StoreSettingsService
    carts: CartService
    checkout: SalesService
    refunds: RefundService
    gift_cards: GiftCards


def build_sales(
    db: Database,
    events: EventLog,
    jobs: PrintJobs,
    settings: StoreSettingsService,
    catalog: CatalogPort,
    devices: Devices,
    email: EmailPort | None,
    infocodes: InfocodePort | None = None,
    fiscal: Fiscalisation | None = None,
    card: CardTerminal | None = None,
) -> SalesModule:
    carts = CartService(db, events, catalog, settings, infocodes)
    checkout = SalesService(
        db,
        events,
        jobs,
        carts,
        TenderStore(db),
        settings,
        card or ConfirmedByCashier(),
        devices,
        email=email,
        fiscal=fiscal,
    )
    return SalesModule(
        settings=settings,
        carts=carts,
        checkout=checkout,
        refunds=RefundService(checkout),
        gift_cards=GiftCards(db),
    )
