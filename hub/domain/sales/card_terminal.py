"""The payment-terminal seam for card tenders (``eft``).

Real terminal drivers (ZVT and others) come with their own issue and implement
:class:`CardTerminal`. Until then :class:`ConfirmedByCashier` is the help center's "one-click
card confirmation": the cashier ran the card on a stand-alone terminal and confirms it on the
tablet; a card payment without that confirmation is refused and nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hub.domain.sales.errors import Invalid
from hub.domain.sales.tenders import PaymentRequest


@dataclass(frozen=True, slots=True)
class CardApproval:
    reference: str


class CardTerminal(Protocol):
    async def authorize(self, payment: PaymentRequest, *, amount: int, sale_key: str) -> CardApproval: ...


class ConfirmedByCashier:
    """Card payments confirmed by the cashier with one click."""

    async def authorize(self, payment: PaymentRequest, *, amount: int, sale_key: str) -> CardApproval:
        if not payment.card_confirmed:
            raise Invalid(
                "card_not_confirmed", "confirm that the card payment went through (card_confirmed: true)"
            )
        return CardApproval(reference=payment.reference or f"manual:{sale_key}")
