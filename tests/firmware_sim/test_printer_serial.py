"""``smartpos-sim printer --serial LINK``: the print engine behind a pseudo-terminal, as a process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import serial

from tests.firmware_sim.simproc import BIN, Sim, wait_until

CUT = b"\x1dV\x00"


def open_port(link: Path) -> serial.Serial:
    return serial.Serial(str(link), 9600, timeout=2)


def test_listening_line_names_the_link_and_no_data_port(
    start_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    link = tmp_path / "ttyPRN"
    sim = start_sim("--serial", str(link))
    assert sim.listening == {
        "event": "listening",
        "port": None,
        "control_port": sim.control_port,
        "tty": str(link),
    }
    assert link.is_symlink() and str(link.resolve()).startswith("/dev/pts/")
    assert sim.status()["counters"]["open_connections"] == 1, "the serial line is one client"


def test_status_and_printing_over_the_pty(start_sim: Callable[..., Sim], tmp_path: Path) -> None:
    link = tmp_path / "ttyPRN"
    sim = start_sim("--serial", str(link))
    with open_port(link) as port:
        port.write(b"\x10\x04\x01")
        assert port.read(1) == b"\x16"
        port.write(b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04")
        assert port.read(4) == bytes.fromhex("16 12 12 12")
        port.write(b"\x1b@Serial receipt\nTotal 12.50\n" + CUT + b"\x1d(H\x06\x0000S001")
        assert port.read(7) == b"\x37\x22S001\x00", "GS ( H answered once all before it printed"
    assert sim.paper() == "Serial receipt\nTotal 12.50\n--- CUT ---\n"
    counters = sim.status()["counters"]
    assert counters["receipts"] == 1
    assert counters["lines_printed"] == 3


def test_fault_switches_apply_to_the_serial_line(start_sim: Callable[..., Sim], tmp_path: Path) -> None:
    link = tmp_path / "ttyPRN"
    sim = start_sim("--serial", str(link))
    sim.set("paper_out on")
    with open_port(link) as port:
        port.write(b"held\n")
        port.write(b"\x10\x04\x04")
        assert port.read(1) == b"\x7e", "real-time status answered while printing is held"
        wait_until(lambda: sim.status()["backlog_bytes"] == 5, what="5 bytes held")
        sim.set("paper_out off")
        sim.wait_paper("held\n")


def test_the_host_can_close_and_reopen_the_port(start_sim: Callable[..., Sim], tmp_path: Path) -> None:
    link = tmp_path / "ttyPRN"
    sim = start_sim("--serial", str(link))
    for attempt in range(3):
        with open_port(link) as port:
            port.write(f"open {attempt}\n".encode() + b"\x10\x04\x01")
            assert port.read(1) == b"\x16"
    sim.wait_paper("open 2\n")
    assert sim.paper() == "open 0\nopen 1\nopen 2\n"


def test_a_command_split_across_writes_is_framed(start_sim: Callable[..., Sim], tmp_path: Path) -> None:
    link = tmp_path / "ttyPRN"
    sim = start_sim("--serial", str(link))
    with open_port(link) as port:
        # The image's data holds 10 04 01; only the real request after it is answered.
        for piece in (b"\x1dv0\x00\x01\x00", b"\x03\x00\x10", b"\x04\x01", b"\x10\x04\x02"):
            port.write(piece)
            port.flush()
        assert port.read(1) == b"\x12"
        port.timeout = 0.3
        assert port.read(1) == b"", "nothing else is answered"
    assert sim.wait_paper("[IMAGE") == "[IMAGE 8x3]\n"


def test_link_replaced_and_removed_on_exit(tmp_path: Path) -> None:
    link = tmp_path / "ttyPRN"
    link.symlink_to("/dev/null")  # left over by a killed run
    sim = Sim(tmp_path, "--serial", str(link)).start()
    try:
        assert str(link.resolve()).startswith("/dev/pts/")
    finally:
        assert sim.stop() == 0
    assert not link.exists() and not link.is_symlink()


def test_a_regular_file_at_the_link_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "notalink"
    link.write_text("keep me")
    result = subprocess.run(
        [str(BIN / "smartpos-sim"), "printer", "--serial", str(link), "--output", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert '"event":"error"' in result.stderr
    assert link.read_text() == "keep me"


def test_serial_and_mdns_exclude_each_other(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "smartpos-sim"), "printer", "--serial", str(tmp_path / "t"), "--mdns", "x"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "not allowed with" in result.stderr
