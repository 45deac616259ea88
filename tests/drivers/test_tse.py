"""The TSE adapter against ``smartpos-sim tse`` (a fiskaly SIGN DE v2-style TSS) as a real process.

Signatures are checked with the public key the TSE answered, over the message the simulator
documents: ``FinishTransaction;`` followed by QR code fields 2 to 8.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from drivers.errors import Declined, DeviceOffline
from drivers.signing.tse import TseAdapter, TseOptions, iso_time, qr_code_data
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt
from tests.support.procs import free_port, wait_for
from tests.support.signing_sims import CLIENT_ID, CLIENT_SERIAL, TSS_ID, TseSim

ANSWER_FIELDS = [
    "number",
    "time_start",
    "time_end",
    "state",
    "revision",
    "latest_revision",
    "signature",
    "tss_id",
    "tss_serial_number",
    "client_id",
    "client_serial_number",
    "schema",
    "log",
    "qr_code_data",
    "_id",
    "_type",
]


@pytest.fixture
def tse(tmp_path: Path) -> Iterator[TseSim]:
    sim = TseSim(tmp_path).start()
    yield sim
    sim.stop()


def options(sim: TseSim, **overrides: Any) -> TseOptions:
    values: dict[str, Any] = {
        "url": sim.url + "/api/v2",
        "tss_id": TSS_ID,
        "client_id": CLIENT_ID,
        "api_key": "sim-api-key",
        "api_secret": "sim-api-secret",
        "timeout": 2.0,
        "attempts": 3,
        "retry_delay": 0.05,
    }
    return msgspec.convert(values | overrides, TseOptions)


@pytest.fixture
async def adapter(tse: TseSim) -> AsyncIterator[TseAdapter]:
    signer = TseAdapter(options(tse))
    yield signer
    await signer.close()


def receipt(request_id: str = "sale-1", **changes: Any) -> FiscalReceipt:
    """Coffee beans at 19 % and milk at 7 %, 5.00 cash and 4.50 by card."""
    values: dict[str, Any] = {
        "request_id": request_id,
        "kind": "sale",
        "number": "T1-R-000001",
        "at": "2026-05-04T10:15:00+02:00",
        "cashier": "Jonas",
        "items": [
            FiscalItem(name="Kaffee", quantity="1", unit_price=750, total=750, tax_group="A", tax_rate="19"),
            FiscalItem(name="Milch", quantity="2", unit_price=100, total=200, tax_group="B", tax_rate="7"),
        ],
        "payments": [FiscalPayment(type="cash", amount=500), FiscalPayment(type="card", amount=450)],
        "total": 950,
    }
    return FiscalReceipt(**(values | changes))


def verify_qr(qr: str) -> list[str]:
    """Check the QR code's signature with its own public key; returns its twelve fields."""
    fields = qr.split(";")
    assert len(fields) == 12, qr
    raw = base64.b64decode(fields[10])
    assert len(raw) == 64  # ecdsa-plain: r and s, 32 bytes each
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), base64.b64decode(fields[11]))
    message = ";".join(["FinishTransaction", *fields[1:8]]).encode()
    key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    return fields


