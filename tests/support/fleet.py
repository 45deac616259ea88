"""Many real hub daemons claimed into one store of a running cloud, for push tests and benchmarks.

Every hub is ``smartpos-hub serve`` in its own process with its own data directory, claimed
through the cloud's API (the call ``smartpos-hub claim`` makes) so the cloud writes its broker
credentials and ACL. They are started together and waited for together: starting fifty one
after another would cost a minute on a two-core box.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hub.sync.claim import claim
from tests.support.cloud_proc import CloudProcess
from tests.support.procs import HubProcess, wait_for

# The link file holds identity and credentials; these keep reconnects and resends quick in tests.
QUICK_SYNC = "[sync]\nkeepalive_s = 5\nack_timeout_s = 2\n"


class HubFleet:
    """``count`` hubs of ``store_id``; :meth:`versions` reads what each reports to the fleet view."""

    def __init__(self, workdir: Path, cloud: CloudProcess, store_id: str, count: int) -> None:
        self.cloud = cloud
        self.store_id = store_id
        self.hubs: dict[str, HubProcess] = {}
        for number in range(1, count + 1):
            self.add(workdir / f"hub-{number:03d}", f"Till {number}")

    def add(self, workdir: Path, name: str) -> HubProcess:
        """One more hub, claimed as a technician would (``smartpos-hub claim`` writes its link)."""
        workdir.mkdir(parents=True, exist_ok=True)
        hub = HubProcess(workdir, [], extra_toml=QUICK_SYNC)
        hub.data_dir.mkdir(parents=True, exist_ok=True)
        claimed = claim(hub.data_dir, self.cloud.url, self.cloud.new_hub(self.store_id, name=name))
        self.hubs[claimed.hub_id] = hub
        return hub

    def start(self, timeout: float = 120.0) -> HubFleet:
        for hub in self.hubs.values():
            hub.start(wait=False)
        deadline = time.monotonic() + timeout
        for hub in self.hubs.values():
            wait_for(hub._ready, max(1.0, deadline - time.monotonic()), what=f"hub ready ({hub.log_path})")
        wait_for(lambda: all(h["online"] for h in self.fleet()), max(1.0, deadline - time.monotonic()),
                 what="every hub online in the fleet view")  # fmt: skip
        return self

    def fleet(self) -> list[dict[str, Any]]:
        """This store's hubs as the fleet view lists them."""
        status, view = self.cloud.api("GET", "/api/v1/fleet")
        assert status == 200, view
        return [h for h in view["hubs"] if h["id"] in self.hubs]

    def versions(self) -> dict[str, int]:
        return {h["id"]: int(h["applied_config_version"]) for h in self.fleet()}

    def wait_version(self, version: int, timeout: float = 60.0) -> float:
        """Seconds until every hub reports ``version`` applied (polling the fleet view)."""
        started = time.monotonic()
        wait_for(lambda: all(v >= version for v in self.versions().values()), timeout, interval=0.1,
                 what=f"config version {version} on every hub")  # fmt: skip
        return time.monotonic() - started

    def stop(self) -> None:
        for hub in self.hubs.values():
            if hub.proc is not None and hub.proc.poll() is None:
                hub.proc.terminate()
        for hub in self.hubs.values():
            hub.stop()
