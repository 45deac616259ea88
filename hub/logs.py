"""Structured logs to stdout, one line per record, friendly to journald.

Under systemd (``JOURNAL_STREAM`` set) each line starts with ``<N>``, the syslog priority,
which journald strips and stores, so ``journalctl -p warning`` works. The rest of the line is a
JSON object (``format = "json"``) or ``key=value`` text.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

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
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is one line per request: useful when debugging, noise at info.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # aiosqlite logs two debug lines for every query: noise that costs milliseconds per request.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
