"""The e-mail queue on a real SQLite store: one message per key, backoff, give-up, recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.db.database import Database
from hub.domain.clock import parse_iso
from hub.domain.email_outbox import EmailOutbox, message_id
from hub.domain.errors import Conflict, Invalid
from hub.domain.events import EventLog


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[EmailOutbox]:
    db = Database(tmp_path / "hub.db")
    await db.open()
    try:
        yield EmailOutbox(db, EventLog(db), max_attempts=3, backoff_s=(10, 100))
    finally:
        await db.close()


async def queue(box: EmailOutbox, key: str, to: str = "kupac@example.ba") -> int:
    async with box._db.transaction() as tx:
        return await box.enqueue(tx, to=to, subject="Račun", text="UKUPNO 1.00", idempotency_key=key)


async def test_the_same_key_queues_one_message(outbox: EmailOutbox) -> None:
    first = await queue(outbox, "sale-1")
    assert await queue(outbox, "sale-1") == first
    with pytest.raises(Conflict):
        await queue(outbox, "sale-1", to="drugi@example.ba")
    assert [e.id for e in await outbox.list()] == [first]


async def test_bad_address_is_refused(outbox: EmailOutbox) -> None:
    for address in ("", "kupac", "a@b", "two@a.ba, three@b.ba", "x y@z.ba"):
        with pytest.raises(Invalid):
            await queue(outbox, f"bad-{address}", to=address)
    assert await outbox.list() == []


async def test_backoff_then_give_up(outbox: EmailOutbox) -> None:
    email_id = await queue(outbox, "sale-2")
    claimed = await outbox.claim_due()
    assert claimed is not None and claimed.id == email_id
    assert await outbox.claim_due() is None  # it is being sent: nobody else takes it
    assert await outbox.mark_failed(email_id, "connection refused") == "queued"
    first = await outbox.get(email_id)
    created = parse_iso(first.created_at)
    assert 9 <= (parse_iso(first.next_attempt_at) - created).total_seconds() <= 11
    assert await outbox.claim_due() is None  # not due yet
    async with outbox._db.transaction() as tx:  # time passes
        await tx.execute("UPDATE emails SET next_attempt_at = created_at")
    assert (await outbox.claim_due()) is not None
    assert await outbox.mark_failed(email_id, "connection refused") == "queued"
    second = await outbox.get(email_id)
    assert 99 <= (parse_iso(second.next_attempt_at) - created).total_seconds() <= 102
    async with outbox._db.transaction() as tx:
        await tx.execute("UPDATE emails SET next_attempt_at = created_at")
    await outbox.claim_due()
    assert await outbox.mark_failed(email_id, "connection refused") == "failed"
    failed = await outbox.get(email_id)
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 3, "connection refused")
    assert (await outbox.retry(email_id)).state == "queued"


async def test_a_send_interrupted_by_a_crash_is_queued_again(outbox: EmailOutbox) -> None:
    email_id = await queue(outbox, "sale-3")
    await outbox.claim_due()  # the hub dies here, mid-send
    assert (await outbox.get(email_id)).state == "sending"
    assert await outbox.recover() == 1
    again = await outbox.claim_due()
    assert again is not None and again.id == email_id
    # The repeat carries the same Message-ID, so the receiver can tell it is the same message.
    assert message_id(again.idempotency_key, "zeljo.ba") == "<sale-3@zeljo.ba>"
