"""Which hubs are online: retained ``status`` messages ordered by the hub's session counter.

Each connection of a hub takes the next session number; its ``online`` message and its last
will (``offline``) carry the same number. A will can reach the cloud late, after the hub has
already reconnected with a newer session: that will is stale and must not mark the hub
offline. So a status is applied only if its session is at least the one known, and an
``offline`` only for the session it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.sync.messages import Status


@dataclass(slots=True)
class Presence:
    online: bool = False
    session: int = 0
    since: str = ""
    software_version: str = ""

    def apply(self, status: Status) -> bool:
        """Take ``status`` into account; False when it was stale and changed nothing."""
        if status.session < self.session:
            return False
        if status.state == "offline" and status.session == self.session and not self.online:
            return False  # a repeat of what we know
        if status.state == "online" and status.session == self.session and self.online:
            return False
        self.session = status.session
        self.online = status.state == "online"
        self.since = status.at
        if status.software_version:
            self.software_version = status.software_version
        return True
