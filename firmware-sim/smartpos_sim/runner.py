"""What every simulator process shares: JSON lines on stderr, signals, the exit status.

A simulator's ``run(args)`` hands its coroutine to :func:`run_service`, which turns the usual
start-up failures (a port taken, a link path that is not ours) into one ``error`` line and
exit status 1; the coroutine takes over the signals with :func:`stop_on_signals`, announces
itself with :func:`emit` and then waits for that event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def emit(event: dict[str, Any]) -> None:
    """Write one compact JSON line to stderr, flushed (tests read it as soon as it is written)."""
    print(json.dumps(event, separators=(",", ":")), file=sys.stderr, flush=True)


def run_service(serve: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """Run ``serve()`` to the end; an OSError at any point becomes an ``error`` line and exit 1."""
    try:
        asyncio.run(serve())
    except OSError as exc:
        emit({"event": "error", "message": str(exc)})
        return 1
    return 0


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT, which no longer kill the process.

    Install it before announcing ``listening``: a test may signal the process as soon as it
    reads that line, and the default action would skip every ``finally`` (link, mDNS record).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port (0 picks a free one)."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value
