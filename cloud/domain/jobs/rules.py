"""The remote-job lifecycle as plain functions: what a hub's report does to a job, when a job
is overdue, when it must be (re)sent, and which parameters each kind takes.

QUEUED -> IN_PROGRESS -> SUCCEEDED / FAILED / TIMED_OUT / CANCELED. Reports come over QoS 1
and may repeat or arrive out of order (a hub also replays its recent final states after a
reconnect), so a report never moves a job backwards and a final state never changes. A hub
report that arrives after the cloud gave up on the job (TIMED_OUT) is still worth knowing (a
drawer did open after all): it is kept beside the job as its *late update* instead of
rewriting history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from protocols.sync.messages import JobKind, JobState

FINAL: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED"})
# A job sent on the hub's current connection and still not started is sent again this often:
# the hub runs each job id once, so a repeat is harmless, and a lost delivery is not fatal.
RESEND_AFTER_S: Final = 30.0
# Kinds a manager may send; the rest (open a drawer, restart a driver, resync) need an admin.
MANAGER_KINDS: Final = frozenset({"test_print", "x_report", "diagnostics"})


class Effect(Enum):
    """What a hub's report does to the job row."""

    APPLY = "apply"  # the job takes the reported state
    LATE = "late"  # kept as the job's late update; the state stays
    IGNORE = "ignore"  # a repeat or a report older than what is known


def on_report(current: JobState, reported: JobState, late_state: str | None = None) -> Effect:
    """Decide what a report of ``reported`` does to a job in ``current``.

    ``late_state`` is the state of the late update already kept, if any: the hub reports one
    outcome per job, so the first late one is kept and repeats of it are ignored.
    """
    if reported == "QUEUED":
        return Effect.IGNORE  # the hub never goes back to queued; nothing to learn
    if current == "QUEUED":
        return Effect.APPLY
    if current == "IN_PROGRESS":
        return Effect.APPLY if reported in FINAL else Effect.IGNORE
    if current in ("TIMED_OUT", "CANCELED") and reported in ("SUCCEEDED", "FAILED") and late_state is None:
        return Effect.LATE  # what the hub did after all; a late "started" would say nothing
    return Effect.IGNORE  # SUCCEEDED and FAILED are the hub's own last word


def overdue(
    state: JobState, now: datetime, expires_at: datetime, started_at: datetime | None, timeout_s: int
) -> str | None:
    """Why a job must become TIMED_OUT now, or None.

    A queued job waits for its hub until ``expires_at``; a started one has ``timeout_s`` to
    report a result.
    """
    if state == "QUEUED" and now >= expires_at:
        return "expired before the hub started it"
    if state == "IN_PROGRESS" and started_at is not None and now >= started_at + timedelta(seconds=timeout_s):
        return f"no result from the hub within {timeout_s} s"
    return None


def should_send(
    state: JobState, expires_at: datetime, sent_session: int | None, sent_at: datetime | None,
    hub_session: int, now: datetime,
) -> bool:  # fmt: skip
    """Whether a job goes to its (online) hub now.

    Once per hub connection (a job sent on an earlier session may have been lost with it), and
    again every :data:`RESEND_AFTER_S` while the hub has not started it.
    """
    if state != "QUEUED" or now >= expires_at:
        return False
    if sent_session != hub_session or sent_at is None:
        return True
    return (now - sent_at).total_seconds() >= RESEND_AFTER_S


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """The parameters of one job kind: required and optional names with their types."""

    required: tuple[tuple[str, type], ...] = ()
    optional: tuple[tuple[str, type], ...] = ()


PARAMS: Final[dict[str, ParamSpec]] = {
    "test_print": ParamSpec(required=(("device", str),)),
    "open_drawer": ParamSpec(required=(("device", str), ("reason", str))),
    "x_report": ParamSpec(),
    "restart_device": ParamSpec(required=(("device", str),)),
    "diagnostics": ParamSpec(),
    "resync": ParamSpec(optional=(("from_seq", int),)),
}


class BadParams(ValueError):
    """Job parameters that do not fit the kind; ``field`` names the offending one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"params.{field}: {message}")
        self.field = field


def check_params(kind: JobKind, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``params`` for ``kind`` and return them; raises :class:`BadParams`."""
    spec = PARAMS[kind]
    known = dict(spec.required) | dict(spec.optional)
    for name in params:
        if name not in known:
            raise BadParams(name, f"{kind} takes no parameter {name!r}")
    for name, _ in spec.required:
        if name not in params:
            raise BadParams(name, f"{kind} needs {name!r}")
    for name, value in params.items():
        expected = known[name]
        if expected is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise BadParams(name, "expected a whole number of at least 1")
        if expected is str and (not isinstance(value, str) or not value.strip() or len(value) > 200):
            raise BadParams(name, "expected a non-empty text of at most 200 characters")
    return params
