from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.firmware_sim.simproc import Sim


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., Sim]]:
    """Start ``smartpos-sim printer`` with extra arguments; every one is stopped afterwards."""
    started: list[Sim] = []

    def start(*extra: str, **ports: int) -> Sim:
        workdir = tmp_path / f"sim{len(started)}"
        workdir.mkdir()
        sim = Sim(workdir, *extra, **ports).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def printer(start_sim: Callable[..., Sim]) -> Sim:
    """A simulator with default settings (instant paper)."""
    return start_sim()
