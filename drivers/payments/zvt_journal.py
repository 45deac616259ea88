"""What a ZVT driver writes down before it sends money on its way, so a restart can finish it.

ZVT carries no ECR reference: a terminal only knows "its last transaction" (trace, receipt
number, amount, date and time), which it repeats on ``06 20``. So before an authorization,
refund or reversal leaves the hub, the driver records in one small JSON file per terminal:

* ``pending``: the reference, the kind and the amount of the operation about to be sent, and
  ``before``, the terminal's last transaction as it stood just before;
* ``last_seen``: the terminal's last transaction as the driver last knew it;
* ``done``: the final outcome of recent references (``None``: nothing was booked for it).

The file is replaced atomically (write, fsync, rename, fsync the directory), so a crash leaves
either the old or the new record, never half of one. :func:`decide` is the whole recovery
rule; see :meth:`drivers.payments.zvt.ZvtTerminal.last_result`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Literal

import msgspec

from drivers.base import PaymentOutcome

DONE_KEPT = 200  # references remembered; the hub asks about the last one or two only


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A terminal's last transaction as ``06 20`` repeats it; ``empty`` when it had none."""

    empty: bool = False
    trace: str = ""
    receipt_number: str = ""
    amount: int | None = None
    date: str = ""
    time: str = ""

    def same_as(self, other: Snapshot) -> bool:
        """The same transaction: by trace and receipt number, which a terminal never reuses
        within a day, when both carry a trace; else by amount, date and time."""
        if self.empty or other.empty:
            return self.empty == other.empty
        if self.trace and other.trace:
            return (self.trace, self.receipt_number) == (other.trace, other.receipt_number)
        return (self.amount, self.date, self.time) == (other.amount, other.date, other.time)


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    kind: Literal["pay", "refund", "reverse"]
    amount: int  # minor units; 0 for a reversal (the terminal knows the amount)
    before: Snapshot
    started_at: str = ""


class JournalState(msgspec.Struct, kw_only=True):
    last_seen: Snapshot | None = None
    pending: Pending | None = None
    done: dict[str, PaymentOutcome | None] = {}


class ZvtJournal:
    """The journal of one terminal: in a file when ``path`` is given, else in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.state = JournalState()

    @property
    def durable(self) -> bool:
        return self.path is not None

    async def load(self) -> None:
        if self.path is None:
            return
        self.state = await asyncio.to_thread(self._read, self.path)

    @staticmethod
    def _read(path: Path) -> JournalState:
        try:
            return msgspec.json.decode(path.read_bytes(), type=JournalState)
        except FileNotFoundError:
            return JournalState()

    async def save(self) -> None:
        done = self.state.done
        if len(done) > DONE_KEPT:
            self.state.done = dict(list(done.items())[-DONE_KEPT:])
        if self.path is not None:
            await asyncio.to_thread(self._write, self.path, msgspec.json.encode(self.state))

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
        # The rename itself must reach the disk before we send anything to the terminal.
        with contextlib.suppress(OSError):
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    async def begin(self, pending: Pending) -> None:
        """Record an operation before its first byte is sent."""
        self.state.pending = pending
        await self.save()

    async def finish(self, reference: str, outcome: PaymentOutcome | None, seen: Snapshot | None) -> None:
        """Record how ``reference`` ended and what the terminal's last transaction is now."""
        self.state.done.pop(reference, None)
        self.state.done[reference] = outcome
        if self.state.pending is not None and self.state.pending.reference == reference:
            self.state.pending = None
        if seen is not None:
            self.state.last_seen = seen
        await self.save()


Verdict = Literal["ours", "nothing_new", "someone_else"]


def decide(pending: Pending, now: Snapshot, amount: int | None) -> Verdict:
    """Whether the terminal's last transaction ``now`` is the pending operation.

    * the terminal has no transaction, or the same one as before we sent: nothing was booked
      for the pending operation (it never reached the terminal, or ended without a booking,
      as an aborted or timed-out card step does) -> ``nothing_new``;
    * a newer transaction whose amount is ours (any amount for a reversal, whose amount only
      the terminal knows) -> ``ours``;
    * a newer transaction of another amount: something else happened on the terminal in
      between; no automatic answer is safe -> ``someone_else``.
    """
    if now.empty or now.same_as(pending.before):
        return "nothing_new"
    if pending.kind == "reverse" or amount == pending.amount:
        return "ours"
    return "someone_else"
