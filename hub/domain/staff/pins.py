"""PIN hashing and the growing lock-out after wrong PINs.

PINs are 4 to 8 digits: a few thousand guesses find one, so the hash is slow (argon2id, the
OWASP minimum of 19 MiB and two passes) and, more importantly, guessing is stopped: after 5
wrong PINs for an employee or on a terminal, logging in there is locked for 30 s, then 60 s,
120 s ... up to an hour, and every failure is audited. Hashing runs in a worker thread so a
login never stalls the event loop (and the printers it drives).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.db.database import Transaction
from hub.domain.clock import iso, parse_iso

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
FREE_TRIES = 5
FIRST_LOCK_S = 30
MAX_LOCK_S = 3600


async def hash_pin(pin: str) -> str:
    return await asyncio.to_thread(HASHER.hash, pin)


def _verify(stored: str, pin: str) -> bool:
    try:
        return HASHER.verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return False


async def pin_matches(stored: str, pin: str) -> bool:
    return await asyncio.to_thread(_verify, stored, pin)


def lock_seconds(failures: int) -> int:
    """How long the ``failures``-th wrong PIN locks its scope (0 while tries are left)."""
    if failures < FREE_TRIES:
        return 0
    return int(min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (failures - FREE_TRIES)))


async def locked_until(tx: Transaction, scopes: list[str], now: datetime) -> datetime | None:
    """The latest lock-out still running on any of ``scopes``, or None."""
    latest: datetime | None = None
    for scope in scopes:
        row = await tx.fetchone("SELECT locked_until FROM login_failures WHERE scope = ?", (scope,))
        if row is not None and row["locked_until"]:
            until = parse_iso(row["locked_until"])
            if until > now and (latest is None or until > latest):
                latest = until
    return latest


async def record_failure(tx: Transaction, scopes: list[str], now: datetime) -> int:
    """Count a wrong PIN against each scope; returns the largest failure count."""
    worst = 0
    for scope in scopes:
        row = await tx.fetchone(
            "INSERT INTO login_failures (scope, failures, updated_at) VALUES (?, 1, ?) "
            "ON CONFLICT (scope) DO UPDATE SET failures = failures + 1, updated_at = excluded.updated_at "
            "RETURNING failures",
            (scope, iso(now)),
        )
        failures = int(row["failures"]) if row else 1
        seconds = lock_seconds(failures)
        if seconds:
            until = iso(now + timedelta(seconds=seconds))
            await tx.execute("UPDATE login_failures SET locked_until = ? WHERE scope = ?", (until, scope))
        worst = max(worst, failures)
    return worst


async def clear_failures(tx: Transaction, scopes: list[str]) -> None:
    for scope in scopes:
        await tx.execute("DELETE FROM login_failures WHERE scope = ?", (scope,))
