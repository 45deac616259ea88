"""Durable e-mail: receipts and invoices queued with the sale, sent by the relay with retries.

States: ``queued -> sending -> sent``; back to ``queued`` with a growing delay when the relay
fails (5 s, 30 s, 2 min, 10 min, then hourly), ``failed`` after ``max_attempts``; a person can
retry a failed message. A message is committed in the sale's own transaction, so a sale and
its e-mail exist together or not at all.

Delivery is at least once: if the hub dies between the SMTP server's "250 OK" and marking the
row sent, the message goes out again after the restart. Its ``Message-ID`` is derived from the
idempotency key, so the receiving mail system (and the customer's client) can recognise the
repeat as the same message.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

from hub.db.database import Database, Transaction
from hub.domain.clock import iso_in, now_iso
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.events import EventLog

EmailState = Literal["queued", "sending", "sent", "failed"]
BACKOFF_S: tuple[float, ...] = (5, 30, 120, 600, 3600)
ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[A-Za-z]{2,}$")


class EmailView(msgspec.Struct, kw_only=True):
    """An e-mail as the API lists it (without the body and attachment)."""

    id: int
    to_addr: str
    subject: str
    state: EmailState
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    has_attachment: bool


class OutgoingEmail(msgspec.Struct, kw_only=True):
    """What the relay sends."""

    id: int
    idempotency_key: str
    to_addr: str
    subject: str
    body: str
    attachment: tuple[str, str, bytes] | None


def validate_address(address: str) -> str:
    """``address`` trimmed, or :class:`Invalid` (``invalid_email``).

    Deliberately simple: one mailbox, a dot in the domain, no spaces, commas or angle brackets
    (which would smuggle a second recipient or a header into the message). Whether the mailbox
    exists is the receiving server's answer, recorded as a permanent failure.
    """
    address = address.strip()
    if len(address) > 254 or not ADDRESS.match(address):
        raise Invalid("invalid_email", f"{address!r} is not an e-mail address")
    return address


def message_id(key: str, domain: str) -> str:
    """A stable Message-ID: the same queued message always carries the same one."""
    safe = re.sub(r"[^A-Za-z0-9.\-_]", "-", key)
    return f"<{safe}@{domain}>"


_COLUMNS = (
    "id, to_addr, subject, state, attempts, next_attempt_at, last_error, created_at, sent_at, attachment_name"
)


def _view(row: sqlite3.Row) -> EmailView:
    return EmailView(
        id=row["id"],
        to_addr=row["to_addr"],
        subject=row["subject"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        has_attachment=row["attachment_name"] is not None,
    )


class EmailOutbox:
    """The queue of e-mails; :class:`hub.devices.email_relay.EmailRelay` drains it."""

    def __init__(
        self, db: Database, events: EventLog, *, max_attempts: int = 8, backoff_s: Sequence[float] = BACKOFF_S
    ) -> None:
        self._db = db
        self._events = events
        self.max_attempts = max_attempts
        self._backoff = tuple(backoff_s)
        self._wake: Callable[[], None] | None = None

    def on_enqueue(self, wake: Callable[[], None]) -> None:
        """Called after a transaction that queued mail commits (the relay's wake-up)."""
        self._wake = wake

    async def enqueue(
        self,
        tx: Transaction,
        *,
        to: str,
        subject: str,
        text: str,
        idempotency_key: str,
        attachment: tuple[str, str, bytes] | None = None,
    ) -> int:
        """Queue a message inside ``tx``; the same key again returns the first message's id."""
        address = validate_address(to)
        name, mime, data = attachment if attachment else (None, None, None)
        at = now_iso()
        row = await tx.fetchone(
            "INSERT INTO emails (idempotency_key, to_addr, subject, body, attachment_name, attachment_type, attachment, "
            "state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            (idempotency_key, address, subject, text, name, mime, data, at, at),
        )
        if row is None:
            existing = await tx.fetchone(
                "SELECT id, to_addr FROM emails WHERE idempotency_key = ?", (idempotency_key,)
            )
            assert existing is not None
            if existing["to_addr"] != address:
                raise Conflict(
                    "idempotency_conflict", f"e-mail {idempotency_key!r} was queued for another address"
                )
            return int(existing["id"])
        await self._events.append(tx, "email.queued", {"id": row["id"], "to": address})
        if self._wake is not None:
            tx.after_commit(self._wake)
        return int(row["id"])

    async def recover(self) -> int:
        """At start-up: messages caught mid-send go back to the queue (at least once)."""
        async with self._db.transaction() as tx:
            cursor = await tx.execute("UPDATE emails SET state = 'queued' WHERE state = 'sending'")
            return int(cursor.rowcount)

    async def claim_due(self) -> OutgoingEmail | None:
        """The oldest message whose time has come, marked ``sending``; None when none is due."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE emails SET state = 'sending', attempts = attempts + 1 WHERE id = ("
                "SELECT id FROM emails WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1"
                ") RETURNING *",
                (now_iso(),),
            )
        if row is None:
            return None
        attachment = None
        if row["attachment_name"] is not None:
            attachment = (row["attachment_name"], row["attachment_type"], bytes(row["attachment"]))
        return OutgoingEmail(
            id=row["id"],
            idempotency_key=row["idempotency_key"],
            to_addr=row["to_addr"],
            subject=row["subject"],
            body=row["body"],
            attachment=attachment,
        )

    async def next_due_at(self) -> str | None:
        """When the earliest queued message is due (ISO UTC), or None with an empty queue."""
        row = await self._db.fetchone("SELECT MIN(next_attempt_at) AS at FROM emails WHERE state = 'queued'")
        return None if row is None else row["at"]

    async def mark_sent(self, email_id: int) -> None:
        """The relay accepted the message: it is done."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE emails SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                (now_iso(), email_id),
            )
            await self._events.append(tx, "email.sent", {"id": email_id})

    async def mark_failed(self, email_id: int, error: str, *, permanent: bool = False) -> EmailState:
        """Record a failed attempt: back to the queue after the next delay, or ``failed``."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT attempts FROM emails WHERE id = ?", (email_id,))
            attempts = int(row["attempts"]) if row else self.max_attempts
            state: EmailState = "failed" if permanent or attempts >= self.max_attempts else "queued"
            delay = self._backoff[min(attempts, len(self._backoff)) - 1] if attempts else 0
            await tx.execute(
                "UPDATE emails SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (state, error[:500], iso_in(delay), email_id),
            )
            await self._events.append(
                tx,
                f"email.{'failed' if state == 'failed' else 'retrying'}",
                {"id": email_id, "error": error[:200]},
            )
        return state

    async def retry(self, email_id: int) -> EmailView:
        """Send a failed message again now (a person fixed the relay or the address)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT state FROM emails WHERE id = ?", (email_id,))
            if row is None:
                raise NotFound("email_not_found", f"no e-mail {email_id}")
            if row["state"] != "failed":
                raise Conflict("email_not_failed", f"e-mail {email_id} is {row['state']}")
            await tx.execute(
                "UPDATE emails SET state = 'queued', attempts = 0, next_attempt_at = ? WHERE id = ?",
                (now_iso(), email_id),
            )
            if self._wake is not None:
                tx.after_commit(self._wake)
        return await self.get(email_id)

    async def get(self, email_id: int) -> EmailView:
        """One message's state, or :class:`NotFound`."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM emails WHERE id = ?", (email_id,))  # noqa: S608
        if row is None:
            raise NotFound("email_not_found", f"no e-mail {email_id}")
        return _view(row)

    async def list(self, *, state: str | None = None, limit: int = 100) -> list[EmailView]:
        """The newest ``limit`` messages, optionally only those in ``state``."""
        where, params = ("state = ?", (state, limit)) if state else ("1", (limit,))
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM emails WHERE {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            params,
        )
        return [_view(r) for r in rows]
