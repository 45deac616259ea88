"""Structured logs to stdout, one line per record, friendly to journald, plus a recent-records ring.

Under systemd (``JOURNAL_STREAM`` set) each line starts with ``<N>``, the syslog priority,
which journald strips and stores, so ``journalctl -p warning`` works. The rest of the line is a
JSON object (``format = "json"``) or ``key=value`` text.

:data:`RECENT` keeps the last records in memory so ``smartpos-hub logs`` and the diagnostics
bundle can show them through the API without reading the journal (which needs root or the
systemd-journal group, and is absent when the hub runs outside systemd).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import msgspec

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def __init__(self, *, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        return f"<{_PRIORITY.get(record.levelno, 6)}>{line}" if self.journald else line


class TextFormatter(logging.Formatter):
    def __init__(self, *, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
            for k, v in _extras(record).items()
        )
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}" + (
            f" {fields}" if fields else ""
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if self.journald:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{line}"
        return f"{self.formatTime(record, '%H:%M:%S')} {line}"


def setup_logging(level: str = "info", fmt: str = "json") -> None:
    journald = bool(os.environ.get("JOURNAL_STREAM"))
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(journald=journald) if fmt == "json" else TextFormatter(journald=journald)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler, RECENT]
    root.setLevel(level.upper())
    # aiohttp's access log is one line per request: useful when debugging, noise at info.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # aiosqlite logs two debug lines for every query: noise that costs milliseconds per request.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


LEVELS = ("debug", "info", "warning", "error", "critical")
RING_SIZE = 2000  # about 1 MB: minutes of debug chatter, hours of warnings on a quiet hub


class LogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One log record as the API returns it; ``device`` is lifted out of the extras to filter on."""

    id: int
    time: str
    level: str
    logger: str
    message: str
    device: str | None = None
    extra: dict[str, Any] = {}
    exc: str | None = None


class LogPage(msgspec.Struct, frozen=True):
    """Records oldest first; ask for the next ones with ``after=last_id``."""

    records: list[LogEntry]
    last_id: int


def _plain(value: Any) -> Any:
    """A JSON-safe copy of an extra: records carry paths, enums and exceptions as well."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


class _Waiter:
    """A long-poll waiting for the next record; ``released`` ends it early (hub shutdown)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.released = False

    def wake(self) -> None:
        # Records are emitted from any thread (aiosqlite's, device I/O threads): hand the wake-up
        # to the waiter's own loop. A loop already closed has no one left to wake.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.event.set)


class RecentLogs(logging.Handler):
    """A bounded in-memory ring of the latest records, each with an increasing id.

    Ids start at 1 in every process and never repeat within it, so a client can page forward
    with ``after=<last id seen>``; the oldest records fall off once ``capacity`` is reached.
    """

    def __init__(self, capacity: int = RING_SIZE) -> None:
        super().__init__(logging.NOTSET)
        self._ring: collections.deque[tuple[int, LogEntry]] = collections.deque(maxlen=capacity)
        self._next_id = 1
        self._guard = threading.Lock()
        self._waiters: set[_Waiter] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            extra = {k: _plain(v) for k, v in _extras(record).items()}
            device = extra.pop("device", None)
            entry_fields: dict[str, Any] = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
                "device": None if device is None else str(device),
                "extra": extra,
                "exc": logging.Formatter().formatException(record.exc_info) if record.exc_info else None,
            }
        except Exception:
            self.handleError(record)
            return
        with self._guard:
            entry = LogEntry(id=self._next_id, **entry_fields)
            self._next_id += 1
            self._ring.append((record.levelno, entry))
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.wake()

    @property
    def last_id(self) -> int:
        with self._guard:
            return self._next_id - 1

    def query(
        self,
        *,
        after: int | None = None,
        device: str | None = None,
        level: str | None = None,
        limit: int = 200,
    ) -> LogPage:
        """Matching records, oldest first.

        With ``after``: the first ``limit`` records past it, so following loses nothing. Without:
        the newest ``limit`` (what ``logs --lines N`` shows). ``last_id`` is where to continue:
        past records skipped by the filters too, so a quiet filter does not rescan them.
        """
        floor = logging.getLevelName(level.upper()) if level else logging.NOTSET
        with self._guard:
            newest = self._next_id - 1
            ring = list(self._ring)
        if after is not None and after > newest:
            after = 0  # the id is from before a hub restart: this process counts from 1 again
        start = 0
        if after is not None and ring:
            start = max(0, after + 1 - ring[0][1].id)  # ids in the ring are contiguous
        matches = [
            entry
            for levelno, entry in itertools.islice(ring, start, None)
            if levelno >= floor and (device is None or entry.device == device)
        ]
        if after is None:
            return LogPage(records=matches[-limit:] if limit else [], last_id=newest)
        if len(matches) > limit:
            chosen = matches[:limit]
            return LogPage(records=chosen, last_id=chosen[-1].id if chosen else after)
        return LogPage(records=matches, last_id=newest)

    async def wait(
        self,
        *,
        after: int | None,
        device: str | None = None,
        level: str | None = None,
        limit: int = 200,
        timeout: float = 0.0,
    ) -> LogPage:
        """Like :meth:`query`, but when nothing matches wait up to ``timeout`` s for a record that does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = _Waiter()
            # Registered before the query, so a record emitted in between still wakes us.
            with self._guard:
                self._waiters.add(waiter)
            try:
                page = self.query(after=after, device=device, level=level, limit=limit)
                remaining = deadline - loop.time()
                if page.records or remaining <= 0:
                    return page
                after = page.last_id
                try:
                    async with asyncio.timeout(remaining):
                        await waiter.event.wait()
                except TimeoutError:
                    return self.query(after=after, device=device, level=level, limit=limit)
                if waiter.released:
                    return self.query(after=after, device=device, level=level, limit=limit)
            finally:
                with self._guard:
                    self._waiters.discard(waiter)

    def release_waiters(self) -> None:
        """Answer every pending long-poll now (the API is shutting down and must not wait for them)."""
        with self._guard:
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.released = True
            waiter.wake()


RECENT = RecentLogs()
