"""The SMTP relay worker: drains :class:`hub.domain.email_outbox.EmailOutbox`.

One message at a time, in order of due time. smtplib is blocking, so each send runs in a
worker thread; the asyncio loop only decides what to send and records the outcome. A refused
recipient (a 5xx answer about the address) is permanent; a connection problem or a 4xx answer
is retried with the outbox's backoff. The worker sleeps until the next message is due or until
a sale queues a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from hub.config import SmtpSection
from hub.domain.clock import now, parse_iso
from hub.domain.email_outbox import EmailOutbox, OutgoingEmail, message_id

log = logging.getLogger(__name__)
IDLE_POLL_S = 30.0
ERROR_PAUSE_S = 1.0
# How long shutdown waits for a send in flight; well inside systemd's stop timeout.
STOP_GRACE_S = 10.0


def build_message(email: OutgoingEmail, config: SmtpSection) -> EmailMessage:
    """The MIME message for ``email``; the same row always gets the same ``Message-ID``."""
    message = EmailMessage()
    message["From"] = (
        formataddr((config.from_name, config.from_addr)) if config.from_name else config.from_addr
    )
    message["To"] = email.to_addr
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(email.idempotency_key, config.from_addr.split("@", 1)[1])
    message.set_content(email.body)
    if email.attachment is not None:
        name, mime, data = email.attachment
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def send_blocking(message: EmailMessage, config: SmtpSection) -> None:
    """Deliver one message to the relay (runs in a thread)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    with client:
        if config.security == "starttls":
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password)
        client.send_message(message)


def is_permanent(exc: Exception) -> bool:
    """A 5xx about the recipient will not get better by retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500 and exc.smtp_code != 554


class EmailRelay:
    """Sends queued e-mail through the configured SMTP relay; start with :meth:`start`."""

    def __init__(self, outbox: EmailOutbox, config: SmtpSection) -> None:
        self._outbox = outbox
        self._config = config
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        outbox.on_enqueue(self._wake.set)

    async def start(self) -> None:
        recovered = await self._outbox.recover()
        if recovered:
            log.warning("e-mails interrupted mid-send are queued again", extra={"count": recovered})
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="email-relay")

    async def stop(self) -> None:
        """Stop after the message in flight, if any, or cancel it after :data:`STOP_GRACE_S`.

        Waiting for the send in flight spares the customer a second copy: a send cancelled
        half-way stays ``sending`` and goes out again after the restart (at least once).
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking at the queue, never after: a message queued while we look
            # sets it again, so the wait below returns at once instead of sleeping past it.
            self._wake.clear()
            try:
                email = await self._outbox.claim_due()
                if email is None:
                    await self._sleep_until_due()
                    continue
                await self._send(email)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store was busy or failed: keep the relay alive and look again shortly.
                # A message claimed before the failure stays ``sending`` until the next start.
                log.exception("e-mail relay error")
                await asyncio.sleep(ERROR_PAUSE_S)

    async def _sleep_until_due(self) -> None:
        due = await self._outbox.next_due_at()
        delay = IDLE_POLL_S if due is None else max(0.05, (parse_iso(due) - now()).total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=min(delay, IDLE_POLL_S))

    async def _send(self, email: OutgoingEmail) -> None:
        try:
            message = build_message(email, self._config)
        except (ValueError, TypeError) as exc:
            # A message that cannot be built (a line break in the subject, a bad MIME type)
            # will not build next time either.
            await self._outbox.mark_failed(email.id, f"unsendable: {exc}", permanent=True)
            log.error("e-mail cannot be built", extra={"email_id": email.id, "error": str(exc)})
            return
        try:
            await asyncio.to_thread(send_blocking, message, self._config)
        except (OSError, smtplib.SMTPException) as exc:
            permanent = isinstance(exc, smtplib.SMTPException) and is_permanent(exc)
            state = await self._outbox.mark_failed(
                email.id, f"{type(exc).__name__}: {exc}", permanent=permanent
            )
            log.warning("e-mail not sent", extra={"email_id": email.id, "error": str(exc), "state": state})
            return
        await self._outbox.mark_sent(email.id)
        log.info("e-mail sent", extra={"email_id": email.id})
