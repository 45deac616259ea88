"""``smartpos-sim scanner``: scans triggered on the control port arrive on the pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.firmware_sim.ttysim import TtySim


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[TtySim]:
    sim = TtySim("scanner", tmp_path / "ttySCN").start()
    yield sim
    sim.stop()


def test_scan_arrives_with_cr(scanner: TtySim) -> None:
    assert scanner.listening["tty"] == str(scanner.link)
    port = scanner.open()
    assert scanner.control("scan 4006381333931") == "ok"
    assert port.read(14) == b"4006381333931\r"
    assert scanner.status() == {"scans": 1}


def test_scans_in_order_and_host_bytes_ignored(scanner: TtySim) -> None:
    port = scanner.open()
    port.write(b"\x16M\r")  # a configuration command: read and ignored
    for code in ("ABC-123", "96385074", "Mixed Case 1"):
        assert scanner.control(f"scan {code}") == "ok"
    assert port.read(30) == b"ABC-123\r96385074\rMixed Case 1\r"
    assert scanner.status() == {"scans": 3}


def test_bad_commands(scanner: TtySim) -> None:
    assert scanner.control("scan").startswith("error usage")
    assert scanner.control("scan caf\u00e9").startswith("error the code must be printable ASCII")
    assert scanner.control("scan " + "9" * 8000).startswith("error usage")
    assert scanner.control("beep").startswith("error unknown command")
    assert scanner.status() == {"scans": 0}


@pytest.mark.parametrize(("suffix", "end"), [("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r")])
def test_suffix(tmp_path: Path, suffix: str, end: bytes) -> None:
    sim = TtySim("scanner", tmp_path / "ttySCN", "--suffix", suffix).start()
    try:
        port = sim.open()
        assert sim.control("scan 5901234123457") == "ok"
        assert port.read(13 + len(end)) == b"5901234123457" + end
        port.timeout = 0.2
        assert port.read(1) == b""
    finally:
        assert sim.stop() == 0
    assert not sim.link.is_symlink()
