"""The delivery worker: posts due webhook deliveries, retries with backoff, disables dead endpoints.

It runs as an asyncio task in the cloud process (started and stopped with the app). Every
delivery is a row, so nothing is lost when the process stops; several workers (processes) may
run against one database:

- **Claim.** A due row (``pending``, ``next_attempt_at`` reached, endpoint active) is claimed by
  a conditional UPDATE that moves ``next_attempt_at`` past a lease and sets a fresh
  ``claim_token``; a second worker's UPDATE then matches no row, so two workers never send the
  same row at once. A worker that dies mid-attempt leaves the row to be retried when the lease
  ends. The attempt is counted at the claim, so a crash cannot hide one.
- **Secret.** The endpoint's signing secret is decrypted for the claim
  (:mod:`cloud.domain.webhooks.sealing`). If it does not decrypt (wrong or missing key, a value
  altered or copied from another endpoint), nothing is sent: the error is logged and the attempt
  fails with the reason, like a refused request. At start the worker seals the plain secrets
  left from before secrets were encrypted.
- **Send.** One POST with the signed headers (:mod:`cloud.domain.webhooks.signing`), a total
  timeout and no redirects; at most ``concurrency`` requests in flight, so a slow receiver
  never holds the loop or the other endpoints back for longer than the timeout. Unless the
  policy allows private networks, only public addresses are contacted (checked on the address
  actually connected to, after DNS), so a webhook cannot be aimed at the cloud's own network.
- **Record.** Only the holder of the claim token may record the outcome. 2xx: delivered. Anything
  else (status, timeout, connection error): retried after the backoff of the attempt, with
  jitter, until ``max_attempts`` (then ``failed``, kept in the log). Each failed attempt counts
  against the endpoint; after ``disable_after_failures`` failures in a row, or failures for
  ``disable_after_s`` without a success, the endpoint is disabled with the reason. Its pending
  deliveries wait, and resume when an admin enables it again.

Receivers get at-least-once delivery (a crash between their 2xx and our commit means one more
attempt with the same ``X-SmartPOS-Delivery`` id) and no ordering guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
import msgspec
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.base import utcnow
from cloud.db.models_integrations import WebhookDelivery, WebhookEndpoint
from cloud.domain.webhooks import signing
from cloud.domain.webhooks.sealing import SecretUnavailable, open_secret, seal_plain_secrets, secret_box
from cloud.security import SecretBox
from cloud.settings import Settings

log = logging.getLogger(__name__)
ERROR_MAX = 500
SEAL_RETRY_S = 60.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timing and limits of the worker; tests pass a fast one.

    ``backoff_s[n]`` is the wait after the (n+1)-th failed attempt; past the end the last value
    repeats (the cap). ``jitter`` spreads each wait by up to that fraction either way.
    """

    backoff_s: tuple[float, ...] = (10.0, 30.0, 120.0, 600.0, 3600.0)
    jitter: float = 0.2
    max_attempts: int = 30
    disable_after_failures: int = 20
    disable_after_s: float = 24 * 3600.0
    timeout_s: float = 10.0
    lease_s: float = 120.0
    concurrency: int = 8
    batch: int = 50
    poll_s: float = 1.0
    # Development and tests post to 127.0.0.1; production keeps this off (see the module docstring).
    allow_private_networks: bool = False

    def __post_init__(self) -> None:
        if not self.backoff_s or self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("a delivery policy needs a backoff, a concurrency and attempts")
        if self.lease_s <= self.timeout_s:
            raise ValueError("the claim lease must outlast the request timeout")

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        """Seconds to wait after ``failed_attempts`` failures of one delivery."""
        base = self.backoff_s[min(max(failed_attempts, 1), len(self.backoff_s)) - 1]
        return max(0.0, base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter))


