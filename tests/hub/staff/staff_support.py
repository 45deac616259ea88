"""A store with staff: employees created through the API and helpers to act as one of them."""

from __future__ import annotations

from typing import Any

from tests.support.procs import HubProcess

EMPLOYEES: list[dict[str, Any]] = [
    {"cashier_num": 1, "name": "Amra Vlasnik", "role": "owner", "pin": "1111"},
    {"cashier_num": 2, "name": "Edin Kasir", "role": "cashier", "pin": "2222", "cardnumber": "CARD-0002"},
    {"cashier_num": 3, "name": "Lejla Menadžer", "role": "manager", "pin": "3333"},
    {"cashier_num": 4, "name": "Mirza Kasir", "role": "cashier", "pin": "4444"},
]


def without_shift_clock(hub: HubProcess) -> None:
    """Never late, never early: keeps tests that open shifts independent of the time of day
    (late and early arrival have their own tests on a controlled clock)."""
    settings = hub.api("GET", "/api/v1/settings")[1]["settings"]
    quiet = {**settings, "late_threshold_min": 1440, "early_threshold_min": 1440}
    status, body = hub.api("PUT", "/api/v1/settings", quiet, token=hub.admin_token)
    assert status == 200, body


def hire(hub: HubProcess) -> dict[int, int]:
    """Create the employees; returns their ids by cashier number."""
    ids: dict[int, int] = {}
    for employee in EMPLOYEES:
        status, body = hub.api("POST", "/api/v1/employees", employee, token=hub.admin_token)
        assert status == 201, body
        ids[int(employee["cashier_num"])] = int(body["id"])
    return ids


def login(hub: HubProcess, cashier_num: int, pin: str, terminal: str = "T1", **extra: Any) -> tuple[int, Any]:
    body = {"terminal_id": terminal, "cashier_num": cashier_num, "pin": pin, **extra}
    return hub.api("POST", "/api/v1/staff/login", body)


class Staff:
    """An employee logged in on a terminal of ``hub``, through the hub's paired tablet."""

    def __init__(
        self, hub: HubProcess, cashier_num: int, pin: str, terminal: str = "T1", **extra: Any
    ) -> None:
        status, session = login(hub, cashier_num, pin, terminal, **extra)
        assert status == 201, session
        self.hub = hub
        self.session = session
        self.token = session["token"]
        self.terminal = terminal

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.hub.api(method, path, body, headers={"X-Staff-Session": self.token})

    def open_shift(self, opening_cash: int = 10000, **extra: Any) -> dict[str, Any]:
        status, shift = self.api(
            "POST", "/api/v1/shifts", {"terminal_id": self.terminal, "opening_cash": opening_cash, **extra}
        )
        assert status == 201, shift
        return dict(shift)

    def sell(
        self, product_id: int, paid: int, key: str, quantity: str = "1", tender: str = "cash"
    ) -> dict[str, Any]:
        status, cart = self.api("POST", "/api/v1/carts", {"terminal_id": self.terminal})
        assert status == 201, cart
        assert (
            self.api(
                "POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": product_id, "quantity": quantity}
            )[0]
            == 201
        )
        payment: dict[str, Any] = {"tender_id": tender, "amount": paid}
        if tender == "card":
            payment["card_confirmed"] = True
        status, sale = self.api(
            "POST",
            f"/api/v1/carts/{cart['id']}/checkout",
            {"idempotency_key": key, "payments": [payment], "print_receipt": False},
        )
        assert status == 201, sale
        return dict(sale)


def error(result: tuple[int, Any]) -> tuple[int, str]:
    return result[0], result[1]["error"]["code"]
