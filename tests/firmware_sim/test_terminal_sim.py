"""``smartpos-sim terminal`` as a real process, driven over the wire by a bare-hands ECR: ZVT on
TCP and on a pty (frames, ACK/NAK), nexo over HTTP, and the control port's switches."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest
import serial

from protocols.payments import nexo, zvt
from protocols.payments import zvt_messages as msg
from protocols.payments.zvt_frame import (
    ACK,
    NAK,
    Apdu,
    ApduParser,
    Control,
    FrameParser,
    encode_apdu,
    encode_frame,
)
from tests.support.payment_terminal import TerminalSim


class TcpEcr:
    """An ECR on a raw socket: sends APDUs, reads the terminal's, acknowledges on request."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = ApduParser()
        self.queue: list[Apdu] = []
        self.enquiry = False  # a completion answering 05 01 carries the software version first

    def send(self, apdu: Apdu) -> None:
        self.sock.sendall(encode_apdu(apdu))

    def read(self, timeout: float = 5.0) -> msg.TerminalMessage:
        self.sock.settimeout(timeout)
        while not self.queue:
            data = self.sock.recv(4096)
            assert data, "the terminal closed the connection"
            self.queue += self.parser.feed(data)
        return msg.parse_message(self.queue.pop(0), after_status_enquiry=self.enquiry)

    def command(self, apdu: Apdu) -> list[msg.TerminalMessage]:
        """Send a command and follow it to its end, acknowledging every message."""
        self.enquiry = apdu.command == zvt.STATUS_ENQUIRY
        self.send(apdu)
        assert self.read() == msg.PositiveAck()
        seen: list[msg.TerminalMessage] = []
        while True:
            message = self.read()
            seen.append(message)
            self.send(zvt.ACK)
            if isinstance(message, msg.Completion | msg.TerminalAbort):
                return seen


@pytest.fixture
def zvt_sim() -> Iterator[TerminalSim]:
    sim = TerminalSim("zvt", extra=["--ack-timeout-ms", "1000"]).start()
    yield sim
    sim.stop()


@pytest.fixture
def ecr(zvt_sim: TerminalSim) -> Iterator[TcpEcr]:
    client = TcpEcr(zvt_sim.port)
    client.command(zvt.registration())
    yield client
    client.sock.close()


def test_registration_answers_with_the_terminal_id() -> None:
    sim = TerminalSim("zvt", extra=["--terminal-id", "12345678"]).start()
    try:
        client = TcpEcr(sim.port)
        (completion,) = client.command(zvt.registration("000000", 0xBA, 978))
        assert completion == msg.Completion(status_byte=0, terminal_id="12345678", currency=978)
        assert sim.status()["config"] == "BA"
    finally:
        sim.stop()


def test_approved_payment_flow_and_journal(ecr: TcpEcr, zvt_sim: TerminalSim) -> None:
    seen = ecr.command(zvt.authorization(1000))
    statuses = [m.code for m in seen if isinstance(m, msg.IntermediateStatus)]
    assert statuses == [0x0A, 0x0E]
    info = next(m for m in seen if isinstance(m, msg.StatusInfo))
    assert (info.result_code, info.amount, info.trace, info.receipt_number) == (0, 1000, "000001", "0001")
    lines = [m for m in seen if isinstance(m, msg.PrintLine)]
    assert lines[-1].last and lines[-1].text == "APPROVED" and not any(line.last for line in lines[:-1])
    assert seen[-1] == msg.Completion()
    (booked,) = zvt_sim.transactions()
    assert (booked["kind"], booked["amount"], booked["approved"], booked["trace"]) == (
        "payment",
        1000,
        True,
        "000001",
    )


