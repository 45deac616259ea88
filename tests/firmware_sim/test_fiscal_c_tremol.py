"""``smartpos-sim fiscal`` for Datecs C and Tremol ZFP on a pseudo-terminal, and over TCP."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.fiscal import datecs_c as dc
from protocols.fiscal import datecs_x as dx
from protocols.fiscal import datecs_x_commands as xc
from protocols.fiscal import tremol as tr
from tests.firmware_sim.fiscalhost import (
    CHost,
    TremolHost,
    Wire,
    XHost,
    control_json,
    set_fault,
    start_fiscal,
)
from tests.firmware_sim.simproc import BIN, wait_until
from tests.firmware_sim.ttysim import TtySim

GOLDEN_C_DEVICE_INFO = bytes.fromhex("01 25 21 5A 31 05 30 30 3D 36 03")


@pytest.fixture
def c_sim(tmp_path: Path) -> Iterator[TtySim]:
    process = start_fiscal(tmp_path, "datecs-c", "--serial-number", "DT654321", "--first-number", "41")
    yield process
    process.stop()


@pytest.fixture
def tremol_sim(tmp_path: Path) -> Iterator[TtySim]:
    process = start_fiscal(tmp_path, "tremol", "--serial-number", "ZK123456")
    yield process
    process.stop()


# -- Datecs C ---------------------------------------------------------------------------------


def test_c_golden_device_info_request_is_answered(c_sim: TtySim) -> None:
    host = CHost(Wire.serial(c_sim.open(115200)))
    reply = host.send(0, frame=GOLDEN_C_DEVICE_INFO)
    assert (reply.seq, reply.cmd) == (0x21, dc.DEVICE_INFO)
    assert reply.fields() == ["DP-25", "263453 08Nov18 1000", "5E2C", "00000000", "DT654321", "02123456"]
    assert {"fiscalised", "formatted", "vat_set", "serial_and_fm_set"} <= dc.status_flags(reply.status)


def test_c_receipt_report_and_status(c_sim: TtySim) -> None:
    host = CHost(Wire.serial(c_sim.open(115200)))
    assert host.send(dc.OPEN_RECEIPT, b"1,1,DT654321-0001-0000041,1").data == b"1,1"
    assert host.send(dc.SALE, "Milk\nfresh\tБ2.50*2".encode("cp1251")).data == b""
    assert host.send(dc.SALE, b"Bread\tA1.00,-10").data == b""  # Latin letter, 10 % discount
    subtotal = host.send(dc.SUBTOTAL, b"00").fields()
    assert subtotal[:3] == ["+000000590", "+000000090", "+000000500"]
    assert host.send(dc.PAYMENT, b"\tC1.00").data == b"D+000000490"
    assert host.send(dc.CANCEL_RECEIPT).data == b""  # refused: a payment was made
    transaction = host.send(dc.TRANSACTION_STATUS, b"T")
    assert transaction.data == b"1,2,+00000590,+00000100"
    assert "command_not_permitted" not in dc.status_flags(transaction.status)
    assert host.send(dc.PAYMENT, b"").data == b"R+000000000"  # the rest, in cash
    close = host.send(dc.CLOSE_RECEIPT)
    assert close.data == b"1,1" and "fiscal_receipt_open" not in dc.status_flags(close.status)
    assert host.send(dc.LAST_DOCUMENT).data == b"0000041"
    [receipt] = control_json(c_sim, "receipts")
    assert (receipt["number"], receipt["total"], receipt["items"][0]["name"]) == (41, 590, "Milk fresh")
    assert [p["kind"] for p in receipt["payments"]] == ["debit_card", "cash"]
    z = host.send(dc.REPORT, b"0").fields()
    assert z[:4] == ["1", "+00000000590", "+00000000090", "+00000000500"]
    status = host.send(dc.STATUS)
    assert status.data == status.status
    assert control_json(c_sim, "state")["z_counter"] == 1


def test_c_refusals_are_status_bits(c_sim: TtySim) -> None:
    host = CHost(Wire.serial(c_sim.open(115200)))
    refused = host.send(dc.SALE, b"Milk\tA2.50")
    assert refused.data == b"" and {"command_not_permitted", "general_error"} <= dc.status_flags(
        refused.status
    )
    assert host.send(dc.PAYMENT, b"\tP1.00").data == b"F"
    syntax = host.send(dc.OPEN_RECEIPT, b"1,1")
    assert syntax.data == b"" and "syntax_error" in dc.status_flags(syntax.status)
    unknown = host.send(0x7E)
    assert unknown.data == b"" and "invalid_command" in dc.status_flags(unknown.status)
    set_fault(c_sim, "paper_out on")
    paper = host.send(dc.OPEN_RECEIPT, b"1,1,1")
    assert "paper_end" in dc.status_flags(paper.status) and control_json(c_sim, "receipts") == []
    assert control_json(c_sim, "state")["open_receipt"] is None


# -- Tremol ZFP ---------------------------------------------------------------------------------


def test_tremol_ping_status_and_receipt(tremol_sim: TtySim) -> None:
    host = TremolHost(Wire.serial(tremol_sim.open(115200)))
    assert host.ping() == tr.PING_READY
    assert {"fiscalised"} <= tr.status_flags(host.answer(tr.STATUS).data)
    assert host.answer(tr.FD_NUMBERS).fields() == ["ZK123456", "02123456"]
    assert host.send(tr.OPEN_RECEIPT, "1", "0000", "1", "1", "2$ZK123456-0001-0000001") == tr.Ack(0x22)
    assert host.send(tr.SALE, "Milk".ljust(36), "Б", "2.50*2") == tr.Ack(0x23)
    assert host.answer(tr.SUBTOTAL, "1", "0").fields() == ["5.00"]
    assert host.ack(tr.PAYMENT, "0", "0", "10.00").ok
    fields = host.answer(tr.RECEIPT_INFO).fields()
    assert (fields[0], fields[1], fields[3], fields[8], fields[9], fields[12]) == (
        "1",
        "001",
        "5.00",
        "1",
        "1",
        "5.00",
    )
    assert host.ack(tr.CLOSE_RECEIPT).ok
    assert host.answer(tr.LAST_RECEIPT_NUMBER).data == b"000001"
    [receipt] = control_json(tremol_sim, "receipts")
    assert (receipt["total"], receipt["change"], receipt["unique_sale_number"]) == (
        500,
        500,
        "ZK123456-0001-0000001",
    )
    assert host.ack(tr.DAILY_REPORT, "Z").ok
    assert control_json(tremol_sim, "state")["z_counter"] == 1
    set_fault(tremol_sim, "paper_out on")
    assert host.ping() == 0x42
    assert "paper_end" in tr.status_flags(host.answer(tr.STATUS).data)


def test_tremol_refusals_and_same_nbl(tremol_sim: TtySim) -> None:
    host = TremolHost(Wire.serial(tremol_sim.open(115200)))
    assert host.send(tr.SALE, "Milk", "Б", "2.50") == tr.Ack(0x20, 0x30, 0x32)
    open_args = ("1", "0000", "1", "1", "0")
    assert host.ack(tr.OPEN_RECEIPT, *open_args).ok
    assert host.ack(tr.OPEN_RECEIPT, *open_args, nbl=0x21).ok  # same NBL: repeated, not executed
    assert host.send(tr.OPEN_RECEIPT, *open_args) == tr.Ack(0x22, 0x34, 0x32)  # a new one: refused
    assert host.send(tr.SALE, "Milk", "A", "2.50") == tr.Ack(0x23, 0x30, 0x34)  # Latin A: syntax
    assert host.send(0x7E) == tr.Ack(0x24, 0x30, 0x31)
    assert host.send(tr.CLOSE_RECEIPT) == tr.Ack(0x25, 0x30, 0x36)  # no sales
    assert control_json(tremol_sim, "status")["counters"]["repeated"] == 1


def test_tremol_retry_while_busy_and_ping_says_busy(tremol_sim: TtySim) -> None:
    wire = Wire.serial(tremol_sim.open(115200))
    set_fault(tremol_sim, "busy 300")
    parser = tr.HostParser()
    wire.exchange(tr.encode_request(tr.Request(0x20, tr.STATUS)), parser, lambda i: i == tr.Control(tr.RETRY))
    # Mid-command, PING is answered at once, with the busy bit; then the answer comes.
    items = wire.exchange(bytes((tr.PING,)), parser, lambda i: isinstance(i, tr.Answer))
    assert items[0] in (tr.PingReply(0x41), tr.Control(tr.RETRY))
    assert tr.PingReply(0x41) in items and isinstance(items[-1], tr.Answer)


# -- TCP ----------------------------------------------------------------------------------------


class TcpSim(TtySim):
    """The simulator on a TCP port instead of a pty."""

    def __init__(self, protocol: str) -> None:
        super().__init__("fiscal", Path("/nonexistent"))
        self.args = [str(BIN / "smartpos-sim"), "fiscal", "--protocol", protocol, "--port", "0"]


def test_tcp_and_repeat_across_a_reconnect() -> None:
    sim = TcpSim("datecs-x").start()
    try:
        assert sim.listening["tty"] is None and isinstance(sim.listening["port"], int)
        address = ("127.0.0.1", sim.listening["port"])
        with socket.create_connection(address, timeout=5) as sock:
            host = XHost(Wire.tcp(sock))
            assert xc.parse_device_info(host.send(xc.device_info())).serial_number == "DT123456"
            frame = host.frame(xc.open_receipt("1", "0000", 1))
            sock.sendall(frame)  # executed, but the reply is lost with the connection
            wait_until(lambda: control_json(sim, "status")["counters"]["executed"] == 2, what="execution")
        with socket.create_connection(address, timeout=5) as sock:
            host = XHost(Wire.tcp(sock), seq=dx.next_seq(0x20))
            reply = host.send(xc.open_receipt("1", "0000", 1), frame=frame)
            assert reply.error_code == 0 and xc.slip_number(reply) == 1
        counters = control_json(sim, "status")["counters"]
        assert (counters["executed"], counters["repeated"]) == (2, 1)
    finally:
        assert sim.stop() == 0


def test_bad_arguments_exit_with_usage() -> None:
    result = subprocess.run(
        [str(BIN / "smartpos-sim"), "fiscal", "--protocol", "datecs-x", "--port", "0", "--fm-number", "12"],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2 and b"8 letters or digits" in result.stderr
