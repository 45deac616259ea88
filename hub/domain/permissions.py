"""Who may do what: the permission catalogue, each role's defaults, and the editable matrix.

A permission names a module or a POS action ("refund_without_receipt", "z_report"). Each role
holds a set of them; admins edit the matrix through the API and the hub stores it in
``role_permissions``. Every API action asks for one permission and a refusal names it.

Callers: the hub's local admin credential (a technician on the box) holds every permission. A
paired tablet acts through the employee logged in on it (a staff session). Until the first
employee exists the store is in setup: tablets act with the cashier's defaults, so a new hub can
sell before anyone has been set up.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["owner", "admin", "manager", "employee", "cashier", "waiter"]
ROLES: tuple[Role, ...] = ("owner", "admin", "manager", "employee", "cashier", "waiter")

# module or action -> what it allows (the matrix's rows, in the order the back office shows)
PERMISSIONS: dict[str, str] = {
    "sell": "Ring up carts and take payment",
    "discount": "Manual discounts within the store's limits",
    "price_override": "Change a line's price",
    "hold_cart": "Hold and recall orders",
    "void_cart": "Void an open cart",
    "refund_with_receipt": "Refund items of a receipt",
    "refund_without_receipt": "Refund without a receipt (manager approval)",
    "open_drawer": "Open the cash drawer without a sale",
    "cash_in_out": "Cash in and cash out",
    "commission_sale": "Record commission (consignment) sales",
    "postal": "Receive courier packages and their COD cash",
    "shift": "Open and close own shifts",
    "handover_receive": "Receive a cash handover (confirms with PIN)",
    "x_report": "Print the X report",
    "z_report": "Close the day with the Z report",
    "reports": "Quick reports and sales figures",
    "catalog": "Products, categories, units, taxes and customers",
    "tenders": "Payment methods and gift cards",
    "settings": "Store settings, checklists and targets",
    "staff": "Employees, roles and the permission matrix",
    "audit": "Read and export the audit log",
}

CASHIER = frozenset(
    {"sell", "discount", "price_override", "refund_with_receipt", "void_cart", "hold_cart", "shift"}
)
MANAGER = CASHIER | frozenset(
    {
        "refund_without_receipt",
        "open_drawer",
        "cash_in_out",
        "commission_sale",
        "postal",
        "handover_receive",
        "x_report",
        "z_report",
        "reports",
        "catalog",
        "tenders",
        "settings",
    }
)
EVERYTHING = frozenset(PERMISSIONS)

ROLE_DEFAULTS: dict[Role, frozenset[str]] = {
    "owner": EVERYTHING,
    "admin": EVERYTHING,
    "manager": MANAGER,
    "employee": CASHIER | frozenset({"cash_in_out", "postal", "commission_sale", "x_report"}),
    # The help center's shift screen has cash in/out, courier COD and commission sales for
    # whoever runs the till.
    "cashier": CASHIER | frozenset({"cash_in_out", "postal", "commission_sale"}),
    "waiter": frozenset({"sell", "hold_cart", "shift"}),
}

# Seed 001's ``manager`` flag on a cashier: manager privileges whatever the role.
MANAGER_FLAG = frozenset({"refund_without_receipt", "void_cart", "open_drawer", "handover_receive"})
