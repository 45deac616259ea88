"""The RKSV adapter end to end: a cashbox's receipts, idempotency, the failed signature device.

Every journal is checked with :func:`protocols.signing.rksv_verify.verify_chain` against the
signer's public key and the AES key, the way the BMF test tool checks a DEP export.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import Busy, Declined, DeviceOffline
from drivers.signing.rksv import (
    InMemoryRksvStore,
    RksvAdapter,
    RksvState,
    RksvStoreConflict,
    SignerFailed,
    SoftwareSigner,
)
from protocols.fiscal.receipt import FiscalItem, FiscalPayment, FiscalReceipt, FiscalResult
from protocols.signing import rksv
from protocols.signing.rksv_verify import VerifiedReceipt, verify_chain

AES = bytes(range(100, 132))
PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


class FlakySigner:
    """The software signer with a switch that makes the device fail."""

    def __init__(self) -> None:
        self.inner = SoftwareSigner(PEM, "U:ATU12345678-K1")
        self.failing = False
        self.calls = 0

    @property
    def certificate_serial(self) -> str:
        return self.inner.certificate_serial

    async def sign(self, data: bytes) -> bytes:
        self.calls += 1
        if self.failing:
            raise SignerFailed("card removed")
        return await self.inner.sign(data)


class Cashbox:
    def __init__(self) -> None:
        self.signer = FlakySigner()
        self.store = InMemoryRksvStore()
        self.adapter = RksvAdapter(
            cashbox_id="WIEN-1", aes_key=base64.b64encode(AES).decode(), signer=self.signer, store=self.store
        )

    def verify(self) -> list[VerifiedReceipt]:
        chain = [str(result.details["jws"]) for result in self.store.journal]
        return verify_chain(chain, cashbox_id="WIEN-1", aes_key=AES, public_key=self.signer.inner.public_key)

    def kinds(self) -> list[Any]:
        return [result.details["receipt_type"] for result in self.store.journal]


@pytest.fixture
def box() -> Cashbox:
    return Cashbox()


def receipt(key: str, at: str, *lines: tuple[str, int], **fields: Any) -> FiscalReceipt:
    items = [
        FiscalItem(
            name=f"item {n}", quantity="1", unit_price=cents, total=cents, tax_group="A", tax_rate=rate
        )
        for n, (rate, cents) in enumerate(lines)
    ]
    total = sum(cents for _, cents in lines)
    return FiscalReceipt(
        request_id=key,
        kind=fields.pop("kind", "sale"),
        number=f"T1-R-{key}",
        at=at,
        cashier="anna",
        items=items,
        payments=[FiscalPayment(type="cash", amount=total)],
        total=total,
        **fields,
    )


def issued_before(result: FiscalResult) -> list[dict[str, Any]]:
    """The null receipts issued ahead of ``result``, as plain data."""
    before = result.details["issued_before"]
    assert isinstance(before, list)
    return before


def counter(result: FiscalResult) -> int:
    details = result.details
    return rksv.decrypt_turnover(str(details["turnover_encrypted"]), AES, "WIEN-1", result.fiscal_number)


async def test_a_cashbox_month_verifies_and_counts_every_cent(box: Cashbox) -> None:
    start = await box.adapter.start_receipt("start", "2026-01-30T08:00:00+01:00")
    assert start.fiscal_number == "1" and start.print_lines[0] == "Startbeleg"
    assert start.qr_data.startswith("_R1-AT0_WIEN-1_1_2026-01-30T08:00:00_0,00_0,00_0,00_0,00_0,00_")
    sale = await box.adapter.sign(
        receipt("s1", "2026-01-30T09:15:00+01:00", ("20", 1200), ("10", 450), ("13", 99))
    )
    assert sale.details["amounts"] == {
        "normal": 1200,
        "reduced_1": 450,
        "reduced_2": 99,
        "zero": 0,
        "special": 0,
    }
    assert "_12,00_4,50_0,99_0,00_0,00_" in sale.qr_data and counter(sale) == 1749
    refund = await box.adapter.sign(receipt("r1", "2026-01-30T10:00:00+01:00", ("20", 500), kind="refund"))
    assert "_-5,00_0,00_" in refund.qr_data and counter(refund) == 1249
    training = await box.adapter.sign(receipt("t1", "2026-01-30T11:00:00+01:00", ("20", 800), training=True))
    assert training.details["turnover_encrypted"] == "VFJB" and training.print_lines[0] == "Trainingsbuchung"
    storno = await box.adapter.sign(
        receipt("x1", "2026-01-31T12:00:00+01:00", ("10", 450), kind="refund", refund_of_number="2")
    )
    assert storno.details["turnover_encrypted"] == "U1RP" and storno.print_lines[0] == "Stornobuchung"
    assert storno.details["turnover_counter"] == 799
    february = await box.adapter.sign(receipt("s2", "2026-02-02T09:00:00+01:00", ("19", 1000), ("0", 1)))
    (month,) = issued_before(february)
    assert month["details"]["receipt_type"] == "month" and month["print_lines"][0] == "Monatsbeleg"
    assert counter(february) == 1800
    assert box.kinds() == ["start", "standard", "standard", "training", "storno", "month", "standard"]
    assert [r.turnover for r in box.verify()] == [0, 1749, 1249, 1249, 799, 799, 1800]


async def test_the_first_sale_issues_the_start_receipt_and_times_are_local(box: Cashbox) -> None:
    # 01:30 UTC on the day summer time starts is 03:30 in Vienna.
    sale = await box.adapter.sign(receipt("s1", "2026-03-29T01:30:00+00:00", ("20", 100)))
    assert sale.details["issued_at"] == "2026-03-29T03:30:00"
    assert sale.fiscalised_at == "2026-03-29T03:30:00+02:00" and sale.device_serial == "WIEN-1"
    (start,) = issued_before(sale)
    assert start["details"]["receipt_type"] == "start"
    late = await box.adapter.sign(receipt("s2", "2026-03-29T03:00:00+02:00", ("20", 100)))
    assert late.details["issued_at"] == "2026-03-29T03:30:00"  # never before the previous receipt
    box.verify()


async def test_the_same_request_twice_gives_the_same_receipt_once(box: Cashbox) -> None:
    first = await box.adapter.sign(receipt("s1", "2026-04-01T09:00:00+02:00", ("20", 700)))
    again = await box.adapter.sign(receipt("s1", "2026-04-01T09:00:00+02:00", ("20", 700)))
    both = await asyncio.gather(
        *(box.adapter.sign(receipt("s2", "2026-04-01T10:00:00+02:00", ("20", 5))) for _ in "ab")
    )
    assert again == first and both[0] == both[1]
    assert len(box.store.journal) == 3 and box.signer.calls == 3
    state = await box.store.load()
    assert state is not None and state.turnover == 705 and state.last_receipt_number == 3


async def test_a_failed_signature_device_still_chains_counts_and_prints_the_text(box: Cashbox) -> None:
    await box.adapter.sign(receipt("s1", "2026-05-04T09:00:00+02:00", ("20", 1000)))
    box.signer.failing = True
    failed = await box.adapter.sign(receipt("s2", "2026-05-04T10:00:00+02:00", ("20", 250)))
    assert "Sicherheitseinrichtung ausgefallen" in failed.print_lines and failed.details["signed"] is False
    assert failed.qr_data.endswith("_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg==")
    assert str(failed.details["jws"]).endswith(".U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg")
    also = await box.adapter.sign(receipt("s3", "2026-05-04T11:00:00+02:00", ("10", 100)))
    assert counter(also) == 1350 and also.details["issued_before"] == []
    box.signer.failing = False
    back = await box.adapter.sign(receipt("s4", "2026-05-04T12:00:00+02:00", ("20", 50)))
    (recovery,) = issued_before(back)
    assert recovery["details"]["receipt_type"] == "recovery" and recovery["details"]["signed"] is True
    assert back.details["signed"] is True
    assert [r.signed for r in box.verify()] == [True, True, False, False, True, True]


async def test_no_start_receipt_without_a_signature(box: Cashbox) -> None:
    box.signer.failing = True
    with pytest.raises(DeviceOffline):
        await box.adapter.sign(receipt("s1", "2026-06-01T09:00:00+02:00", ("20", 100)))
    assert box.store.journal == []
    box.signer.failing = False
    sale = await box.adapter.sign(receipt("s1", "2026-06-01T09:00:00+02:00", ("20", 100)))
    assert sale.fiscal_number == "2"
    with pytest.raises(Declined):
        await box.adapter.start_receipt("start-again", "2026-06-01T10:00:00+02:00")


async def test_the_year_receipt_is_owed_until_the_device_signs_again(box: Cashbox) -> None:
    await box.adapter.sign(receipt("s1", "2026-12-30T09:00:00+01:00", ("20", 100)))
    box.signer.failing = True
    january = await box.adapter.sign(receipt("s2", "2027-01-02T09:00:00+01:00", ("20", 100)))
    (closing,) = issued_before(january)
    assert closing["details"]["receipt_type"] == "month" and closing["details"]["signed"] is False
    with pytest.raises(DeviceOffline):
        await box.adapter.year_receipt("y2026", "2027-01-02T10:00:00+01:00")
    box.signer.failing = False
    later = await box.adapter.sign(receipt("s3", "2027-01-03T09:00:00+01:00", ("20", 100)))
    (year,) = issued_before(later)
    assert year["details"]["receipt_type"] == "year" and year["print_lines"][0] == "Jahresbeleg"
    assert box.kinds() == ["start", "standard", "month", "standard", "year", "standard"]
    box.verify()
    state = await box.store.load()
    assert state is not None and state.year_closed == 2026 and state.year_due == 0


async def test_december_month_receipt_is_the_year_receipt(box: Cashbox) -> None:
    await box.adapter.sign(receipt("s1", "2026-12-15T09:00:00+01:00", ("20", 100)))
    year = await box.adapter.month_receipt("m-2026-12", "2026-12-31T23:00:00+01:00")
    assert year.details["receipt_type"] == "year" and year.print_lines[0] == "Jahresbeleg"
    assert await box.adapter.month_receipt("m-2026-12", "2026-12-31T23:00:00+01:00") == year
    january = await box.adapter.sign(receipt("s2", "2027-01-02T09:00:00+01:00", ("20", 100)))
    assert january.details["issued_before"] == []  # 2026 is closed already
    box.verify()


async def test_an_explicit_closing_replaces_the_one_due_anyway(box: Cashbox) -> None:
    await box.adapter.sign(receipt("s1", "2026-12-20T09:00:00+01:00", ("20", 100)))
    closing = await box.adapter.month_receipt("m1", "2027-01-01T00:05:00+01:00")
    assert closing.details["receipt_type"] == "year" and issued_before(closing) == []
    await box.adapter.sign(receipt("s2", "2027-01-05T09:00:00+01:00", ("20", 100)))
    month = await box.adapter.month_receipt("m2", "2027-02-01T00:05:00+01:00")
    assert month.details["receipt_type"] == "month" and issued_before(month) == []
    with pytest.raises(Declined, match="2026"):
        await box.adapter.year_receipt("y1", "2027-02-01T00:10:00+01:00")
    assert box.kinds() == ["start", "standard", "year", "standard", "month"]
    box.verify()


async def test_a_year_receipt_in_january_closes_the_old_year_once(box: Cashbox) -> None:
    await box.adapter.sign(receipt("s1", "2026-12-20T09:00:00+01:00", ("20", 100)))
    year = await box.adapter.year_receipt("y1", "2027-01-01T00:05:00+01:00")
    assert year.details["receipt_type"] == "year" and issued_before(year) == []
    sale = await box.adapter.sign(receipt("s2", "2027-01-02T09:00:00+01:00", ("20", 100)))
    assert issued_before(sale) == []
    assert box.kinds() == ["start", "standard", "year", "standard"]


async def test_bad_receipts_are_declined(box: Cashbox) -> None:
    bad_total = receipt("s1", "2026-07-01T09:00:00+02:00", ("20", 100))
    with pytest.raises(Declined):
        await box.adapter.sign(FiscalReceipt(**{**_fields(bad_total), "total": 101}))
    with pytest.raises(Declined):
        await box.adapter.sign(FiscalReceipt(**{**_fields(bad_total), "currency_exponent": 3}))
    with pytest.raises(Declined):
        await box.adapter.sign(FiscalReceipt(**{**_fields(bad_total), "at": "yesterday"}))
    assert box.store.journal == []


def _fields(value: FiscalReceipt) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__struct_fields__}


async def test_a_store_conflict_is_busy_unless_the_request_is_stored() -> None:
    class RacedStore(InMemoryRksvStore):
        async def commit(self, request_id: str, state: RksvState, result: FiscalResult) -> None:
            raise RksvStoreConflict("another hub process wrote receipt 1")

    box = Cashbox()
    box.adapter = RksvAdapter(
        cashbox_id="WIEN-1", aes_key=base64.b64encode(AES).decode(), signer=box.signer, store=RacedStore()
    )
    with pytest.raises(Busy):
        await box.adapter.sign(receipt("s1", "2026-08-01T09:00:00+02:00", ("20", 100)))


async def test_a_crash_before_the_commit_leaves_nothing_and_the_retry_reuses_the_number() -> None:
    class CrashingStore(InMemoryRksvStore):
        crash = True

        async def commit(self, request_id: str, state: RksvState, result: FiscalResult) -> None:
            if request_id == "s2" and self.crash:
                self.crash = False
                raise RuntimeError("power cut")
            await super().commit(request_id, state, result)

    box = Cashbox()
    box.store = CrashingStore()
    box.adapter = RksvAdapter(
        cashbox_id="WIEN-1", aes_key=base64.b64encode(AES).decode(), signer=box.signer, store=box.store
    )
    await box.adapter.sign(receipt("s1", "2026-10-01T09:00:00+02:00", ("20", 100)))
    with pytest.raises(RuntimeError):
        await box.adapter.sign(receipt("s2", "2026-10-01T10:00:00+02:00", ("20", 200)))
    retried = await box.adapter.sign(receipt("s2", "2026-10-01T10:00:00+02:00", ("20", 200)))
    assert retried.fiscal_number == "3" and counter(retried) == 300
    assert [r.turnover for r in box.verify()] == [0, 100, 300]


def test_configuration_is_checked() -> None:
    signer = FlakySigner()
    store = InMemoryRksvStore()
    with pytest.raises(ValueError, match="AES"):
        RksvAdapter(cashbox_id="K", aes_key=base64.b64encode(b"short").decode(), signer=signer, store=store)
    with pytest.raises(ValueError, match="hex certificate serial"):
        RksvAdapter(
            cashbox_id="K", aes_key=base64.b64encode(AES).decode(), signer=signer, store=store, zda="AT1"
        )
    with pytest.raises(ValueError, match="'_'"):
        RksvAdapter(cashbox_id="K_1", aes_key=base64.b64encode(AES).decode(), signer=signer, store=store)
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="P-256"):
        SoftwareSigner(p384, "U:ATU12345678-K1")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(["sale", "refund"]), st.integers(min_value=1, max_value=10**6)), max_size=10
    )
)
def test_the_decrypted_counter_is_the_sum_of_any_sales_and_refunds(moves: list[tuple[str, int]]) -> None:
    async def run() -> None:
        box = Cashbox()
        expected = 0
        for n, (kind, cents) in enumerate(moves):
            expected += cents if kind == "sale" else -cents
            result = await box.adapter.sign(
                receipt(f"k{n}", "2026-09-01T09:00:00+02:00", ("20", cents), kind=kind)
            )
            assert counter(result) == expected
        verified = box.verify()
        assert [r.turnover for r in verified][-1:] == ([expected] if moves else [])

    asyncio.run(run())
