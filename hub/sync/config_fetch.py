"""Fetch and apply the configuration the cloud wants (``down/config``).

The retained :class:`~protocols.sync.messages.DesiredConfig` names a version and where to GET
the delta. When it is newer than the applied version (and is not the version last rejected),
the hub GETs ``fetch_url?since=<applied>`` with its broker username and password as HTTP Basic
credentials (a ``/path`` is relative to the cloud URL the hub was claimed from; https is
verified against the hub's cloud CA file when it has one), applies the delta in one
transaction (:mod:`hub.domain.cloud_config`), then publishes its reported state so
``up/state`` carries the new ``config_version``, or the rejection and why.

One fetch runs at a time, in one task. A DesiredConfig arriving meanwhile is remembered (the
newest wins) and handled after. Network errors and 5xx answers are retried with backoff; a
4xx is not (the next DesiredConfig, e.g. the retained one after a reconnect, tries again).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from yarl import URL

from hub.config import SyncSection
from hub.domain.cloud_config import AppliedConfig, CloudConfig
from protocols.sync import SyncDecodeError
from protocols.sync.config import decode_delta
from protocols.sync.messages import DesiredConfig

log = logging.getLogger(__name__)

BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
TIMEOUT_S = 60.0
MAX_BYTES = 64 * 1024 * 1024


class FetchFailed(Exception):
    """The delta could not be fetched; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class ConfigFetcher:
    """Follows ``down/config``; :meth:`offer` each message, :meth:`start` / :meth:`stop` the task."""

    def __init__(
        self,
        config: CloudConfig,
        section: SyncSection,
        *,
        cloud_url: str = "",
        backoff_s: Sequence[float] = BACKOFF_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.config = config
        self.section = section
        self.cloud_url = cloud_url
        self.backoff_s = tuple(backoff_s)
        self.timeout_s = timeout_s
        self.on_change: Callable[[], Awaitable[None]] | None = None
        self.last_error: str | None = None  # the last fetch problem (not a rejection)
        self._wanted: DesiredConfig | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def offer(self, desired: DesiredConfig) -> None:
        """A DesiredConfig arrived: remember it (the newest wins) and wake the fetch task."""
        if self._wanted is None or desired.version >= self._wanted.version:
            self._wanted = desired
            self._idle.clear()
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="config-fetch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def settled(self) -> None:
        """Wait until every offered DesiredConfig has been handled (tests, shutdown)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            desired, self._wanted = self._wanted, None
            if desired is not None:
                try:
                    await self.follow(desired)
                except Exception as exc:  # keep following: the next DesiredConfig tries again
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("config fetch failed", extra={"version": desired.version})
            if self._wanted is None:
                self._idle.set()

    async def follow(self, desired: DesiredConfig) -> AppliedConfig | None:
        """Fetch and apply ``desired`` if it is new; None when there was nothing to do."""
        state = await self.config.state()
        if desired.version <= state.applied_version:
            return None
        if desired.version == state.rejected_version:
            return None  # refused once; only a newer version is fetched again
        if not desired.fetch_url:
            self.last_error = f"config version {desired.version} names no fetch_url"
            log.warning("desired config without a fetch URL", extra={"version": desired.version})
            return None
        try:
            url = self.url_for(desired.fetch_url, state.applied_version)
        except FetchFailed as exc:
            self.last_error = f"config version {desired.version}: {exc}"
            log.warning("config not fetchable", extra={"version": desired.version, "error": str(exc)})
            return None
        body = await self._fetch_with_retry(url, desired.version)
        if body is None:
            return None
        try:
            delta = decode_delta(body)
        except SyncDecodeError as exc:
            await self.config.reject(desired.version, str(exc))
            await self._changed()
            return None
        if self.section.store and delta.store != self.section.store:
            error = f"config delta is for store {delta.store!r}, this hub is in store {self.section.store!r}"
            await self.config.reject(desired.version, error)
            await self._changed()
            return None
        result = await self.config.apply(delta)
        self.last_error = None
        await self._changed()
        return result

    def url_for(self, fetch_url: str, since: int) -> URL:
        if fetch_url.startswith("/"):
            if not self.cloud_url:
                raise FetchFailed("the fetch URL is relative but the hub has no cloud URL", retry=False)
            url = URL(self.cloud_url.rstrip("/") + fetch_url)
        else:
            url = URL(fetch_url)
        if url.scheme not in ("http", "https"):
            raise FetchFailed(f"unsupported fetch URL {fetch_url!r}", retry=False)
        return url.update_query(since=str(since))

    async def _fetch_with_retry(self, url: URL, version: int) -> bytes | None:
        failures = 0
        while True:
            try:
                return await self.fetch(url)
            except FetchFailed as exc:
                self.last_error = f"fetching config version {version}: {exc}"
                log.warning("config fetch failed", extra={"url": str(url.with_user(None)), "error": str(exc)})
                if not exc.retry:
                    return None
            delay = self.backoff_s[min(failures, len(self.backoff_s) - 1)]
            failures += 1
            # A newer DesiredConfig ends the wait: the run loop fetches that one instead.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            if self._wanted is not None:
                if self._wanted.version > version:
                    return None
                # The same version again (a reconnect re-delivers the retained message).
                self._wanted = None
                self._wake.clear()

    def _ssl(self, url: URL) -> ssl.SSLContext | bool:
        if url.scheme != "https":
            return False
        return ssl.create_default_context(cafile=self.section.ca_file or None)

    async def fetch(self, url: URL) -> bytes:
        """GET the delta with the hub's broker credentials; :class:`FetchFailed` when it fails."""
        credentials = f"{self.section.username}:{self.section.password}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers, ssl=self._ssl(url), allow_redirects=False) as response,
            ):
                if response.status != 200:
                    text = (await response.content.read(300)).decode("utf-8", "replace")
                    raise FetchFailed(f"HTTP {response.status}: {text}", retry=response.status >= 500)
                parts: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise FetchFailed(f"the delta is larger than {MAX_BYTES} bytes", retry=False)
                    parts.append(chunk)
                return b"".join(parts)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise FetchFailed(f"{type(exc).__name__}: {exc}", retry=True) from None

    async def _changed(self) -> None:
        if self.on_change is not None:
            await self.on_change()
