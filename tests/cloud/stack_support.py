"""One store's whole stack for end-to-end tests: Mosquitto with the files the cloud writes, the
cloud service with its bridge (SQLite by default, or the database it is given), and a hub
claimed from it with a printer simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess, sync_toml_from_claim
from tests.support.procs import HubProcess, PrinterSim, printer_device


class Stack:
    """One store: broker, cloud, a claimed hub with a receipt printer."""

    def __init__(self, tmp_path: Path, sim: PrinterSim, db_url: str | None = None) -> None:
        self.broker = MosquittoBroker(tmp_path).start()
        self.cloud = CloudProcess(tmp_path, self.broker, db_url=db_url).start()
        self.store_id = self.cloud.new_store()
        self.claim = self.cloud.claim(self.cloud.new_hub(self.store_id))
        self.hub_id = self.claim["hub_id"]
        self.hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5, drawer=True)],
                              extra_toml=sync_toml_from_claim(self.claim))  # fmt: skip

    def fleet_hub(self) -> dict[str, Any]:
        status, view = self.cloud.api("GET", "/api/v1/fleet")
        assert status == 200, view
        return next(h for h in view["hubs"] if h["id"] == self.hub_id)

    def _scalar(self, sql: str, **params: Any) -> int:
        """One number from the cloud's database, read the way an operator would."""

        async def read() -> int:
            engine = create_async_engine(self.cloud.db_url, poolclass=NullPool)
            try:
                async with engine.connect() as conn:
                    return int((await conn.execute(text(sql), params)).scalar_one())
            finally:
                await engine.dispose()

        return asyncio.run(read())

    def cloud_count(self, kind: str) -> int:
        return self._scalar("SELECT COUNT(*) FROM events WHERE type = :kind", kind=kind)

    def distinct_sales(self) -> int:
        sale_id = (
            "json_extract(payload, '$.uuid')"
            if self.cloud.db_url.startswith("sqlite")
            else "(payload::json ->> 'uuid')"
        )
        return self._scalar(f"SELECT COUNT(DISTINCT {sale_id}) FROM events WHERE type = 'sale.completed'")

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


@pytest.fixture
def stack_on_each_db(tmp_path: Path, sim: PrinterSim, db_url: str) -> Iterator[Stack]:
    """:func:`stack` with the cloud on SQLite and on the machine's PostgreSQL."""
    built = Stack(tmp_path, sim, db_url)
    try:
        yield built
    finally:
        built.close()
