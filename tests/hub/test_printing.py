"""Printing end to end: API -> durable queue -> ESC/POS over TCP -> simulated paper."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp

from tests.support.procs import HubProcess, PrinterSim, receipt


def test_receipt_prints_with_bosnian_letters(hub: HubProcess, sim: PrinterSim) -> None:
    document = receipt("Račun 1: ćevapi, đuveč, šljivovica, žganci", lines=2)
    document["blocks"].append({"type": "qr", "data": "https://example.invalid/r/1"})
    status, job = hub.api("POST", "/api/v1/devices/receipt/jobs", body={"document": document})
    assert status == 201 and job["state"] == "queued"
    done = hub.wait_job(job["id"])
    assert done["attempts"] == 1 and done["copies_printed"] == 0 and done["finished_at"]
    paper = sim.wait_paper("--- CUT ---")
    assert "Račun 1: ćevapi, đuveč, šljivovica, žganci" in paper
    assert "[QR] https://example.invalid/r/1" in paper


def test_raw_bytes_job(hub: HubProcess, sim: PrinterSim) -> None:
    raw = b"\x1b@Raw line from an integrator\n\x1dV\x00"
    status, job = hub.api(
        "POST", "/api/v1/devices/receipt/jobs", body={"raw_base64": base64.b64encode(raw).decode()}
    )
    assert status == 201
    hub.wait_job(job["id"])
    assert "Raw line from an integrator" in sim.wait_paper("--- CUT ---")


def test_cli_print_test_and_drawer(hub: HubProcess, sim: PrinterSim) -> None:
    result = hub.cli("print-test", "receipt")
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    paper = sim.wait_paper("--- CUT ---")
    assert "č ć đ š ž Č Ć Đ Š Ž" in paper
    assert "Hub: test-hub" in paper and "Device: receipt" in paper and "Time: " in paper
    result = hub.cli("drawer", "receipt", "--reason", "change for a 100")
    assert result.returncode == 0, result.stderr
    assert "[DRAWER pin=2" in sim.wait_paper("[DRAWER")
    status, audit = hub.api("GET", "/api/v1/audit?action=drawer.opened", token=hub.admin_token)
    assert status == 200 and len(audit["entries"]) == 1
    assert audit["entries"][0]["target"] == "receipt" and audit["entries"][0]["actor"].startswith("admin:")


def test_cli_tables_json_and_errors(hub: HubProcess) -> None:
    result = hub.cli("devices")
    assert result.returncode == 0 and "receipt" in result.stdout and "online" in result.stdout
    result = hub.cli("status", "--json")
    status = json.loads(result.stdout)
    assert result.returncode == 0 and status["name"] == "test-hub" and status["devices"][0]["id"] == "receipt"
    result = hub.cli("print-test", "no-such-printer")
    assert result.returncode == 1 and "no-such-printer" in result.stderr
    result = hub.cli("pair")
    assert result.returncode == 0 and "Pairing code:" in result.stdout
    hub.stop()
    result = hub.cli("status")
    assert result.returncode == 3 and "not running" in result.stderr


async def _collect(
    url: str, token: str, last_id: int, until: Any, timeout: float = 15.0
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{url}/api/v1/events?last_id={last_id}", headers={"Authorization": f"Bearer {token}"}
        ) as ws,
    ):
        async with asyncio.timeout(timeout):
            async for message in ws:
                messages.append(json.loads(message.data))
                if until(messages):
                    break
    return messages


def test_websocket_events_and_replay_after_reconnect(hub: HubProcess, sim: PrinterSim) -> None:
    token = hub.token

    def job_done(messages: list[dict[str, Any]]) -> bool:
        return any(m.get("type") == "job.updated" and m["data"]["state"] == "done" for m in messages)

    async def scenario() -> None:
        listener = asyncio.create_task(_collect(hub.url, token, 0, job_done))
        await asyncio.sleep(0.3)
        status, job = await asyncio.to_thread(
            hub.api, "POST", "/api/v1/devices/receipt/jobs", {"document": receipt("WS one")}
        )
        assert status == 201
        seen = await listener
        assert seen[0]["type"] == "hello"
        events = [m for m in seen if "id" in m]
        ids = [m["id"] for m in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        states = [
            m["data"]["state"]
            for m in events
            if m["type"].startswith("job.") and m["data"]["id"] == job["id"]
        ]
        assert states == ["queued", "printing", "done"]
        last_seen = ids[-1]
        # The tablet drops off the Wi-Fi; two receipts print meanwhile.
        for title in ("WS two", "WS three"):
            status, missed_job = await asyncio.to_thread(
                hub.api, "POST", "/api/v1/devices/receipt/jobs", {"document": receipt(title)}
            )
            await asyncio.to_thread(hub.wait_job, missed_job["id"])
        replayed = await _collect(
            hub.url,
            token,
            last_seen,
            lambda ms: (
                sum(1 for m in ms if m.get("type") == "job.updated" and m["data"]["state"] == "done") >= 2
            ),
        )
        replay_ids = [m["id"] for m in replayed if "id" in m]
        assert replay_ids and replay_ids[0] == last_seen + 1, "nothing missed after the last seen id"
        assert all(i > last_seen for i in replay_ids), "nothing repeated"

    asyncio.run(scenario())


def test_websocket_token_in_query(hub: HubProcess) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{hub.url}/api/v1/events?token={hub.token}") as ws:
                hello = json.loads((await ws.receive(timeout=5)).data)
                assert hello["type"] == "hello"
            response = await session.get(
                f"{hub.url}/api/v1/events?last_id=x",
                headers={"Authorization": f"Bearer {hub.token}"},
            )
            assert response.status == 400

    asyncio.run(scenario())
