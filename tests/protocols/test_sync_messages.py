"""The sync contract's codecs: topics, envelopes and payloads, golden examples and fuzzing."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sync import HubTopics, SyncDecodeError, TopicError, parse_topic
from protocols.sync.messages import (
    Ack,
    Status,
    decode_ack,
    decode_envelope,
    decode_job_request,
    decode_payload,
    decode_status,
    encode,
)
from protocols.sync.topics import CHANNELS, acl_lines

ids = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=64)


def test_topic_names_follow_the_contract() -> None:
    topics = HubTopics("acme", "store-1", "hub-7")
    assert topics.up_events == "smartpos/v1/acme/store-1/hub-7/up/events"
    assert topics.status == "smartpos/v1/acme/store-1/hub-7/status"
    assert parse_topic("smartpos/v1/acme/store-1/hub-7/down/jobs") == (topics, "down/jobs")
    assert acl_lines(topics, "hub-7")[:3] == [
        "user hub-7",
        "topic write smartpos/v1/acme/store-1/hub-7/up/events",
        "topic write smartpos/v1/acme/store-1/hub-7/up/state",
    ]


@given(ids, ids, ids, st.sampled_from(CHANNELS))
def test_topics_round_trip(tenant: str, store: str, hub: str, channel: str) -> None:
    topics = HubTopics(tenant, store, hub)
    assert parse_topic(topics.topic(channel)) == (topics, channel)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "x" * 65, "ü"])
def test_ids_cannot_smuggle_levels_or_wildcards(bad: str) -> None:
    with pytest.raises(TopicError):
        HubTopics("acme", bad, "hub")


@pytest.mark.parametrize(
    "topic",
    ["smartpos/v2/a/b/c/up/events", "smartpos/v1/a/b/c/up/other", "smartpos/v1/a/b", "other/v1/a/b/c/status"],
)
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


GOLDEN_EVENT = (
    b'{"v":1,"seq":42,"id":"0193a6f2-7c1e-7d3a-9b1e-2f4d5c6b7a80","type":"shift.opened",'
    b'"occurred_at":"2026-11-22T08:00:00.000Z","payload":{"shift_id":3,"terminal_id":"T1","employee":"Edin",'
    b'"opening_cash":10000,"late_minutes":0,"at":"2026-11-22T08:00:00.000Z"}}'
)


def test_golden_event_decodes_into_its_type() -> None:
    envelope = decode_envelope(GOLDEN_EVENT)
    assert (envelope.seq, envelope.type) == (42, "shift.opened")
    payload = decode_payload(envelope)
    assert (payload.shift_id, payload.opening_cash) == (3, 10000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (GOLDEN_EVENT.replace(b'"v":1', b'"v":2'), "schema version 2"),
        (GOLDEN_EVENT.replace(b'"seq":42', b'"seq":0'), "seq must be positive"),
        (GOLDEN_EVENT.replace(b"shift.opened", b"shift.exploded"), "unknown type"),
        (GOLDEN_EVENT.replace(b'"opening_cash":10000', b'"opening_cash":100.5'), "Expected `int`"),
        (b"not json", "event"),
    ],
)
def test_bad_events_are_typed_errors(data: bytes, reason: str) -> None:
    with pytest.raises(SyncDecodeError, match=reason):
        decode_payload(decode_envelope(data))


def test_small_messages_round_trip() -> None:
    assert decode_ack(encode(Ack(seq=9, resend_from=4))) == Ack(seq=9, resend_from=4)
    status = Status(state="offline", session=3, at="2026-11-22T08:00:00Z")
    assert decode_status(encode(status)) == status
    with pytest.raises(SyncDecodeError):
        decode_job_request(b'{"job_id": "j", "kind": "format_disk", "expires_at": "x"}')


@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_decoders(data: bytes) -> None:
    for decoder in (decode_envelope, decode_ack, decode_status, decode_job_request):
        with contextlib.suppress(SyncDecodeError):
            decoder(data)


@given(
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=6)
)
def test_random_payloads_of_every_type_are_decoded_or_refused(payload: dict[str, object]) -> None:
    from protocols.sync.messages import PAYLOADS

    for kind in PAYLOADS:
        envelope = msgspec.json.encode(
            {"seq": 1, "id": "x", "type": kind, "occurred_at": "t", "payload": payload}
        )
        with contextlib.suppress(SyncDecodeError):
            decode_payload(decode_envelope(envelope))
