"""Discovery backends: one per bus, each an async source of "device appeared / disappeared"."""

from drivers.discovery.base import (
    Bus,
    DiscoveryBackend,
    DiscoverySink,
    FoundDevice,
    PollingBackend,
)

__all__ = ["Bus", "DiscoveryBackend", "DiscoverySink", "FoundDevice", "PollingBackend"]
