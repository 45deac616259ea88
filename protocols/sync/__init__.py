"""The hub <-> cloud sync contract: topic names and every message, as versioned msgspec types.

The hub and the cloud never import each other; this package is what they share
(architecture, "Hub <-> cloud sync contract"). Decoding is strict: a message that does not fit
its type raises :class:`SyncDecodeError`, which the cloud turns into a dead-letter record.
"""

from protocols.sync.errors import SyncDecodeError, TopicError
from protocols.sync.topics import Channel, HubTopics, parse_topic

__all__ = ["Channel", "HubTopics", "SyncDecodeError", "TopicError", "parse_topic"]