def test_decline_pin_and_terminal_abort(ecr: TcpEcr, zvt_sim: TerminalSim) -> None:
    zvt_sim.control("next decline 05")
    zvt_sim.control("next pin")
    zvt_sim.control("next abort")
    declined = ecr.command(zvt.authorization(500))
    info = next(m for m in declined if isinstance(m, msg.StatusInfo))
    assert info.result_code == 0x05 and declined[-1] == msg.TerminalAbort(0x05)
    pin = ecr.command(zvt.authorization(700))
    assert [m.code for m in pin if isinstance(m, msg.IntermediateStatus)] == [0x0A, 0x01, 0x0E]
    assert pin[-1] == msg.Completion()
    aborted = ecr.command(zvt.authorization(800))
    assert aborted[-1] == msg.TerminalAbort(0x6C)
    assert [t["amount"] for t in zvt_sim.transactions()] == [500, 700]  # the abort booked nothing


def test_ecr_abort_while_waiting_for_a_card_and_refusal_while_busy(ecr: TcpEcr, zvt_sim: TerminalSim) -> None:
    zvt_sim.control("card 5000")
    ecr.send(zvt.authorization(900))
    assert ecr.read() == msg.PositiveAck()
    assert isinstance(ecr.read(), msg.IntermediateStatus)
    ecr.send(zvt.ACK)
    ecr.send(zvt.repeat_receipt())  # the terminal is master: refused
    assert ecr.read() == msg.NegativeAck(0x83)
    started = time.monotonic()
    ecr.send(zvt.ecr_abort())
    assert ecr.read() == msg.PositiveAck()
    assert ecr.read() == msg.TerminalAbort(0x6C)
    assert time.monotonic() - started < 2
    ecr.send(zvt.ACK)
    assert zvt_sim.transactions() == []


def test_repeat_receipt_and_status_enquiry(ecr: TcpEcr, zvt_sim: TerminalSim) -> None:
    assert ecr.command(zvt.repeat_receipt()) == [msg.Completion()]  # nothing stored yet
    zvt_sim.control("next decline 51")
    ecr.command(zvt.authorization(2500))
    repeated = ecr.command(zvt.repeat_receipt())
    info = next(m for m in repeated if isinstance(m, msg.StatusInfo))
    assert (info.amount, info.result_code, info.trace) == (2500, 0x51, "000001")
    assert repeated[-1] == msg.Completion()  # the repeat succeeds even for a declined payment
    assert ecr.command(zvt.status_enquiry()) == [msg.Completion(sw_version="SIM-1.0", terminal_status=0)]


def test_drop_books_then_closes_the_connection(ecr: TcpEcr, zvt_sim: TerminalSim) -> None:
    zvt_sim.control("next drop")
    ecr.send(zvt.authorization(1200))
    assert ecr.read() == msg.PositiveAck()
    ecr.sock.settimeout(5)
    with pytest.raises(AssertionError, match="closed"):
        while True:
            ecr.read()
            ecr.send(zvt.ACK)
    (booked,) = zvt_sim.transactions()
    assert booked["approved"] and booked["amount"] == 1200


