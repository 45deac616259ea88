"""``smartpos-sim fiscal --protocol datecs-x`` as a real process on a pseudo-terminal.

The host side is ``protocols.fiscal.datecs_x`` and the command builders the hub's driver uses
(``datecs_x_commands``), so these tests also pin that the simulator answers what the driver
parses: slip numbers, D/R payment answers, transaction status, reports.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.fiscal import datecs_x as dx
from protocols.fiscal import datecs_x_commands as xc
from tests.firmware_sim.fiscalhost import Wire, XHost, control_json, set_fault, start_fiscal
from tests.firmware_sim.ttysim import TtySim

USN = "DT123456-0001-0000001"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[TtySim]:
    process = start_fiscal(tmp_path, "datecs-x")
    yield process
    process.stop()


@pytest.fixture
def host(sim: TtySim) -> XHost:
    return XHost(Wire.serial(sim.open(115200)))


def flags(reply: dx.Reply) -> frozenset[str]:
    return dx.status_flags(reply.status)


def sell(host: XHost, *lines: tuple[str, str, int, str]) -> int:
    """Open a receipt and register ``lines``; returns the slip number."""
    number = xc.slip_number(host.send(xc.open_receipt("1", "0000", 1, USN)))
    for name, group, price, quantity in lines:
        reply = host.send(xc.sale(name, group, price, quantity))
        assert reply.error_code == 0 and xc.slip_number(reply) == number
    return number


def test_listening_line_and_device_info(sim: TtySim, host: XHost) -> None:
    assert sim.listening == {
        "event": "listening",
        "protocol": "datecs-x",
        "tty": str(sim.link),
        "port": None,
        "control_port": sim.control_port,
    }
    info = xc.parse_device_info(host.send(xc.device_info()))
    assert (info.name, info.serial_number, info.fm_number) == ("FP-700X", "DT123456", "02123456")


def test_full_receipt(sim: TtySim, host: XHost) -> None:
    number = sell(host, ("Milk", "B", 250, "2"), ("Bread", "A", 199, "1.5"))
    assert number == 1
    subtotal = host.send(xc.subtotal()).fields()
    assert subtotal[:4] == ["0", "1", "7.99", "2.99"]  # 1.99 x 1.5 = 2.985, rounded half up
    assert xc.parse_payment(host.send(xc.payment("card", 500))) == xc.PaymentAnswer("D", 299)
    assert xc.parse_payment(host.send(xc.payment("cash", 1000))) == xc.PaymentAnswer("R", 701)
    assert host.send(xc.comment("Thank you")).error_code == 0
    status = xc.parse_transaction_status(host.send(xc.transaction_status()))
    assert status == xc.TransactionStatus(is_open=True, number=1, items=2, amount=799, paid=1500)
    close = host.send(xc.close_receipt())
    assert close.error_code == 0 and xc.slip_number(close) == 1
    assert "fiscal_receipt_open" not in flags(close)
    assert not xc.parse_transaction_status(host.send(xc.transaction_status())).is_open
    [receipt] = control_json(sim, "receipts")
    assert receipt["number"] == 1 and receipt["kind"] == "sale" and not receipt["cancelled"]
    assert receipt["unique_sale_number"] == USN
    assert [(i["name"], i["tax_group"], i["total"]) for i in receipt["items"]] == [
        ("Milk", "B", 500),
        ("Bread", "A", 299),
    ]
    assert receipt["payments"] == [{"kind": "credit_card", "amount": 500}, {"kind": "cash", "amount": 1000}]
    assert (receipt["total"], receipt["change"], receipt["comments"]) == (799, 701, ["Thank you"])
    assert control_json(sim, "state")["cash"]["sum"] == 1000 - 701


def test_same_seq_twice_executes_once_and_repeats_the_reply(sim: TtySim, host: XHost) -> None:
    frame = host.frame(xc.open_receipt("1", "0000", 1))
    first = host.wire.exchange(frame, dx.HostParser(), lambda i: isinstance(i, dx.Reply))
    again = host.wire.exchange(frame, dx.HostParser(), lambda i: isinstance(i, dx.Reply))
    assert first == again and first[-1].error_code == 0  # equal frames: same bytes, same status
    counters = control_json(sim, "status")["counters"]
    assert (counters["executed"], counters["repeated"]) == (1, 1)
    # A new SEQ is a new command: a second open is refused, the receipt stays the first one.
    host.seq = dx.next_seq(host.seq)
    assert host.send(xc.open_receipt("1", "0000", 1)).error_code == -111015
    assert control_json(sim, "state")["open_receipt"]["number"] == 1


@pytest.mark.parametrize("fault", ["drop_next", "drop_cmd 38"])
def test_lost_reply_recovered_by_resending_the_same_seq(sim: TtySim, host: XHost, fault: str) -> None:
    sell(host, ("Water", "B", 100, "1"))
    host.send(xc.payment("cash", 100))
    set_fault(sim, fault)
    frame = host.frame(xc.close_receipt())
    host.wire.write(frame)
    assert host.wire.quiet(0.6) == b"", "the reply was dropped"
    reply = host.send(xc.close_receipt(), frame=frame)  # the host's resend: same SEQ, same bytes
    assert reply.error_code == 0 and xc.slip_number(reply) == 1
    assert [r["number"] for r in control_json(sim, "receipts")] == [1]
    counters = control_json(sim, "status")["counters"]
    assert (counters["dropped"], counters["repeated"]) == (1, 1)


def test_damaged_frame_gets_nak_and_is_not_executed(sim: TtySim, host: XHost) -> None:
    frame = bytearray(host.frame(xc.open_receipt("1", "0000", 1)))
    frame[-3] ^= 0x01  # a checksum nibble
    assert host.wire.exchange(bytes(frame), dx.HostParser(), lambda i: True) == [dx.Control(dx.NAK)]
    assert control_json(sim, "state")["open_receipt"] is None
    assert host.send(xc.open_receipt("1", "0000", 1)).error_code == 0  # the resend, same SEQ
    set_fault(sim, "nak_next")
    assert host.wire.exchange(host.frame(xc.sale("Tea", "B", 90, "1")), dx.HostParser(), lambda i: True) == [
        dx.Control(dx.NAK)
    ]
    assert host.send(xc.sale("Tea", "B", 90, "1")).error_code == 0
    assert len(control_json(sim, "state")["open_receipt"]["items"]) == 1
    assert control_json(sim, "status")["counters"]["naks"] == 2


def test_syn_every_60ms_while_busy_and_noise_is_skipped(sim: TtySim, host: XHost) -> None:
    set_fault(sim, "busy 300")
    started = time.monotonic()
    reply = host.send(xc.read_status())
    assert time.monotonic() - started >= 0.3 and reply.error_code == 0
    # One at once, then one every 60 ms until 300 ms: five, fewer only if the box is slow.
    syns = host.control_bytes()
    assert set(syns) == {dx.SYN} and 3 <= len(syns) <= 5
    set_fault(sim, "garbage_next")
    assert host.send(xc.read_status()).error_code == 0
    assert any(isinstance(item, dx.Corrupt) for item in host.seen)


def test_paper_out_refuses_printing_and_changes_nothing(sim: TtySim, host: XHost) -> None:
    sell(host, ("Soap", "B", 300, "1"))
    before = control_json(sim, "state")
    set_fault(sim, "paper_out on")
    refused = host.send(xc.sale("Soap", "B", 300, "1"))
    assert refused.error_code == -112006 and {"paper_end", "general_error"} <= flags(refused)
    assert host.send(xc.close_receipt()).error_code == -111050  # state errors still come first
    assert control_json(sim, "state")["open_receipt"] == before["open_receipt"]
    status = xc.parse_transaction_status(host.send(xc.transaction_status()))
    assert (status.items, status.amount) == (1, 300)
    set_fault(sim, "paper_out off")
    assert host.send(xc.sale("Soap", "B", 300, "1")).error_code == 0


def test_sequence_errors_carry_codes_and_status_bits(sim: TtySim, host: XHost) -> None:
    refused = host.send(xc.sale("Milk", "B", 250, "1"))
    assert refused.error_code == -111016 and "command_not_permitted" in flags(refused)
    assert host.send(xc.cancel_receipt()).error_code == -111016
    sell(host, ("Milk", "B", 250, "1"))
    assert host.send(xc.close_receipt()).error_code == -111050
    host.send(xc.payment("cash", 100))
    assert host.send(xc.close_receipt()).error_code == -111064
    assert host.send(xc.sale("Late", "B", 100, "1")).error_code == -111018
    assert host.send(xc.report("Z")).error_code == -111047
    bad = host.send((dx.SALE, dx.params("Milk", "9", "2.50", "1.000", "", "", "0")))
    assert bad.error_code == -112202 and "syntax_error" in flags(bad)
    assert host.send(xc.cancel_receipt()).error_code == 0
    assert host.send(xc.payment("cash", 100)).error_code == -111016  # nothing open any more
    [receipt] = control_json(sim, "receipts")
    assert receipt["cancelled"] and receipt["number"] == 1
    assert control_json(sim, "state")["daily"]["sales"]["B"] == 0


def test_z_report_zeroes_the_day_and_counts(sim: TtySim, host: XHost) -> None:
    sell(host, ("Milk", "B", 250, "2"), ("Bread", "A", 100, "1"))
    host.send(xc.payment("cash", 600))
    host.send(xc.close_receipt())
    host.send(xc.cash_in_out(1000))
    x = xc.parse_report(host.send(xc.report("X")))
    assert (x.number, x.totals["A"], x.totals["B"]) == (1, 100, 500)
    z = xc.parse_report(host.send(xc.report("Z")))
    assert z == x
    state = control_json(sim, "state")
    assert state["z_counter"] == 1 and set(state["daily"]["sales"].values()) == {0}
    assert state["cash"] == {"sum": 0, "in": 0, "out": 0}
    second = xc.parse_report(host.send(xc.report("Z")))
    assert second.number == 2 and set(second.totals.values()) == {0}


def test_storno_receipt(sim: TtySim, host: XHost) -> None:
    sell(host, ("Milk", "B", 250, "2"))
    host.send(xc.payment("cash", 500))
    host.send(xc.close_receipt())
    opened = host.send(
        xc.open_storno("1", "0000", 1, reason="refund", document_number=1,
                       document_time="30-11-26 10:15:00", fm_number="02123456", unique_sale_number=USN)
    )  # fmt: skip
    assert opened.error_code == 0 and xc.slip_number(opened) == 2
    transaction = host.send(xc.transaction_status()).fields()
    assert transaction[1] == "3"  # the manual: 3 = storno receipt, reason "refund"
    host.send(xc.sale("Milk", "B", 250, "1"))
    assert host.send(xc.payment("cash", 300)).error_code == -111094  # a refund gives no change
    assert xc.parse_payment(host.send(xc.payment("cash", 250))) == xc.PaymentAnswer("R", 0)
    assert xc.slip_number(host.send(xc.close_receipt())) == 2
    storno = control_json(sim, "receipts")[-1]
    assert storno["kind"] == "storno" and storno["total"] == 250
    assert storno["storno_of"]["document"] == 1 and storno["storno_of"]["reason"] == "refund"
    state = control_json(sim, "state")
    assert (state["daily"]["sales"]["B"], state["daily"]["storno"]["B"]) == (500, 250)
    assert state["cash"]["sum"] == 250
    report = xc.parse_report(host.send(xc.report("X")))
    assert report.storno["B"] == 250


def test_duplicate_datetime_and_unknown_command(sim: TtySim, host: XHost) -> None:
    assert host.send(xc.duplicate()).error_code == -100009
    sell(host, ("Milk", "B", 250, "1"))
    host.send(xc.payment("cash", 250))
    host.send(xc.close_receipt())
    assert host.send(xc.duplicate()).error_code == 0
    assert host.send(xc.duplicate()).error_code == -111003
    assert host.send(xc.set_datetime("01-02-27 10:11:12")).error_code == 0
    assert xc.parse_datetime(host.send(xc.get_datetime())).startswith("01-02-27 10:11")
    unknown = host.send((0x99, b""))
    assert unknown.data == b"" and "invalid_command" in flags(unknown)
    set_fault(sim, "fm_nearly_full on")
    assert "fm_few_reports_left" in flags(host.send(xc.read_status()))


def test_control_port_errors(sim: TtySim) -> None:
    for command in ("busy", "busy 0", "drop_cmd zz", "paper_out maybe", "status now", "reboot"):
        assert sim.control(command).startswith("error"), command
    assert control_json(sim, "receipts") == []
