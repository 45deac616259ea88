"""``smartpos-sim display``: a customer display on a pseudo-terminal, as a real process.

The bytes written to the port are the reference sheet's golden sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.firmware_sim.simproc import wait_until
from tests.firmware_sim.ttysim import TtySim
from tests.support.procs import free_port

BLANK = " " * 20


@pytest.fixture
def start_display(tmp_path: Path) -> Iterator[Callable[..., TtySim]]:
    started: list[TtySim] = []

    def start(*extra: str) -> TtySim:
        sim = TtySim("display", tmp_path / f"ttyVFD{len(started)}", *extra).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def test_listening_line(start_display: Callable[..., TtySim]) -> None:
    control_port = free_port()
    sim = start_display("--control-port", str(control_port))
    assert sim.listening == {"event": "listening", "tty": str(sim.link), "control_port": control_port}
    assert str(sim.link.resolve()).startswith("/dev/pts/")
    assert sim.status() == {
        "lines": [BLANK, BLANK],
        "brightness": 4,
        "writes": 0,
        "unknown": 0,
        "protocol": "dmd",
    }


def test_dmd_clear_cursor_text_and_brightness(start_display: Callable[..., TtySim]) -> None:
    sim = start_display()
    port = sim.open()
    port.write(bytes.fromhex("1B 40") + b"Welcome!")
    wait_until(lambda: sim.status()["lines"][0] == "Welcome!".ljust(20), what="upper line")
    port.write(
        bytes.fromhex("0C") + bytes.fromhex("1F 24 01 02") + b"Total 12.50" + bytes.fromhex("1F 58 02")
    )
    status = wait_until(lambda: (s := sim.status())["brightness"] == 2 and s, what="brightness 2")
    assert status["lines"] == [BLANK, "Total 12.50".ljust(20)]
    assert status["unknown"] == 0


def test_cd5220_upper_and_lower_line(start_display: Callable[..., TtySim]) -> None:
    sim = start_display("--protocol", "cd5220")
    upper = b"Coffee          2.40"
    port = sim.open()
    port.write(bytes.fromhex("1B 51 41") + upper + bytes.fromhex("0D"))
    port.write(bytes.fromhex("1B 51 42") + b"TOTAL           2.40" + bytes.fromhex("0D"))
    port.write(bytes.fromhex("1B 2A 03"))
    status = wait_until(lambda: (s := sim.status())["writes"] == 3 and s, what="three commands")
    assert status["lines"] == ["Coffee          2.40", "TOTAL           2.40"]
    assert (status["brightness"], status["protocol"]) == (3, "cd5220")


def test_subscribe_streams_changes_and_unknown_is_counted(start_display: Callable[..., TtySim]) -> None:
    sim = start_display()
    events = sim.events()
    port = sim.open()
    port.write(b"\x01\x02" + bytes.fromhex("1F 24 01 02") + b"Hi")
    event = events.wait("changed", lines=[BLANK, "Hi".ljust(20)])
    assert event["brightness"] == 4
    assert sim.status()["unknown"] == 2
    port.write(bytes.fromhex("0C"))
    events.wait("changed", lines=[BLANK, BLANK])
    events.close()


def test_other_size_and_unknown_control_command(start_display: Callable[..., TtySim]) -> None:
    sim = start_display("--columns", "40", "--rows", "4")
    assert sim.status()["lines"] == [" " * 40] * 4
    assert sim.control("reboot").startswith("error unknown command")


def test_link_removed_on_exit(tmp_path: Path) -> None:
    sim = TtySim("display", tmp_path / "ttyVFD").start()
    sim.open().write(b"bye")
    assert sim.stop() == 0
    assert not sim.link.is_symlink()