async def test_sale_is_signed_and_every_answer_field_kept(tse: TseSim, adapter: TseAdapter) -> None:
    result = await adapter.sign(receipt())
    tx: dict[str, Any] = result.details
    assert set(ANSWER_FIELDS) <= set(tx)
    assert tx["_id"] == adapter.transaction_id(receipt())
    assert (tx["state"], tx["revision"], tx["number"]) == ("FINISHED", 3, 1)
    assert result.fiscal_number == "1"
    assert result.device_serial == tx["tss_serial_number"] == tse.listening["serial_number"]
    public_key = base64.b64decode(tx["signature"]["public_key"])
    assert result.device_serial == hashlib.sha256(public_key).hexdigest()  # BSI: serial = hash of key
    assert result.fiscalised_at == iso_time(tx["time_end"])
    assert result.qr_data == tx["qr_code_data"] == qr_code_data(tx)
    fields = verify_qr(result.qr_data)
    assert fields[:6] == ["V0", CLIENT_SERIAL, "Kassenbeleg-V1", tx_process_data(), "1", "3"]
    assert fields[6:10] == [
        iso_time(tx["time_start"]),
        iso_time(tx["time_end"]),
        "ecdsa-plain-SHA256",
        tx["log"]["timestamp_format"],
    ]
    assert fields[10:] == [tx["signature"]["value"], tse.listening["public_key"]]
    assert result.print_lines[:2] == ["TSE-Transaktion: 1", f"TSE-Start: {fields[6]}"]
    assert "TSE-Signaturzähler: 3" in result.print_lines
    assert f"TSE-Signatur: {fields[10]}" in result.print_lines
    assert f"TSE-Seriennummer: {result.device_serial}" in result.print_lines
    [record] = tse.transactions()
    assert (record["state"], record["latest_revision"], record["signature_counters"]) == (
        "FINISHED",
        3,
        [1, 2, 3],
    )


def tx_process_data(sign: str = "", bon: str = "Beleg") -> str:
    """The processData of :func:`receipt`: 7.50 at 19 %, 2.00 at 7 %; 5.00 cash, 4.50 card."""
    return f"{bon}^{sign}7.50_{sign}2.00_0.00_0.00_0.00^{sign}5.00:Bar_{sign}4.50:Unbar"


async def test_a_forged_amount_does_not_verify(adapter: TseAdapter) -> None:
    qr = (await adapter.sign(receipt())).qr_data
    forged = qr.replace("^5.00:Bar_4.50:Unbar", "^4.00:Bar_4.50:Unbar")
    with pytest.raises(InvalidSignature):
        verify_qr(forged)


async def test_refund_has_negative_amounts(tse: TseSim, adapter: TseAdapter) -> None:
    await adapter.sign(receipt())
    refund = await adapter.sign(receipt("refund-1", kind="refund", refund_of_number="1"))
    fields = verify_qr(refund.qr_data)
    assert fields[3] == tx_process_data("-")
    assert (fields[4], refund.fiscal_number) == ("2", "2")
    details: dict[str, Any] = refund.details
    amounts = details["schema"]["standard_v1"]["receipt"]["amounts_per_vat_rate"]
    assert amounts == [
        {"vat_rate": "NORMAL", "amount": "-7.50"},
        {"vat_rate": "REDUCED_1", "amount": "-2.00"},
    ]
    assert len(tse.transactions()) == 2


async def test_training_receipt_is_marked_as_training(adapter: TseAdapter) -> None:
    result = await adapter.sign(receipt("training-1", training=True))
    assert verify_qr(result.qr_data)[3] == tx_process_data(bon="AVTraining")
    details: dict[str, Any] = result.details
    assert details["schema"]["standard_v1"]["receipt"]["receipt_type"] == "TRAINING"


async def test_answer_lost_after_finish_returns_the_same_signature(tse: TseSim, adapter: TseAdapter) -> None:
    tse.faults(drop=1, revision=3)
    first = await adapter.sign(receipt("lost-1"))
    again = TseAdapter(options(tse))  # as after a restart of the hub
    try:
        second = await again.sign(receipt("lost-1"))
    finally:
        await again.close()
    assert second == first
    [record] = tse.transactions()
    assert (record["latest_revision"], record["signature_counters"]) == (3, [1, 2, 3])


async def test_server_error_once_is_retried_and_signed_once(tse: TseSim, adapter: TseAdapter) -> None:
    tse.faults(fail=1)
    result = await adapter.sign(receipt("fail-1"))
    verify_qr(result.qr_data)
    [record] = tse.transactions()
    assert (record["state"], record["latest_revision"], record["signature_counters"]) == (
        "FINISHED",
        3,
        [1, 2, 3],
    )
    assert tse.faults()["fail"] == 0