def test_hung_card_step_ignores_the_abort_and_ends_unbooked_when_the_ecr_leaves(
    ecr: TcpEcr, zvt_sim: TerminalSim
) -> None:
    zvt_sim.control("next timeout")
    ecr.send(zvt.authorization(1300))
    assert ecr.read() == msg.PositiveAck()
    assert isinstance(ecr.read(), msg.IntermediateStatus)
    ecr.send(zvt.ACK)
    ecr.send(zvt.ecr_abort())
    ecr.sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        ecr.sock.recv(1)
    assert zvt_sim.status()["hanging"]
    ecr.sock.close()
    deadline = time.monotonic() + 5
    while zvt_sim.status()["hanging"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not zvt_sim.status()["hanging"] and zvt_sim.transactions() == []


def test_serial_frames_are_acked_and_a_nak_makes_the_ecr_resend(tmp_path: Path) -> None:
    sim = TerminalSim("zvt", link=tmp_path / "ttyZVT").start()
    port = serial.Serial(str(tmp_path / "ttyZVT"), 9600, stopbits=2, timeout=2)
    parser = FrameParser()
    pending: list[object] = []

    def next_item() -> object:
        while not pending:
            data = port.read(1)
            assert data, "the terminal said nothing"
            pending.extend(parser.feed(data + port.read(port.in_waiting)))
        return pending.pop(0)

    try:
        sim.control("nak_next")
        frame = encode_frame(zvt.registration())
        port.write(frame)
        assert next_item() == Control(NAK)  # refused on purpose: the ECR sends the same frame again
        port.write(frame)
        assert next_item() == Control(ACK)
        assert next_item() == zvt.ACK  # the terminal's 80 00 00, framed, which we link-ACK
        port.write(bytes((ACK,)))
        completion = next_item()
        port.write(bytes((ACK,)))
        assert isinstance(completion, Apdu) and isinstance(msg.parse_message(completion), msg.Completion)
        damaged = bytearray(encode_frame(zvt.ACK))
        damaged[-1] ^= 0x55
        port.write(bytes(damaged))
        assert next_item() == Control(NAK)
        assert sim.status()["naks"] == 2
    finally:
        port.close()
        sim.stop()


def _post(port: int, request: nexo.SaleToPOIRequest | bytes) -> tuple[int, bytes]:
    data = request if isinstance(request, bytes) else nexo.encode(request)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/nexo", data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class SaleIds(TypedDict):
    sale_id: str
    poi_id: str


def test_nexo_payment_status_and_bad_json() -> None:
    sim = TerminalSim("nexo").start()
    ids: SaleIds = {"sale_id": "POS1", "poi_id": "SIMPOI01"}
    try:
        pay = nexo.payment_request(**ids, service="S1", transaction_id="sale-1", timestamp="t", amount=1050,
                                   currency="EUR")  # fmt: skip
        status, body = _post(sim.port, pay)
        response = nexo.decode_response(body).PaymentResponse
        assert status == 200 and response is not None and response.Response.Result == "Success"
        asked = nexo.transaction_status_request(**ids, service="S2", asked_service="S1", category="Payment")
        repeated = nexo.decode_response(_post(sim.port, asked)[1]).TransactionStatusResponse
        assert repeated is not None and repeated.RepeatedMessageResponse is not None
        assert repeated.RepeatedMessageResponse.RepeatedResponseMessageBody.PaymentResponse == response
        missing = nexo.transaction_status_request(
            **ids, service="S3", asked_service="NEVER", category="Payment"
        )
        answer = nexo.decode_response(_post(sim.port, missing)[1]).TransactionStatusResponse
        assert answer is not None and answer.Response.ErrorCondition == "NotFound"
        sim.control("next decline 05")
        declined = nexo.decode_response(_post(sim.port, nexo.payment_request(
            **ids, service="S4", transaction_id="sale-2", timestamp="t", amount=10, currency="EUR"))[1])  # fmt: skip
        assert (
            declined.PaymentResponse is not None
            and declined.PaymentResponse.Response.ErrorCondition == "Refusal"
        )
        assert _post(sim.port, b"{not json")[0] == 400
        assert [t["amount"] for t in sim.transactions()] == [1050, 10]
    finally:
        sim.stop()


def test_control_port_commands(zvt_sim: TerminalSim) -> None:
    for good in ("next approve", "next decline 05", "next timeout", "next abort", "next pin", "next drop",
                 "next drop before", "delay 10", "card 50", "hang 100", "print block", "print lines", "clear"):  # fmt: skip
        assert zvt_sim.control(good) == "ok"
    zvt_sim.control("next pin")
    status = zvt_sim.status()
    assert status["scripts"] == ["pin"] and status["delay_ms"] == 10 and status["protocol"] == "zvt"
    for bad in ("next", "next decline", "next decline zz", "next fly", "delay x", "print color", "bogus"):
        with socket.create_connection(("127.0.0.1", zvt_sim.control_port), timeout=5) as sock:
            sock.sendall(bad.encode() + b"\n")
            assert sock.makefile().readline().startswith("error"), bad
    assert json.loads(zvt_sim.control("transactions")) == []
