"""Who may do what. A seam until the staff issue brings cashiers, roles and PINs.

Today there are two kinds of caller: the hub's local admin credential (a technician or
manager on the box: every permission) and paired tablets (the cashier's permissions). The
staff issue replaces :func:`permissions_for` with the logged-in employee's role.
"""

from __future__ import annotations

from hub.domain.auth import Principal

CASHIER = frozenset({"sell", "discount", "price_override", "refund_with_receipt", "void_cart", "hold_cart"})
MANAGER = CASHIER | frozenset({"refund_without_receipt", "settings", "catalog", "tenders"})


def permissions_for(principal: Principal | None) -> frozenset[str]:
    if principal is None:
        return frozenset()
    return MANAGER if principal.role == "admin" else CASHIER