async def test_crash_between_update_and_finish_is_finished_by_a_new_adapter(tse: TseSim) -> None:
    tse.faults(slow=1, slow_seconds=3.0, revision=2)  # time enough to "crash" before it answers
    crashed = TseAdapter(options(tse, timeout=5.0))
    task = asyncio.create_task(crashed.sign(receipt("crash-1")))

    def updated() -> bool:
        return any(record["latest_revision"] == 2 for record in tse.transactions())

    await asyncio.to_thread(wait_for, updated, 5.0, 0.02, "the update to be applied")
    task.cancel()  # the process dies with the update signed and its answer still on the way
    with pytest.raises(asyncio.CancelledError):
        await task
    await crashed.close()
    [record] = tse.transactions()
    assert (record["state"], record["latest_revision"]) == ("ACTIVE", 2)

    successor = TseAdapter(options(tse))
    try:
        result = await successor.sign(receipt("crash-1"))
    finally:
        await successor.close()
    verify_qr(result.qr_data)
    assert result.details["_id"] == record["_id"]
    [record] = tse.transactions()
    assert (record["state"], record["latest_revision"], record["signature_counters"]) == (
        "FINISHED",
        3,
        [1, 2, 3],
    )


async def test_errors_past_the_attempts_leave_the_transaction_for_later(
    tse: TseSim, adapter: TseAdapter
) -> None:
    tse.faults(fail=3, revision=3)
    with pytest.raises(DeviceOffline, match="HTTP 500") as caught:
        await adapter.sign(receipt("later-1"))
    assert caught.value.sent
    [record] = tse.transactions()
    assert (record["state"], record["latest_revision"]) == ("ACTIVE", 2)
    result = await adapter.sign(receipt("later-1"))
    assert result.details["revision"] == 3


async def test_unknown_vat_rate_is_declined_before_anything_is_sent(tse: TseSim, adapter: TseAdapter) -> None:
    item = FiscalItem(name="Buch", quantity="1", unit_price=500, total=500, tax_group="C", tax_rate="16")
    with pytest.raises(Declined, match="tax rate 16% has no TSE VAT rate") as caught:
        await adapter.sign(receipt("bad-1", items=[item], payments=[FiscalPayment(type="cash", amount=500)]))
    assert not caught.value.sent
    assert tse.transactions() == []


async def test_unregistered_client_is_declined_with_the_tse_reason(tse: TseSim) -> None:
    signer = TseAdapter(options(tse, client_id="0b7f3c1e-2d4a-4e5f-8a6b-000000000000"))
    try:
        with pytest.raises(Declined, match="E_CLIENT_NOT_FOUND"):
            await signer.sign(receipt())
    finally:
        await signer.close()
    assert tse.transactions() == []


async def test_wrong_credentials_keep_the_tse_unusable(tse: TseSim) -> None:
    signer = TseAdapter(options(tse, api_secret="wrong"))
    try:
        with pytest.raises(DeviceOffline, match="refused api_key/api_secret"):
            await signer.sign(receipt())
    finally:
        await signer.close()


async def test_expired_token_is_renewed(tmp_path: Path) -> None:
    sim = TseSim(tmp_path, "--token-ttl", "1").start()
    signer = TseAdapter(options(sim))
    try:
        await signer.sign(receipt("first"))
        await asyncio.sleep(1.1)
        result = await signer.sign(receipt("second"))
    finally:
        await signer.close()
        sim.stop()
    assert result.fiscal_number == "2"


async def test_unreachable_tse_is_offline_and_nothing_was_sent() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v2"
    signer = TseAdapter(
        TseOptions(url=url, tss_id=TSS_ID, client_id=CLIENT_ID, api_key="k", api_secret="s", retry_delay=0.01)
    )
    try:
        with pytest.raises(DeviceOffline, match="cannot connect") as caught:
            await signer.sign(receipt())
    finally:
        await signer.close()
    assert not caught.value.sent
