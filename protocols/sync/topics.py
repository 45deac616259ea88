"""Topic names: ``smartpos/v1/{tenant}/{store}/{hub}/{channel}``.

Identifiers are restricted to letters, digits, ``_`` and ``-`` so that no id can smuggle a
``/`` (another level), ``+`` or ``#`` (wildcards) into a topic or an ACL pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from protocols.sync.errors import TopicError

ROOT = "smartpos/v1"
Channel = Literal["up/events", "down/acks", "down/config", "up/state", "down/jobs", "up/jobs", "status"]
CHANNELS: tuple[str, ...] = get_args(Channel)
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_id(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise TopicError(f"{kind} id {value!r} may only hold letters, digits, '_' and '-' (1 to 64)")
    return value


@dataclass(frozen=True, slots=True)
class HubTopics:
    """Every topic of one hub."""

    tenant: str
    store: str
    hub: str

    def __post_init__(self) -> None:
        check_id("tenant", self.tenant)
        check_id("store", self.store)
        check_id("hub", self.hub)

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.tenant}/{self.store}/{self.hub}"

    def topic(self, channel: Channel) -> str:
        return f"{self.prefix}/{channel}"

    @property
    def up_events(self) -> str:
        return self.topic("up/events")

    @property
    def down_acks(self) -> str:
        return self.topic("down/acks")

    @property
    def down_config(self) -> str:
        return self.topic("down/config")

    @property
    def up_state(self) -> str:
        return self.topic("up/state")

    @property
    def down_jobs(self) -> str:
        return self.topic("down/jobs")

    @property
    def up_jobs(self) -> str:
        return self.topic("up/jobs")

    @property
    def status(self) -> str:
        return self.topic("status")


def parse_topic(topic: str) -> tuple[HubTopics, Channel]:
    """The hub and channel of ``topic``; raises :class:`TopicError` for anything else."""
    parts = topic.split("/")
    if len(parts) < 6 or "/".join(parts[:2]) != ROOT:
        raise TopicError(f"not a SmartPOS topic: {topic!r}")
    channel = "/".join(parts[5:])
    if channel not in CHANNELS:
        raise TopicError(f"unknown channel {channel!r} in {topic!r}")
    return HubTopics(parts[2], parts[3], parts[4]), channel  # type: ignore[return-value]


# ACL patterns for Mosquitto (``%u`` is the username; each hub's username is its hub id).
def acl_lines(topics: HubTopics, username: str) -> list[str]:
    """The ACL entries confining one hub to its own subtree."""
    check_id("username", username)
    return [
        f"user {username}",
        f"topic write {topics.up_events}",
        f"topic write {topics.up_state}",
        f"topic write {topics.up_jobs}",
        f"topic write {topics.status}",
        f"topic read {topics.down_acks}",
        f"topic read {topics.down_config}",
        f"topic read {topics.down_jobs}",
    ]
