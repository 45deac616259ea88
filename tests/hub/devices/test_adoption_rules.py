"""Adoption rules: roles fit kinds, ids are readable and unique, errors name the field."""

from __future__ import annotations

import pytest

from hub.devices.adoption import AdoptRequest, FoundLike, adoption_config, suggest_id
from hub.devices.roles import RoleError, by_terminal, check_role
from hub.domain.errors import Conflict, Invalid


def found(**overrides: object) -> FoundLike:
    values: dict[str, object] = {
        "id": "serial:/dev/serial/by-id/usb-Epson_TM-T20_X1-if00",
        "url": "serial:///dev/serial/by-id/usb-Epson_TM-T20_X1-if00",
        "name": "usb-Epson_TM-T20_X1-if00",
        "kind": "printer",
        "driver": "escpos",
        "adopted_as": None,
    }
    values.update(overrides)
    return FoundLike(**values)  # type: ignore[arg-type]


def test_role_must_fit_the_kind_and_name_its_place() -> None:
    check_role("printer", "receipt_printer", "t1", "")
    check_role("printer", "kitchen_printer", "", "grill")
    check_role("line_display", "customer_display", "t1", "")
    check_role("scanner", "", "", "")
    with pytest.raises(RoleError) as wrong_kind:
        check_role("scanner", "receipt_printer", "t1", "")
    assert wrong_kind.value.field == "role"
    with pytest.raises(RoleError) as no_terminal:
        check_role("line_display", "customer_display", "", "")
    assert no_terminal.value.field == "terminal"
    with pytest.raises(RoleError) as no_station:
        check_role("printer", "kitchen_printer", "t1", "")
    assert no_station.value.field == "station"
    with pytest.raises(RoleError):
        check_role("printer", "", "t1", "")


def test_suggested_ids_are_readable_and_never_taken() -> None:
    assert suggest_id("receipt_printer", "T1", set(), "printer") == "receipt-printer-t1"
    assert suggest_id("receipt_printer", "T1", {"receipt-printer-t1"}, "printer") == "receipt-printer-t1-2"
    assert suggest_id("", "", set(), "line-display") == "line-display"


def test_adoption_takes_kind_driver_url_and_name_from_discovery() -> None:
    config = adoption_config(
        AdoptRequest(found_id="x", role="receipt_printer", terminal="t1"), found(), set()
    )
    assert (config.id, config.kind, config.driver, config.role, config.terminal) == (
        "receipt-printer-t1",
        "printer",
        "escpos",
        "receipt_printer",
        "t1",
    )
    assert config.url == "serial:///dev/serial/by-id/usb-Epson_TM-T20_X1-if00"


def test_adoption_refuses_what_it_cannot_drive_or_already_owns() -> None:
    with pytest.raises(Invalid) as unsupported:
        adoption_config(AdoptRequest(found_id="x"), found(kind=None, driver=None), set())
    assert unsupported.value.code == "unsupported_device"
    with pytest.raises(Conflict) as twice:
        adoption_config(AdoptRequest(found_id="x"), found(adopted_as="receipt"), set())
    assert twice.value.code == "already_adopted"
    with pytest.raises(Conflict) as taken:
        adoption_config(AdoptRequest(found_id="x", id="receipt"), found(), {"receipt"})
    assert taken.value.code == "device_exists"
    with pytest.raises(Invalid) as nothing:
        adoption_config(AdoptRequest(), None, set())
    assert nothing.value.code == "missing_device"


def test_forced_kind_drops_the_claimed_driver() -> None:
    config = adoption_config(
        AdoptRequest(
            found_id="x", kind="line_display", driver="cd5220", role="customer_display", terminal="t1"
        ),
        found(),
        set(),
    )
    assert (config.kind, config.driver) == ("line_display", "cd5220")


def test_terminal_routing_takes_the_first_receipt_printer_per_terminal() -> None:
    class D:
        def __init__(self, id: str, role: str, terminal: str) -> None:
            self.id, self.role, self.terminal = id, role, terminal

    devices = [
        D("a", "receipt_printer", "t1"),
        D("b", "receipt_printer", "t1"),
        D("c", "kitchen_printer", ""),
    ]
    assert by_terminal(devices, "receipt_printer") == {"t1": "a"}
