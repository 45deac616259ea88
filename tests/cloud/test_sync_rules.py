"""The cloud's ingest and presence rules under any delivery order (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.sync.presence import Presence
from cloud.sync.sequencer import HubSequence
from protocols.sync.messages import Status


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, list[int]]:
    """Facts 1..n delivered in any order, some of them several times (QoS 1, resends)."""
    n = draw(st.integers(min_value=1, max_value=60))
    order = draw(st.permutations(list(range(1, n + 1))))
    repeats = draw(st.lists(st.sampled_from(order), max_size=30))
    mixed = draw(st.permutations(order + repeats))
    return n, mixed


@given(deliveries())
def test_every_fact_is_stored_once_and_the_ack_ends_at_the_last(case: tuple[int, list[int]]) -> None:
    n, arrivals = case
    sequence = HubSequence()
    stored: list[int] = []
    acked = 0
    for seq in arrivals:
        if sequence.is_new(seq):
            stored.append(seq)  # the store's INSERT
        sequence.stored(seq)
        ack = sequence.ack(now=0.0)
        # The ack never claims a fact the cloud does not hold, and never goes backwards.
        assert set(range(1, ack.seq + 1)) <= set(stored)
        assert ack.seq >= acked
        acked = ack.seq
    assert sorted(stored) == list(range(1, n + 1))
    assert sequence.ack(now=0.0).seq == n and not sequence.ahead


def test_a_hole_is_asked_for_once_and_again_after_a_while() -> None:
    sequence = HubSequence()
    for seq in (1, 2, 5):
        sequence.stored(seq)
    first = sequence.ack(now=100.0)
    assert (first.seq, first.resend_from) == (2, 3)
    sequence.stored(6)
    assert sequence.ack(now=101.0).resend_from is None  # already asked
    assert sequence.ack(now=111.0).resend_from == 3  # no progress for 10 s: ask again
    sequence.stored(3)
    sequence.stored(4)
    final = sequence.ack(now=112.0)
    assert (final.seq, final.resend_from) == (6, None)


def test_rebuilt_after_a_restart_from_the_store() -> None:
    sequence = HubSequence.rebuild(contiguous=4, stored_above=[5, 7, 9])
    assert sequence.contiguous == 5 and sequence.ahead == {7, 9}
    assert not sequence.is_new(5) and not sequence.is_new(7) and sequence.is_new(6)


def status(state: str, session: int) -> Status:
    return Status(state=state, session=session, at=f"t{session}")  # type: ignore[arg-type]


def test_a_late_will_does_not_mark_a_reconnected_hub_offline() -> None:
    hub = Presence()
    assert hub.apply(status("online", 1))
    assert hub.apply(status("online", 2))  # reconnected before the broker gave up on session 1
    assert not hub.apply(status("offline", 1))  # session 1's will arrives late
    assert hub.online and hub.session == 2
    assert hub.apply(status("offline", 2))  # a real loss of session 2
    assert not hub.online


@given(
    st.lists(
        st.tuples(st.sampled_from(["online", "offline"]), st.integers(min_value=1, max_value=6)), max_size=30
    )
)
def test_presence_follows_the_newest_session(messages: list[tuple[str, int]]) -> None:
    hub = Presence()
    for state, session in messages:
        hub.apply(status(state, session))
    if messages:
        newest = max(session for _, session in messages)
        assert hub.session == newest
        # Online unless the newest session's own will (or goodbye) came after its online.
        last_for_newest = [state for state, session in messages if session == newest][-1]
        assert hub.online == (last_for_newest == "online")
