"""One store's whole stack for end-to-end tests: Mosquitto with the files the cloud writes, the
cloud service with its bridge (SQLite), and a hub claimed from it with a printer simulator."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess, sync_toml_from_claim
from tests.support.procs import HubProcess, PrinterSim, printer_device


class Stack:
    """One store: broker, cloud, a claimed hub with a receipt printer."""

    def __init__(self, tmp_path: Path, sim: PrinterSim) -> None:
        self.broker = MosquittoBroker(tmp_path).start()
        self.cloud = CloudProcess(tmp_path, self.broker).start()
        self.store_id = self.cloud.new_store()
        self.claim = self.cloud.claim(self.cloud.new_hub(self.store_id))
        self.hub_id = self.claim["hub_id"]
        self.hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)],
                              extra_toml=sync_toml_from_claim(self.claim))  # fmt: skip

    def fleet_hub(self) -> dict[str, Any]:
        status, view = self.cloud.api("GET", "/api/v1/fleet")
        assert status == 200, view
        return next(h for h in view["hubs"] if h["id"] == self.hub_id)

    def cloud_count(self, kind: str) -> int:
        with sqlite3.connect(self.cloud.dir / "cloud.db") as db:
            return int(db.execute("SELECT COUNT(*) FROM events WHERE type = ?", (kind,)).fetchone()[0])

    def distinct_sales(self) -> int:
        with sqlite3.connect(self.cloud.dir / "cloud.db") as db:
            row = db.execute(
                "SELECT COUNT(DISTINCT json_extract(payload, '$.uuid')) FROM events WHERE type = 'sale.completed'"
            ).fetchone()
            return int(row[0])

    def close(self) -> None:
        self.hub.stop()
        self.cloud.stop()
        self.broker.stop()


@pytest.fixture
def stack(tmp_path: Path, sim: PrinterSim) -> Iterator[Stack]:
    built = Stack(tmp_path, sim)
    try:
        yield built
    finally:
        built.close()
