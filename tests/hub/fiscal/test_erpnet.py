"""The ErpNet.FP-compatible API of a real hub process, printing on ``smartpos-sim fiscal``.

What an ErpNet.FP client relies on: a receipt answers with its number and amount, a repeated
taskId (or unique sale number) never prints twice, ``asyncTimeout=0`` gives a taskId that
taskinfo follows to the end, a device refusal is ``ok: false`` with the reason, a bad body is
refused with nothing queued, and, unlike ErpNet.FP, a task outlives a hub restart.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fiscal_sim import FiscalSim
from tests.support.procs import HubProcess, free_port, http, wait_for

SALE_NUMBER = "DT123456-0001-{:07d}"
TOKEN = "erpnet-test-token-0123456789"


def receipt_body(number: int = 1) -> dict[str, Any]:
    """Cheese 12.00 + 2 x Milk 10.50 -10 % (18.90) = 30.90, paid 40.00 in cash."""
    return {
        "uniqueSaleNumber": SALE_NUMBER.format(number),
        "operator": "1",
        "operatorPassword": "1",
        "items": [
            {"text": "Cheese", "quantity": 1, "unitPrice": 12, "taxGroup": 2},
            {"type": "comment", "text": "Thank you"},
            {
                "text": "Milk",
                "quantity": 2,
                "unitPrice": 10.5,
                "taxGroup": 2,
                "priceModifierType": "discount-percent",
                "priceModifierValue": 10,
            },
        ],
        "payments": [{"amount": 40, "paymentType": "cash"}],
    }


@dataclass
class ErpNet:
    """A hub with the ErpNet.FP API on ``port`` and a fiscal printer ``fp``."""

    hub: HubProcess
    fp: FiscalSim
    port: int
    token: str = ""

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return http(method, url, body=body, headers=headers, timeout=40)

    def print(self, body: Any = None, action: str = "receipt", **query: Any) -> dict[str, Any]:
        status, answer = self.call("POST", f"/printers/fp/{action}", body, **query)
        assert status == 200, answer
        return dict(answer)

    def finished(self, task_id: str, timeout: float = 20.0) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            info = self.call("GET", "/printers/taskinfo", id=task_id)[1]
            return info if info["taskStatus"] == "finished" else None

        return dict(wait_for(done, timeout, what=f"task {task_id} finished"))


def _hub(tmp_path: Path, fp: FiscalSim, port: int, token: str = "") -> HubProcess:
    device = {"id": "fp", "kind": "fiscal_printer", "driver": "datecs_x", "url": fp.url,
              "options": {"poll_interval": 0.5}}  # fmt: skip
    toml = f'[erpnet]\nenabled = true\nport = {port}\ntoken = "{token}"\n[fiscal.tax_groups]\n"20" = "B"\n'
    return HubProcess(tmp_path, [device], extra_toml=toml)


def _online(hub: HubProcess) -> None:
    wait_for(lambda: hub.api("GET", "/api/v1/devices/fp")[1]["status"] == "online", 15, what="fiscal printer")


@pytest.fixture
def erpnet(tmp_path: Path) -> Iterator[ErpNet]:
    fp = FiscalSim().start()
    port = free_port()
    hub = _hub(tmp_path, fp, port)
    try:
        hub.start()
        _online(hub)
        yield ErpNet(hub, fp, port)
    finally:
        hub.stop()
        fp.stop()


def test_a_receipt_answers_with_its_number_and_amount(erpnet: ErpNet) -> None:
    answer = erpnet.print(receipt_body())
    issued = erpnet.fp.issued()
    assert len(issued) == 1
    assert answer["ok"] is True and answer["messages"] == []
    assert answer["receiptNumber"] == str(issued[0]["number"])
    assert answer["receiptAmount"] == 30.9 and issued[0]["total"] == 3090
    assert answer["fiscalMemorySerialNumber"] == "02123456" and answer["receiptDateTime"]
    assert issued[0]["unique_sale_number"] == SALE_NUMBER.format(1)
    assert [(i["name"], i["tax_group"], i["adjustment"]) for i in issued[0]["items"]] == [
        ("Cheese", "B", 0), ("Milk", "B", -210),
    ]  # fmt: skip
    assert issued[0]["comments"] == ["Thank you"] and issued[0]["change"] == 910
    status, printers = erpnet.call("GET", "/printers")
    assert status == 200 and list(printers) == ["fp"]
    assert printers["fp"]["serialNumber"] == "DT123456" and printers["fp"]["model"] == "FP-700X"
    assert erpnet.call("GET", "/printers/fp")[1] == printers["fp"]
    assert erpnet.call("GET", "/printers/fp/status") == (200, {"ok": True, "messages": []})
    status, missing = erpnet.call("GET", "/printers/nope/status")
    assert status == 404 and missing["ok"] is False and missing["messages"][0]["code"] == "E101"


def test_the_same_task_id_twice_prints_once(erpnet: ErpNet) -> None:
    first = erpnet.print(receipt_body(), taskId="till-1-sale-1")
    again = erpnet.print(receipt_body(), taskId="till-1-sale-1")
    assert again == first and first["ok"] is True
    # No taskId, but the same sale (its unique sale number) sent again: still the same receipt.
    assert erpnet.print(receipt_body())["receiptNumber"] == first["receiptNumber"]
    assert len(erpnet.fp.issued()) == 1
    other = receipt_body()
    other["items"][0]["unitPrice"] = 13
    status, refused = erpnet.call("POST", "/printers/fp/receipt", other, taskId="till-1-sale-1")
    assert status == 409 and refused["ok"] is False and refused["messages"][0]["code"] == "E109"
    status, refused = erpnet.call("POST", "/printers/fp/receipt", other)
    assert status == 409 and refused["messages"][0]["code"] == "E109"
    assert len(erpnet.fp.issued()) == 1


def test_async_timeout_zero_answers_a_task_id_that_taskinfo_follows(erpnet: ErpNet) -> None:
    queued = erpnet.print(receipt_body(), asyncTimeout=0)
    assert set(queued) == {"taskId"}
    info = erpnet.finished(queued["taskId"])
    issued = erpnet.fp.issued()
    assert info["result"]["ok"] is True and info["result"]["receiptNumber"] == str(issued[0]["number"])
    # Unlike ErpNet.FP, a finished task stays readable.
    assert erpnet.finished(queued["taskId"]) == info
    assert erpnet.print(receipt_body(2), asyncTimeout=0, taskId="mine-2") == {"taskId": "mine-2"}
    assert erpnet.finished("mine-2")["result"]["ok"] is True
    assert erpnet.call("GET", "/printers/taskinfo", id="never-sent")[1] == {
        "taskStatus": "unknown",
        "result": {},
    }


def test_a_receipt_refused_for_paper_is_not_ok_and_never_prints_later(erpnet: ErpNet) -> None:
    erpnet.fp.control("paper_out on")
    answer = erpnet.print(receipt_body(), taskId="paper-1")
    assert answer["ok"] is False
    assert answer["messages"][0]["code"] == "E301" and "paper" in answer["messages"][0]["text"]
    assert erpnet.finished("paper-1")["result"] == answer
    status = wait_for(lambda: (s := erpnet.call("GET", "/printers/fp/status")[1])["ok"] is False and s, 10,
                      what="status shows paper out")  # fmt: skip
    assert [m["code"] for m in status["messages"]] == ["E301"]
    erpnet.fp.control("paper_out off")
    # The refused task stays refused: the client's new attempt is the one that prints.
    assert erpnet.print(receipt_body(), taskId="paper-2")["ok"] is True
    assert erpnet.finished("paper-1")["result"]["ok"] is False
    assert len(erpnet.fp.issued()) == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"items": []}, 422, "E410"),
        ({"items": [{"text": "Tea", "unitPrice": 1, "taxGroup": 9}]}, 422, "E411"),
        ({"items": [{"text": "Tea", "unitPrice": 1.234, "taxGroup": 1}]}, 422, "E403"),
        ({"items": [{"text": "Tea", "unitPrice": "x", "taxGroup": 1}]}, 422, "E407"),
        ({"payments": [{"amount": 10, "paymentType": "cash"}]}, 422, "E406"),
        ({"payments": [{"amount": 40, "paymentType": "bank"}]}, 422, "E406"),
        ({"items": [{"type": "discount-amount", "amount": 1}]}, 422, "E412"),
        (None, 400, "E401"),
    ],
)
def test_a_bad_body_is_refused_and_queues_nothing(
    erpnet: ErpNet, change: dict[str, Any] | None, status: int, code: str
) -> None:
    body = {**receipt_body(), **change} if change is not None else None
    raw = json.dumps(body).encode() if body is not None else b"{not json"
    got, answer = http("POST", f"http://127.0.0.1:{erpnet.port}/printers/fp/receipt?taskId=bad-1", raw=raw,
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert got == status, answer
    assert answer["ok"] is False and answer["messages"][0]["type"] == "error"
    assert answer["messages"][0]["code"] == code and answer["messages"][0]["text"]
    assert erpnet.call("GET", "/printers/taskinfo", id="bad-1")[1]["taskStatus"] == "unknown"
    assert erpnet.hub.api("GET", "/api/v1/devices/fp")[1]["queued"] == 0
    assert erpnet.fp.receipts() == []


def test_bad_task_ids_and_unsupported_requests(erpnet: ErpNet) -> None:
    status, answer = erpnet.call("POST", "/printers/fp/receipt", receipt_body(), taskId="x" * 61)
    assert status == 400 and answer["messages"][0]["code"] == "E110"
    status, answer = erpnet.call("POST", "/printers/fp/datetime", {"deviceDateTime": "2024-05-31T18:06:00"})
    assert status == 200 and answer["ok"] is False and answer["messages"][0]["code"] == "E413"
    assert erpnet.fp.receipts() == []


def test_cash_reports_duplicate_and_reversal(erpnet: ErpNet) -> None:
    assert erpnet.print({"amount": 50}, "deposit") == {"ok": True, "messages": []}
    assert erpnet.print({"amount": 20.5}, "withdraw")["ok"] is True
    assert json.loads(erpnet.fp.control("state"))["cash"]["sum"] == 2950
    refused = erpnet.print({"amount": 100}, "withdraw")  # more than the drawer holds
    assert refused["ok"] is False and refused["messages"][0]["code"] == "E999"
    assert "-111017" in refused["messages"][0]["text"]
    sale = erpnet.print(receipt_body())
    assert erpnet.print(action="duplicate")["ok"] is True
    again = erpnet.print(action="duplicate")  # one duplicate per receipt: the device says so
    assert again["ok"] is False and again["messages"][0]["code"] == "E999"
    reversal = {**receipt_body(), "receiptNumber": sale["receiptNumber"], "receiptDateTime": sale["receiptDateTime"],
                "fiscalMemorySerialNumber": sale["fiscalMemorySerialNumber"], "reason": "refund",
                "payments": [{"amount": 30.9, "paymentType": "cash"}]}  # fmt: skip
    storno = erpnet.print(reversal, "reversalreceipt")
    assert storno["ok"] is True and storno["receiptAmount"] == 30.9
    issued = erpnet.fp.issued()
    assert [r["kind"] for r in issued] == ["sale", "storno"] and issued[0]["duplicated"] is True
    assert issued[1]["storno_of"]["document"] == int(sale["receiptNumber"])
    assert issued[1]["storno_of"]["reason"] == "refund" and issued[1]["storno_of"]["fm_number"] == "02123456"
    x = erpnet.print(action="xreport")
    assert x["ok"] is True and x["messages"][0]["text"] == "X report 1"
    assert erpnet.print(action="zreport", taskId="z-1")["ok"] is True
    state = json.loads(erpnet.fp.control("state"))
    assert state["z_counter"] == 1 and state["cash"]["sum"] == 0


def test_the_task_journal_survives_a_hub_restart(tmp_path: Path) -> None:
    fp = FiscalSim()  # its port is chosen, but nothing listens there yet: the printer is off
    port = free_port()
    hub = _hub(tmp_path, fp, port)
    erpnet = ErpNet(hub, fp, port)
    try:
        hub.start()
        assert erpnet.print(receipt_body(), asyncTimeout=0, taskId="offline-1") == {"taskId": "offline-1"}
        assert erpnet.call("GET", "/printers/taskinfo", id="offline-1")[1]["taskStatus"] == "enqueued"
        assert erpnet.call("GET", "/printers/fp/status")[1]["messages"][0]["code"] == "E101"
        hub.stop()
        fp.start()
        hub.start()
        info = erpnet.finished("offline-1")
        issued = fp.issued()
        assert len(issued) == 1 and info["result"]["receiptNumber"] == str(issued[0]["number"])
        # The restarted hub still knows the task: sending it again prints nothing more.
        assert erpnet.print(receipt_body(), taskId="offline-1") == info["result"]
        assert len(fp.issued()) == 1
    finally:
        hub.stop()
        fp.stop()


def test_a_task_not_started_before_the_callers_timeout_never_starts(tmp_path: Path) -> None:
    fp = FiscalSim()  # off until after the deadline
    port = free_port()
    hub = _hub(tmp_path, fp, port)
    erpnet = ErpNet(hub, fp, port)
    try:
        hub.start()
        assert erpnet.print(receipt_body(1), asyncTimeout=0, timeout="300ms", taskId="late-1") == {
            "taskId": "late-1"
        }
        time.sleep(0.6)
        fp.start()
        # The next request wakes the printer's worker at once; both are answered in order.
        assert erpnet.print(receipt_body(2), taskId="on-time-2")["ok"] is True
        late = erpnet.finished("late-1")["result"]
        assert late["ok"] is False and late["messages"][0]["code"] == "E999"
        assert "timeout" in late["messages"][0]["text"]
        assert [r["unique_sale_number"] for r in fp.issued()] == [SALE_NUMBER.format(2)]
    finally:
        hub.stop()
        fp.stop()


def test_a_token_is_asked_when_one_is_configured(tmp_path: Path) -> None:
    fp = FiscalSim()  # never started: only the token is checked here
    port = free_port()
    hub = _hub(tmp_path, fp, port, token=TOKEN)
    try:
        hub.start()
        status, answer = http("GET", f"http://127.0.0.1:{port}/printers")
        assert status == 401 and answer["messages"][0]["code"] == "E408"
        assert http("GET", f"http://127.0.0.1:{port}/printers?token=wrong")[0] == 401
        assert http("GET", f"http://127.0.0.1:{port}/printers?token={TOKEN}")[0] == 200
        assert ErpNet(hub, fp, port, token=TOKEN).call("GET", "/printers")[0] == 200
    finally:
        hub.stop()
