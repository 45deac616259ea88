"""The delta as the hub applies it: every item decoded first, and the outcome of an apply.

Nothing is written until every body of the delta has decoded against its section's type and
every key fits its section (:func:`decode_items`); a single bad item rejects the whole delta
with a :class:`ConfigRejected` that names the section, the key and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from protocols.sync import SyncDecodeError
from protocols.sync.config import (
    SECTIONS,
    ConfigDelta,
    check_key,
    decode_body,
)

DOCUMENT_SECTIONS: tuple[str, ...] = ("discounts", "campaigns", "layouts", "floor_plans", "store_options")
"""Sections kept as JSON documents (``config_documents``) for the POS pages to read."""


class ConfigRejected(Exception):
    """The delta cannot be applied; the message names the section, key and field."""

    def __init__(self, message: str, *, section: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.section = section
        self.key = key


def rejected(section: str, key: str, field_name: str | None, problem: str) -> ConfigRejected:
    where = f"{section} {key}" + (f" field {field_name}" if field_name else "")
    return ConfigRejected(f"{where}: {problem}", section=section, key=key)


@dataclass(frozen=True, slots=True)
class Item:
    """One decoded item: ``body`` is None for a tombstone."""

    section: str
    key: str
    revision: int
    body: Any

    @property
    def deleted(self) -> bool:
        return self.body is None

    @property
    def id(self) -> int:
        """The integer id of an integer-keyed section's item (the row's primary key)."""
        return int(self.key)


@dataclass(slots=True)
class Decoded:
    """The items of a delta by section, in the contract's apply order; a later item with the
    same section and key (a higher revision) replaces an earlier one."""

    sections: dict[str, dict[str, Item]] = field(default_factory=dict)

    def items(self, section: str) -> list[Item]:
        return list(self.sections.get(section, {}).values())

    def live(self, section: str) -> list[Item]:
        return [item for item in self.items(section) if not item.deleted]

    def dead(self, section: str) -> list[Item]:
        return [item for item in self.items(section) if item.deleted]

    def count(self) -> int:
        return sum(len(items) for items in self.sections.values())


def _field_of(message: str) -> str | None:
    """The ``$.path`` a msgspec validation message points at, if any."""
    marker = "- at `$"
    start = message.find(marker)
    if start < 0:
        return None
    end = message.find("`", start + len(marker))
    path = message[start + len(marker) - 1 : end]
    return path.removeprefix("$.") or None


def decode_items(delta: ConfigDelta) -> Decoded:
    """Every item's body as its section's type; the first bad one rejects the delta."""
    decoded = Decoded()
    for raw in sorted(delta.items, key=lambda i: i.revision):
        try:
            check_key(raw.section, raw.key)
        except SyncDecodeError as exc:
            raise ConfigRejected(f"{exc}", section=raw.section, key=raw.key) from None
        body: Any = None
        if not raw.deleted:
            if not raw.has_body:
                raise rejected(raw.section, raw.key, None, "the item has no body and is not a tombstone")
            try:
                body = decode_body(raw.section, raw.body)
            except SyncDecodeError as exc:
                text = str(exc).removeprefix(f"{raw.section}: ")
                raise rejected(raw.section, raw.key, _field_of(text), text) from None
        decoded.sections.setdefault(raw.section, {})[raw.key] = Item(raw.section, raw.key, raw.revision, body)
    # Keep the contract's order so references point at rows written before them.
    decoded.sections = {name: decoded.sections[name] for name in SECTIONS if name in decoded.sections}
    return decoded


class ConfigState(msgspec.Struct, kw_only=True):
    """``config_state``: what the store runs on and the last config it refused."""

    applied_version: int = 0
    applied_at: str | None = None
    rejected_version: int = 0
    error: str = ""
    error_at: str | None = None


Outcome = Literal["applied", "unchanged", "rejected"]


class AppliedConfig(msgspec.Struct, kw_only=True):
    """What :func:`hub.domain.cloud_config.apply` did with a delta."""

    outcome: Outcome
    version: int
    applied_version: int
    items: int = 0
    archived: int = 0
    error: str = ""
    counts: dict[str, int] = {}
