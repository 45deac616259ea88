"""The remote-job lifecycle rules: reports repeated and reordered never move a job backwards,
timeouts, deliveries once per hub connection, and the parameters each kind takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.jobs.rules import (
    FINAL,
    RESEND_AFTER_S,
    BadParams,
    Effect,
    check_params,
    on_report,
    overdue,
    should_send,
)
from protocols.sync.messages import JobState

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STATES: list[JobState] = ["QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED"]
HUB_REPORTS: list[JobState] = ["IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT"]
ORDER = {"QUEUED": 0, "IN_PROGRESS": 1}


def replay(start: JobState, reports: list[JobState]) -> tuple[JobState, str | None]:
    """Apply ``reports`` in order as the service does; returns (state, late update state)."""
    state, late = start, None
    for reported in reports:
        effect = on_report(state, reported, late)
        if effect is Effect.APPLY:
            state = reported
        elif effect is Effect.LATE:
            late = reported
    return state, late


@given(st.lists(st.sampled_from(HUB_REPORTS), max_size=12))
def test_reports_never_move_a_job_backwards_and_a_final_state_never_changes(reports: list[JobState]) -> None:
    state: JobState = "QUEUED"
    late: str | None = None
    for reported in reports:
        before = state
        effect = on_report(state, reported, late)
        if effect is Effect.APPLY:
            state = reported
        elif effect is Effect.LATE:
            late = reported
        if before in FINAL:
            assert state == before
        else:
            assert ORDER.get(state, 2) >= ORDER.get(before, 2)


def hub_run(outcome: JobState | None, starts: int, outcomes: int, rnd: Any) -> list[JobState]:
    """What one hub run reports: IN_PROGRESS and one outcome, each repeated, in any order."""
    started: list[JobState] = ["IN_PROGRESS"]
    deliveries = started * starts + ([outcome] * outcomes if outcome else [])
    rnd.shuffle(deliveries)
    return deliveries


OUTCOMES = st.sampled_from([None, "SUCCEEDED", "FAILED", "TIMED_OUT"])


@given(OUTCOMES, st.integers(0, 3), st.integers(1, 3), st.randoms())
def test_repeats_and_reordering_of_one_hub_run_give_its_outcome(
    outcome: JobState | None, starts: int, outcomes: int, rnd: Any
) -> None:
    state, late = replay("QUEUED", hub_run(outcome, starts, outcomes, rnd))
    assert state == (outcome or ("IN_PROGRESS" if starts else "QUEUED"))
    assert late is None


@given(st.sampled_from(["SUCCEEDED", "FAILED"]), st.integers(0, 3), st.integers(1, 3), st.randoms())
def test_what_the_hub_did_after_the_cloud_gave_up_is_kept_as_late(
    outcome: JobState, starts: int, outcomes: int, rnd: Any
) -> None:
    state, late = replay("TIMED_OUT", hub_run(outcome, starts, outcomes, rnd))
    assert state == "TIMED_OUT"
    assert late == outcome


def test_a_hub_that_also_timed_the_job_out_adds_nothing() -> None:
    assert on_report("TIMED_OUT", "TIMED_OUT") is Effect.IGNORE
    assert on_report("QUEUED", "QUEUED") is Effect.IGNORE
    assert on_report("SUCCEEDED", "FAILED") is Effect.IGNORE


@pytest.mark.parametrize("state", STATES)
def test_overdue_only_for_waiting_or_running_jobs(state: JobState) -> None:
    late = T0 + timedelta(days=2)
    reason = overdue(state, late, T0 + timedelta(days=1), T0, 120)
    assert (reason is not None) == (state in ("QUEUED", "IN_PROGRESS"))


def test_overdue_boundaries() -> None:
    expires = T0 + timedelta(hours=1)
    assert overdue("QUEUED", expires - timedelta(seconds=1), expires, None, 60) is None
    assert overdue("QUEUED", expires, expires, None, 60) == "expired before the hub started it"
    assert overdue("IN_PROGRESS", T0 + timedelta(seconds=59), expires, T0, 60) is None
    assert (
        overdue("IN_PROGRESS", T0 + timedelta(seconds=60), expires, T0, 60)
        == "no result from the hub within 60 s"
    )


def test_a_job_goes_once_per_hub_connection_and_again_after_the_resend_interval() -> None:
    expires = T0 + timedelta(hours=1)
    assert should_send("QUEUED", expires, None, None, 3, T0)
    assert not should_send("QUEUED", expires, 3, T0, 3, T0 + timedelta(seconds=1))
    assert should_send("QUEUED", expires, 3, T0, 4, T0 + timedelta(seconds=1))  # reconnected
    assert should_send("QUEUED", expires, 3, T0, 3, T0 + timedelta(seconds=RESEND_AFTER_S))
    assert not should_send("QUEUED", expires, None, None, 3, expires)  # expired
    assert not should_send("IN_PROGRESS", expires, None, None, 3, T0)


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("test_print", {}, "device"),
        ("open_drawer", {"device": "receipt"}, "reason"),
        ("open_drawer", {"device": "receipt", "reason": "  "}, "reason"),
        ("x_report", {"device": "receipt"}, "device"),
        ("resync", {"from_seq": 0}, "from_seq"),
        ("resync", {"from_seq": True}, "from_seq"),
        ("restart_device", {"device": 7}, "device"),
    ],
)
def test_params_that_do_not_fit_the_kind_name_the_field(
    kind: Any, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadParams) as caught:
        check_params(kind, params)
    assert caught.value.field == field


def test_params_that_fit_are_kept() -> None:
    assert check_params("open_drawer", {"device": "d", "reason": "float count"}) == {
        "device": "d",
        "reason": "float count",
    }
    assert check_params("resync", {}) == {}
    assert check_params("resync", {"from_seq": 40}) == {"from_seq": 40}