def is_public(address: str) -> bool:
    """True for a globally routable IP address (not loopback, private, link-local, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return ip.is_global


def literal_ip(host: str) -> bool:
    """True when ``host`` is an IP address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class PublicResolver(ThreadedResolver):
    """A resolver that hands aiohttp only public addresses (OSError when a name has none)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await super().resolve(host, port, family)
        public = [r for r in found if is_public(r["host"])]
        if not public:
            raise OSError(f"{host} has no public address")
        return public


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker holds: what it needs to send and to record the outcome.

    ``secret`` is the plain signing secret; when it could not be decrypted it is empty and
    ``secret_error`` says why (the attempt then fails without sending).
    """

    id: uuid.UUID
    token: uuid.UUID
    attempts: int
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_id: uuid.UUID
    event_type: str
    body: str
    secret_error: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went."""

    ok: bool
    status: int | None
    error: str | None


class DeliveryWorker:
    """Sends webhook deliveries from the database; see the module docstring.

    ``secrets`` opens the endpoints' sealed secrets; without one the worker uses the key the
    environment's settings name for its database (what the API seals with when the app runs
    on ``Settings.from_env()``).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: DeliveryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        secrets: SecretBox | None = None,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._seal_at: float | None = 0.0  # when to seal legacy plain secrets; None once done
        self.policy = policy or DeliveryPolicy()
        self._clock = clock
        self._rng = rng or random.Random()  # jitter, not a secret
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._stopping = False

    async def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Stop claiming, give attempts in flight up to one timeout, then cancel what is left.

        A cancelled attempt keeps its claim until the lease ends and is retried then.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self.policy.timeout_s + 1)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            resolver = None if self.policy.allow_private_networks else PublicResolver()
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s),
                connector=aiohttp.TCPConnector(limit=self.policy.concurrency, resolver=resolver),
            )
        return self._http

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        errors = 0
        while not self._stopping:
            started = 0
            try:
                started = await self.run_once()
                errors = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                # e.g. the database is down or not migrated yet: say so, then poll less often
                if errors == 0 or errors % 20 == 0:
                    log.exception("webhook delivery round failed")
                errors += 1
            if started and len(self._inflight) < self.policy.concurrency:
                await asyncio.sleep(0)  # more may be due: claim again at once
                continue
            self._wake.clear()
            pause = self.policy.poll_s * min(2**errors, 60) if errors else self.policy.poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    @property
    def secrets(self) -> SecretBox:
        """The box that opens the endpoints' secrets."""
        if self._secrets is None:
            bind = self._sessions.kw.get("bind")
            settings = Settings.from_env()
            if bind is not None:
                settings = msgspec.structs.replace(
                    settings, db_url=bind.url.render_as_string(hide_password=False)
                )
            self._secrets = secret_box(settings)
        return self._secrets

    async def seal_legacy_secrets(self) -> None:
        """Seal plain secrets left from before encryption (once; retried a minute after a failure).

        Until then, and if it keeps failing, plain secrets are still read and signed with.
        """
        if self._seal_at is None or time.monotonic() < self._seal_at:
            return
        try:
            async with self._sessions() as session:
                await seal_plain_secrets(session, self.secrets)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sealing the plain webhook secrets failed; retrying in %g s", SEAL_RETRY_S)
            self._seal_at = time.monotonic() + SEAL_RETRY_S
            return
        self._seal_at = None

    async def run_once(self) -> int:
        """Claim what is due, up to the free concurrency, and start sending; returns how many."""
        await self.seal_legacy_secrets()
        free = self.policy.concurrency - len(self._inflight)
        if free <= 0 or self._stopping:
            return 0
        claims = await self.claim(min(free, self.policy.batch))
        for claim in claims:
            task = asyncio.create_task(self._deliver(claim), name=f"webhook-{claim.id}")
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(claims)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not self._stopping:
            self._wake.set()  # a slot is free

    async def claim(self, limit: int) -> list[Claim]:
        """Claim up to ``limit`` due deliveries of active endpoints (oldest due first)."""
        now = self._clock()
        lease_until = now + timedelta(seconds=self.policy.lease_s)
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.attempts)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                        WebhookEndpoint.active.is_(True),
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                )
            ).all()
            claimed: list[tuple[uuid.UUID, uuid.UUID]] = []
            for row in due:
                token = uuid.uuid4()
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == row.id,
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .values(
                        next_attempt_at=lease_until,
                        claim_token=token,
                        attempts=WebhookDelivery.attempts + 1,
                        last_attempt_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((row.id, token))
            await session.commit()
            if not claimed:
                return []
            tokens = dict(claimed)
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(WebhookDelivery.id.in_(tokens))
                )
            ).all()
        return [
            self._claim(d, tokens[d.id], url, stored)
            for d, url, stored in rows
            if d.claim_token == tokens[d.id]
        ]

    def _claim(self, delivery: WebhookDelivery, token: uuid.UUID, url: str, stored: str) -> Claim:
        """A claim with the endpoint's secret decrypted, or with the reason it is not."""
        secret, error = "", None
        try:
            secret = open_secret(self.secrets, delivery.endpoint_id, stored)
        except SecretUnavailable as exc:
            error = f"not sent: {exc}; fix the key or rotate the endpoint's secret"[:ERROR_MAX]
            log.error("webhook endpoint %s, delivery %s: %s", delivery.endpoint_id, delivery.id, error)
        return Claim(
            id=delivery.id,
            token=token,
            attempts=delivery.attempts,
            endpoint_id=delivery.endpoint_id,
            url=url,
            secret=secret,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            body=delivery.body,
            secret_error=error,
        )

    async def _deliver(self, claim: Claim) -> None:
        try:
            outcome = await self.send(claim)
            await self.record(claim, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery %s: recording the attempt failed", claim.id)

    async def send(self, claim: Claim) -> Outcome:
        """One POST of ``claim``'s body, signed now; never raises for the receiver's faults.

        The HTTP client is made on first use (and closed by :meth:`stop`).
        """
        if claim.secret_error is not None or not claim.secret:
            return Outcome(False, None, claim.secret_error or "not sent: no signing secret")
        host = urlsplit(claim.url).hostname or ""
        if not self.policy.allow_private_networks and literal_ip(host) and not is_public(host):
            return Outcome(False, None, f"refused: {host} is not a public address")
        body = claim.body.encode()
        headers = signing.headers(
            secret=claim.secret,
            event_type=claim.event_type,
            event_id=str(claim.event_id),
            timestamp=int(time.time()),
            body=body,
        )
        try:
            async with self._client().post(
                claim.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self.policy.timeout_s:g} s")
        except aiohttp.ClientConnectorError as exc:
            return Outcome(
                False, None, f"{type(exc).__name__}: {exc.host}:{exc.port}: {exc.os_error}"[:ERROR_MAX]
            )
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX])
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"HTTP {status}")

    async def record(self, claim: Claim, outcome: Outcome) -> None:
        """Write the attempt's outcome, if the claim is still ours; may disable the endpoint."""
        now = self._clock()
        policy = self.policy
        async with self._sessions() as session:
            mine = (WebhookDelivery.id == claim.id, WebhookDelivery.claim_token == claim.token)
            if outcome.ok:
                values: dict[str, object] = {
                    "status": "delivered", "delivered_at": now, "next_attempt_at": None,
                    "last_status_code": outcome.status, "last_error": None, "claim_token": None,
                }  # fmt: skip
            else:
                final = claim.attempts >= policy.max_attempts
                retry_at = now + timedelta(seconds=policy.delay(claim.attempts, self._rng))
                values = {
                    "status": "failed" if final else "pending", "next_attempt_at": None if final else retry_at,
                    "last_status_code": outcome.status, "last_error": outcome.error, "claim_token": None,
                }  # fmt: skip
            result = await session.execute(
                update(WebhookDelivery)
                .where(*mine)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                log.warning("webhook delivery %s: claim lost before the outcome was recorded", claim.id)
                await session.rollback()
                return
            endpoint = WebhookEndpoint.id == claim.endpoint_id
            if outcome.ok:
                await session.execute(
                    update(WebhookEndpoint)
                    .where(endpoint, WebhookEndpoint.consecutive_failures != 0)
                    .values(consecutive_failures=0, failing_since=None)
                    .execution_options(synchronize_session=False)
                )
            else:
                await session.execute(
                    update(WebhookEndpoint)
                    .where(endpoint)
                    .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
                    .execution_options(synchronize_session=False)
                )
                await session.execute(
                    update(WebhookEndpoint)
                    .where(endpoint, WebhookEndpoint.failing_since.is_(None))
                    .values(failing_since=now)
                    .execution_options(synchronize_session=False)
                )
                await self._maybe_disable(session, claim.endpoint_id, now, outcome)
            await session.commit()

    async def _maybe_disable(
        self, session: AsyncSession, endpoint_id: uuid.UUID, now: datetime, outcome: Outcome
    ) -> None:
        row = (
            await session.execute(
                select(WebhookEndpoint.consecutive_failures, WebhookEndpoint.failing_since).where(
                    WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True)
                )
            )
        ).first()
        if row is None:
            return
        failures, since = row
        policy = self.policy
        reason = None
        if failures >= policy.disable_after_failures:
            reason = f"{failures} delivery attempts failed in a row"
        elif since is not None and (now - since).total_seconds() >= policy.disable_after_s:
            reason = f"deliveries failing since {since.isoformat()}"
        if reason is None:
            return
        reason = f"{reason} (last: {outcome.error})"
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True))
            .values(active=False, disabled_reason=reason, disabled_at=now)
            .execution_options(synchronize_session=False)
        )
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
