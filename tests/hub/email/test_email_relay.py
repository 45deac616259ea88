"""The relay worker in-process, on a real SQLite store and a real SMTP server (aiosmtpd).

No test sleeps and then asserts: each waits for a state (a message arrived, a row changed) with
a deadline, and the backoff schedule is injected short so retries happen within the test.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import SmtpSection
from hub.db.database import Database
from hub.devices.email_relay import EmailRelay
from hub.domain.clock import parse_iso
from hub.domain.email_outbox import EmailOutbox, EmailView
from hub.domain.errors import Invalid
from hub.domain.events import EventLog
from tests.support.smtp_sink import SmtpSink

TO = "kupac@example.ba"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, what: str = "") -> Any:
    """Poll the async ``check`` until it returns something truthy (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


async def until_messages(sink: SmtpSink, count: int) -> None:
    async def arrived() -> bool:
        return len(sink.messages) >= count

    await eventually(arrived, what=f"{count} message(s) at the SMTP server")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.collector.hold = None
        server.stop()


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[EmailOutbox]:
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        yield EmailOutbox(db, EventLog(db), max_attempts=5, backoff_s=(0.1, 0.2))
    finally:
        await db.close()


@pytest.fixture
def config(sink: SmtpSink) -> SmtpSection:
    return SmtpSection(
        enabled=True,
        host="127.0.0.1",
        port=sink.port,
        security="none",
        from_addr="racuni@zeljo.ba",
        timeout_s=5,
    )


@pytest.fixture
async def relay(outbox: EmailOutbox, config: SmtpSection) -> AsyncIterator[EmailRelay]:
    worker = EmailRelay(outbox, config)
    try:
        yield worker
    finally:
        await worker.stop()


async def queue(box: EmailOutbox, key: str, to: str = TO, **extra: Any) -> int:
    async with box._db.transaction() as tx:
        return await box.enqueue(
            tx,
            to=to,
            subject="Račun T1-R-000001",
            text="Ćevapi 10 kom\nUKUPNO 11.70",
            idempotency_key=key,
            **extra,
        )


async def state_of(box: EmailOutbox, email_id: int, *states: str) -> EmailView | None:
    view = await box.get(email_id)
    return view if view.state in states else None


async def test_sent_once_with_a_message_id_from_the_key(
    outbox: EmailOutbox, relay: EmailRelay, sink: SmtpSink
) -> None:
    pdf = ("T1-F-000001.pdf", "application/pdf", b"%PDF-1.4 test")
    email_id = await queue(outbox, "sale-1", attachment=pdf)
    assert await queue(outbox, "sale-1", attachment=pdf) == email_id  # a retried request
    await relay.start()
    sent = await eventually(lambda: state_of(outbox, email_id, "sent"), what="sent")
    assert sent.attempts == 1 and sent.sent_at is not None and sent.last_error is None
    (message,) = sink.messages
    assert message["To"] == TO and message["Subject"] == "Račun T1-R-000001"
    assert message["Message-ID"] == "<sale-1@zeljo.ba>"
    assert message["From"] == "racuni@zeljo.ba"
    assert "Ćevapi 10 kom" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "T1-F-000001.pdf" and attachment.get_content() == b"%PDF-1.4 test"
    assert [e.id for e in await outbox.list()] == [email_id]


async def test_a_queued_message_wakes_the_idle_relay(
    outbox: EmailOutbox, relay: EmailRelay, sink: SmtpSink
) -> None:
    await relay.start()  # nothing queued: it waits (up to its 30 s idle poll) for a wake-up
    await asyncio.sleep(0)
    email_id = await queue(outbox, "sale-2")
    await until_messages(sink, 1)  # well before the idle poll: the commit woke it
    await eventually(lambda: state_of(outbox, email_id, "sent"), what="sent")


async def test_relay_down_retries_with_backoff_then_delivers(
    outbox: EmailOutbox, relay: EmailRelay, sink: SmtpSink
) -> None:
    sink.stop()
    email_id = await queue(outbox, "sale-3")
    await relay.start()

    async def retried() -> EmailView | None:
        view = await outbox.get(email_id)
        return view if view.attempts >= 2 and view.state == "queued" else None

    pending = await eventually(retried, what="two failed attempts")
    assert pending.last_error and "Connection" in pending.last_error
    assert sink.messages == []
    sink.start()
    await until_messages(sink, 1)
    sent = await eventually(lambda: state_of(outbox, email_id, "sent"), what="sent")
    assert sent.attempts >= 3 and sent.last_error is None
    assert len(sink.messages) == 1


async def test_backoff_schedule_spaces_the_attempts(outbox: EmailOutbox) -> None:
    email_id = await queue(outbox, "sale-4")
    gaps = []
    for _ in range(3):
        claimed = await outbox.claim_due()
        assert claimed is not None
        before = time.time()
        await outbox.mark_failed(email_id, "connection refused")
        view = await outbox.get(email_id)
        gaps.append(parse_iso(view.next_attempt_at).timestamp() - before)
        async with outbox._db.transaction() as tx:  # the delay has passed
            await tx.execute("UPDATE emails SET next_attempt_at = created_at")
    # 0.1 s, then 0.2 s, then the last delay repeats (plus the time the update itself took).
    for gap, expected in zip(gaps, (0.1, 0.2, 0.2), strict=True):
        assert expected - 0.002 <= gap < expected + 0.5, gaps


async def test_a_send_cut_by_a_crash_goes_out_again_with_the_same_message_id(
    outbox: EmailOutbox, config: SmtpSection, sink: SmtpSink
) -> None:
    email_id = await queue(outbox, "sale-5")
    assert await outbox.claim_due() is not None  # the old process claimed it, then died
    assert (await outbox.get(email_id)).state == "sending"
    relay = EmailRelay(outbox, config)  # the restarted hub
    await relay.start()
    try:
        sent = await eventually(lambda: state_of(outbox, email_id, "sent"), what="sent")
    finally:
        await relay.stop()
    assert sent.attempts == 2
    (message,) = sink.messages
    assert message["Message-ID"] == "<sale-5@zeljo.ba>"


async def test_a_refused_mailbox_fails_at_once_and_a_person_can_retry(
    outbox: EmailOutbox, relay: EmailRelay, sink: SmtpSink
) -> None:
    sink.collector.refuse.add("nema@example.ba")
    email_id = await queue(outbox, "sale-6", to="nema@example.ba")
    await relay.start()
    failed = await eventually(lambda: state_of(outbox, email_id, "failed"), what="failed")
    assert failed.attempts == 1 and failed.last_error and "550" in failed.last_error
    sink.collector.refuse.clear()  # the customer's mailbox is fixed
    assert (await outbox.retry(email_id)).state in ("queued", "sending", "sent")
    await eventually(lambda: state_of(outbox, email_id, "sent"), what="sent after retry")
    assert len(sink.messages) == 1


async def test_a_bad_address_is_refused_and_rolls_back_the_whole_transaction(outbox: EmailOutbox) -> None:
    with pytest.raises(Invalid) as caught:
        async with outbox._db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('sale', 'written with the e-mail')")
            await outbox.enqueue(tx, to="kupac@", subject="x", text="x", idempotency_key="sale-7")
    assert caught.value.code == "invalid_email"
    assert await outbox._db.fetchone("SELECT 1 FROM meta WHERE key = 'sale'") is None
    assert await outbox.list() == []


async def test_stop_lets_the_send_in_flight_finish(
    outbox: EmailOutbox, config: SmtpSection, sink: SmtpSink
) -> None:
    sink.collector.hold = release = threading.Event()
    email_id = await queue(outbox, "sale-8")
    relay = EmailRelay(outbox, config)
    await relay.start()
    await eventually(lambda: asyncio.to_thread(sink.collector.holding.is_set), what="send in flight")
    stopping = asyncio.create_task(relay.stop())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the server's answer, not cancelling the send
    release.set()
    await stopping
    # Marked sent before the relay stopped: a restart will not send it a second time.
    assert (await outbox.get(email_id)).state == "sent"
    assert len(sink.messages) == 1
