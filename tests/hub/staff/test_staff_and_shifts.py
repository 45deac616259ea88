"""Staff, login and shifts through the API of a running hub with the printer simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.staff.staff_support import Staff, error, hire, login
from tests.support.procs import HubProcess, PrinterSim, printer_device

Store = tuple[HubProcess, dict[str, int], dict[int, int]]


@pytest.fixture
def store(tmp_path: Path, sim: PrinterSim) -> Iterator[Store]:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)]).start()
    try:
        products = seed_catalog(hub)
        # Work hours around the clock so late/early detection stays out of these tests
        # (it has its own time-travel tests).
        _, current = hub.api("GET", "/api/v1/settings")
        settings = {**current["settings"], "work_start": "00:00", "work_end": "00:00", "late_threshold_min": 1440, "early_threshold_min": 1440,
                    "opening_cash_mode": "fixed", "fixed_opening_cash": 10000}  # fmt: skip
        assert hub.api("PUT", "/api/v1/settings", settings, token=hub.admin_token)[0] == 200
        yield hub, products, hire(hub)
    finally:
        hub.stop()


def test_pin_guessing_locks_out_and_every_failure_counts(store: Store) -> None:
    hub, _, employees = store
    for _ in range(5):
        assert error(login(hub, 2, "9999")) == (401, "wrong_pin")
    # Locked now, even with the right PIN, for that employee and on that terminal.
    locked = login(hub, 2, "2222")
    assert error(locked) == (429, "locked_out") and locked[1]["error"]["details"]["until"]
    assert error(login(hub, 4, "4444", terminal="T1")) == (429, "locked_out")
    assert login(hub, 4, "4444", terminal="T2")[0] == 201  # another employee elsewhere is fine
    status, audit = hub.api("GET", "/api/v1/audit?action=login.pin_failed", token=hub.admin_token)
    assert status == 200 and len(audit["entries"]) == 5
    assert {e["target"] for e in audit["entries"]} == {f"employee:{employees[2]}"}
    status, logins = hub.api("GET", "/api/v1/audit?action=login", token=hub.admin_token)
    assert [e["actor"] for e in logins["entries"]] == ["employee:4:Mirza Kasir"]


def test_once_staff_exist_every_action_needs_a_login_and_the_matrix(store: Store) -> None:
    hub, ids, _ = store
    assert error(hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})) == (401, "staff_login_required")
    drawer = hub.api("POST", "/api/v1/devices/receipt/drawer", {})
    assert error(drawer) == (401, "staff_login_required")  # no drawer without an employee
    edin = Staff(hub, 2, "2222")
    assert "sell" in edin.session["permissions"] and "reports" not in edin.session["permissions"]
    denied = edin.api("GET", "/api/v1/reports/quick")
    assert error(denied) == (403, "permission_denied") and denied[1]["error"]["details"] == {
        "permission": "reports"
    }
    # An admin grants cashiers the quick reports; the running session sees it at once.
    matrix = hub.api("GET", "/api/v1/permissions")[1]
    cashier = [*matrix["roles"]["cashier"], "reports"]
    assert (
        hub.api("PUT", "/api/v1/permissions/cashier", {"permissions": cashier}, token=hub.admin_token)[0]
        == 200
    )
    assert edin.api("GET", "/api/v1/reports/quick")[0] == 200
    # Selling needs an open shift on the terminal.
    _, cart = edin.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    edin.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids["SOK1"]})
    paid = edin.api(
        "POST",
        f"/api/v1/carts/{cart['id']}/checkout",
        {"idempotency_key": "k", "payments": [{"tender_id": "cash", "amount": 250}]},
    )
    assert error(paid) == (409, "no_open_shift")
    # A session is bound to the tablet that opened it.
    other = hub.api("GET", "/api/v1/staff/me", token=hub.admin_token, headers={"X-Staff-Session": edin.token})
    assert error(other) == (401, "staff_session_invalid")


def test_card_login_and_preview_mode(store: Store) -> None:
    hub, ids, _ = store
    status, session = hub.api("POST", "/api/v1/staff/login", {"terminal_id": "T1", "cardnumber": "CARD-0002"})
    assert status == 201 and session["employee"]["name"] == "Edin Kasir"
    assert error(
        hub.api("POST", "/api/v1/staff/login", {"terminal_id": "T1", "cardnumber": "CARD-9999"})
    ) == (401, "unknown_card")
    assert error(login(hub, 2, "2222", preview=True)) == (403, "preview_not_allowed")
    owner = Staff(hub, 1, "1111", preview=True)
    assert owner.session["permissions"] == []
    assert owner.api("GET", f"/api/v1/products/{ids['SOK1']}")[0] == 200  # browse everything
    assert error(owner.api("POST", "/api/v1/carts", {"terminal_id": "T1"})) == (
        403,
        "permission_denied",
    )  # sell nothing


def test_a_shift_from_opening_to_the_printed_report(store: Store, sim: PrinterSim) -> None:
    hub, ids, employees = store
    edin = Staff(hub, 2, "2222")
    off_standard = edin.api("POST", "/api/v1/shifts", {"terminal_id": "T1", "opening_cash": 9000})
    assert error(off_standard) == (422, "opening_reason_required")
    shift = edin.open_shift(9000, opening_reason="short of coins")
    # The terminal is taken: another cashier cannot start there.
    mirza = Staff(hub, 4, "4444")
    occupied = mirza.api("POST", "/api/v1/shifts", {"terminal_id": "T1", "opening_cash": 10000})
    assert occupied[0] == 409 and occupied[1]["error"]["message"] == "This terminal is occupied by Edin Kasir"
    assert mirza.session["occupied_by"] == "Edin Kasir"
    sale = edin.sell(ids["CEV10"], 2000, "s1")  # 11.70 in cash, 8.30 change
    edin.sell(ids["SOK1"], 250, "s2", tender="card")
    assert (
        edin.api("POST", "/api/v1/cash/movements", {"kind": "cash_in", "amount": 500, "reason": "coins"})[0]
        == 201
    )
    assert (
        edin.api("POST", "/api/v1/cash/movements", {"kind": "cash_out", "amount": 200, "reason": "milk"})[0]
        == 201
    )
    assert (
        edin.api("POST", "/api/v1/cash/postal", {"packages": 2, "cod_amount": 1500, "courier": "BH Pošta"})[0]
        == 201
    )
    # A handover with a wrong receiver PIN moves nothing.
    wrong = edin.api(
        "POST",
        "/api/v1/cash/handovers",
        {"amount": 1000, "receiver_id": employees[3], "receiver_pin": "0000"},
    )
    assert error(wrong) == (401, "wrong_pin")
    to_cashier = edin.api(
        "POST",
        "/api/v1/cash/handovers",
        {"amount": 1000, "receiver_id": employees[4], "receiver_pin": "4444"},
    )
    assert error(to_cashier) == (403, "receiver_not_allowed")
    status, after = edin.api(
        "POST",
        "/api/v1/cash/handovers",
        {"amount": 1000, "receiver_id": employees[3], "receiver_pin": "3333"},
    )
    assert status == 201, after
    expected = 9000 + 1170 + 500 - 200 + 1500 - 1000
    assert after["figures"]["expected_cash"] == expected
    # A refund in cash comes out of the drawer too.
    line = sale["lines"][0]["id"]
    refund = {
        "idempotency_key": "r1",
        "terminal_id": "T1",
        "reason": "hladno",
        "lines": [{"sale_line_id": line, "quantity": "1"}],
    }
    assert edin.api("POST", f"/api/v1/sales/{sale['id']}/refunds", refund)[0] == 201
    expected -= 1170
    status, closed = edin.api(
        "POST", f"/api/v1/shifts/{shift['id']}/close", {"counted": {"cash": expected - 50, "card": 250}}
    )
    assert status == 200, closed
    figures = {t["tender_type"]: t for t in closed["figures"]["tenders"]}
    assert figures["cash"] == {
        "tender_type": "cash",
        "expected": expected,
        "counted": expected - 50,
        "difference": -50,
    }
    assert figures["card"]["difference"] == 0
    actions = [
        e["action"] for e in hub.api("GET", "/api/v1/audit?limit=1000", token=hub.admin_token)[1]["entries"]
    ]
    for action in (
        "shift.opened",
        "cash.cash_in",
        "cash.cash_out",
        "handover.pin_failed",
        "cash.handover",
        "shift.closed",
    ):
        assert action in actions, action
    assert closed["figures"]["refunds"] == 1 and closed["figures"]["postal_cod"] == 1500
    hub.wait_job(closed["report_job_id"])
    paper = sim.paper()
    assert "IZVJEŠTAJ SMJENE" in paper and "Edin Kasir" in paper and "short of" not in paper
    assert f"{expected / 100:.2f}" in paper
    # The terminal is free again.
    assert mirza.open_shift(10000)["employee_name"] == "Mirza Kasir"


def test_checklist_blocks_closing(store: Store) -> None:
    hub, _, _ = store
    assert (
        hub.api(
            "POST", "/api/v1/checklist/tasks", {"name": "Očistiti aparat za kafu"}, token=hub.admin_token
        )[0]
        == 201
    )
    assert (
        hub.api(
            "POST",
            "/api/v1/checklist/tasks",
            {"name": "Dopuniti salvete", "mandatory": False},
            token=hub.admin_token,
        )[0]
        == 201
    )
    edin = Staff(hub, 2, "2222")
    shift = edin.open_shift()
    blocked = edin.api("POST", f"/api/v1/shifts/{shift['id']}/close", {"counted": {"cash": 10000}})
    assert error(blocked) == (409, "checklist_incomplete")
    assert blocked[1]["error"]["details"]["tasks"] == ["Očistiti aparat za kafu"]
    items = edin.api("GET", "/api/v1/checklist?terminal_id=T1")[1]["items"]
    status, _ = edin.api("POST", f"/api/v1/checklist/tasks/{items[0]['id']}/done")
    assert status == 200
    assert (
        edin.api(
            "POST", f"/api/v1/shifts/{shift['id']}/close", {"counted": {"cash": 10000}, "print_report": False}
        )[0]
        == 200
    )


def test_x_and_z_reports(store: Store, sim: PrinterSim) -> None:
    hub, ids, _ = store
    lejla = Staff(hub, 3, "3333")
    shift = lejla.open_shift()
    lejla.sell(ids["CEV10"], 1170, "a")
    lejla.sell(ids["SOK1"], 500, "b", quantity="2")
    status, x = lejla.api("POST", "/api/v1/reports/x")
    assert status == 201 and x["totals"]["net_total"] == 1670 and x["totals"]["receipts"] == 2
    assert lejla.api("POST", "/api/v1/reports/x")[1]["totals"]["net_total"] == 1670  # X resets nothing
    assert error(lejla.api("POST", "/api/v1/reports/z")) == (409, "shifts_open")
    lejla.api(
        "POST", f"/api/v1/shifts/{shift['id']}/close", {"counted": {"cash": 11670}, "print_report": False}
    )
    status, z1 = lejla.api("POST", "/api/v1/reports/z")
    assert status == 201 and z1["number"] == 1 and z1["grand_total"] == 1670
    assert [(t["rate"], t["amount"]) for t in z1["totals"]["taxes"]] == [("17", 243)]
    status, z2 = lejla.api("POST", "/api/v1/reports/z")
    assert (
        status == 201 and z2["number"] == 2 and z2["totals"]["net_total"] == 0 and z2["grand_total"] == 1670
    )
    hub.wait_job(z2["print_job_id"])
    paper = sim.paper()
    assert "X REPORT" in paper and "Z REPORT 1" in paper and "Z REPORT 2" in paper
    edin = Staff(hub, 2, "2222")
    assert error(edin.api("POST", "/api/v1/reports/z")) == (403, "permission_denied")
    numbers = [z["number"] for z in lejla.api("GET", "/api/v1/reports/z")[1]["reports"]]
    assert numbers == [2, 1]


def test_terminals_and_heartbeats(store: Store) -> None:
    hub, _, _ = store
    assert hub.api("PUT", "/api/v1/terminals/T1", {"name": "Kasa 1"}, token=hub.admin_token)[0] == 200
    status, beat = hub.api("POST", "/api/v1/terminals/T1/heartbeat")
    assert status == 200 and beat["online"] and beat["name"] == "Kasa 1"
    Staff(hub, 2, "2222").open_shift()
    terminals = {t["id"]: t for t in hub.api("GET", "/api/v1/terminals")[1]["terminals"]}
    assert terminals["T1"]["occupied_by"] == "Edin Kasir"


def test_auto_lock_after_each_order(store: Store) -> None:
    hub, ids, _ = store
    current = hub.api("GET", "/api/v1/settings")[1]["settings"]
    assert (
        hub.api("PUT", "/api/v1/settings", {**current, "auto_lock_after_order": True}, token=hub.admin_token)[
            0
        ]
        == 200
    )
    waiter = Staff(hub, 2, "2222")
    waiter.open_shift()
    waiter.sell(ids["SOK1"], 250, "locked-1")
    # The order is done: the tablet is locked until the next PIN or card.
    assert error(waiter.api("POST", "/api/v1/carts", {"terminal_id": "T1"})) == (401, "staff_session_invalid")
    again = Staff(hub, 2, "2222")
    assert again.sell(ids["SOK1"], 250, "locked-2")["number_text"] == "T1-R-000002"


def test_quick_report_for_the_pos(store: Store) -> None:
    hub, ids, _ = store
    lejla = Staff(hub, 3, "3333")
    lejla.open_shift(10000)
    lejla.sell(ids["CEV10"], 2340, "q1", quantity="2")
    lejla.sell(ids["SOK1"], 750, "q2", quantity="3", tender="card")
    lejla.sell(ids["SOK1"], 250, "q3")
    status, report = lejla.api("GET", "/api/v1/reports/quick?period=today&terminal_id=T1")
    assert status == 200, report
    assert (report["sales_count"], report["total"], report["average_sale"]) == (3, 3340, 1113)
    assert (report["cash"], report["card"], report["items_sold"]) == (2590, 750, "6")
    assert [(p["name"], p["quantity"], p["total"]) for p in report["top_products"]] == [
        ("Ćevapi 10 kom", "2", 2340),
        ("Sok od šljive", "4", 1000),
    ]
    assert (report["opening_cash"], report["expected_cash"]) == (10000, 12590)
    week = lejla.api("GET", "/api/v1/reports/quick?period=week")[1]
    month = lejla.api("GET", "/api/v1/reports/quick?period=month")[1]
    assert week["total"] == month["total"] == 3340 and week["opening_cash"] is None
