"""The payment-terminal seam for card tenders (``eft``).

:class:`hub.domain.payments.service.CardPaymentsService` takes the payment on the card terminal
adopted for the POS terminal. Where a POS terminal has none, :class:`ConfirmedByCashier` is the
help center's "one-click card confirmation": the cashier ran the card on a stand-alone terminal
and confirms it on the tablet; a card payment without that confirmation is refused and nothing
is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hub.domain.sales.errors import Invalid
from hub.domain.sales.tenders import PaymentRequest


@dataclass(frozen=True, slots=True)
class CardApproval:
    """An approved card payment: its reference, the terminal's receipt lines (printed on our
    receipt) and the ``card_payments`` row it came from, if a terminal took it."""

    reference: str
    receipt_lines: tuple[str, ...] = ()
    payment_id: int | None = None


class CardTerminal(Protocol):
    async def authorize(
        self, payment: PaymentRequest, *, amount: int, sale_key: str, terminal_id: str = "", line: int = 0
    ) -> CardApproval: ...

    async def refund(self, *, amount: int, sale_key: str, terminal_id: str) -> CardApproval:
        """Pay ``amount`` back to the customer's card (before the refund is written)."""
        ...


class ConfirmedByCashier:
    """Card payments confirmed by the cashier with one click."""

    async def authorize(
        self, payment: PaymentRequest, *, amount: int, sale_key: str, terminal_id: str = "", line: int = 0
    ) -> CardApproval:
        if not payment.card_confirmed:
            raise Invalid(
                "card_not_confirmed", "confirm that the card payment went through (card_confirmed: true)"
            )
        return CardApproval(reference=payment.reference or f"manual:{sale_key}")

    async def refund(self, *, amount: int, sale_key: str, terminal_id: str) -> CardApproval:
        # Without a card terminal the cashier refunds on the stand-alone one, as for payments.
        return CardApproval(reference=f"manual:{sale_key}")
