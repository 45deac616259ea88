"""``smartpos-sim scale`` as a real process on a pseudo-terminal, one test group per protocol.

The host side is a plain pyserial port and the expected bytes are written out by hand from
the reference sheet, so these check the simulator against the protocols, not against our codecs.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from tests.firmware_sim.simproc import BIN
from tests.firmware_sim.ttysim import TtySim

StartScale = Callable[..., TtySim]


@pytest.fixture
def start_scale(tmp_path: Path) -> Iterator[StartScale]:
    started: list[TtySim] = []

    def start(protocol: str, *extra: str) -> TtySim:
        sim = TtySim("scale", tmp_path / f"ttySCL{len(started)}", "--protocol", protocol, *extra).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        assert sim.stop() == 0
        assert not sim.link.is_symlink()


def ok(sim: TtySim, *commands: str) -> None:
    for command in commands:
        assert sim.control(command) == "ok", command


def ask(port: serial.Serial, request: bytes, size: int) -> bytes:
    port.write(request)
    return bytes(port.read(size))


def line(port: serial.Serial, request: bytes) -> bytes:
    port.write(request)
    return bytes(port.read_until(b"\r\n"))


# -- Toledo 8217 --------------------------------------------------------------------------
def test_toledo_weight_status_and_zero(start_scale: StartScale) -> None:
    sim = start_scale("toledo")
    assert sim.listening["protocol"] == "toledo"
    port = sim.open()
    ok(sim, "weight 1234")
    assert ask(port, b"W", 8) == bytes.fromhex("02 30 31 2E 32 33 34 0D")
    ok(sim, "motion on")
    # bit 0: in motion; bit 3: 1.234 kg is outside the zero range (2 % of 15 kg)
    assert ask(port, b"W", 4) == bytes.fromhex("02 3F 69 0D")
    ok(sim, "motion off", "overload on")
    assert ask(port, b"W", 4) == bytes([0x02, 0x3F, 0x60 | 0x02 | 0x08, 0x0D])
    ok(sim, "overload off", "underload on")
    assert ask(port, b"W", 4) == bytes([0x02, 0x3F, 0x60 | 0x04 | 0x08, 0x0D])
    ok(sim, "underload off")
    # Zero with 1.234 kg on a 15 kg scale: outside the +-300 g zero range, refused.
    assert ask(port, b"Z", 4) == bytes([0x02, 0x3F, 0x60 | 0x08, 0x0D])
    ok(sim, "weight 120")
    assert ask(port, b"Z", 4) == bytes([0x02, 0x3F, 0x60 | 0x10, 0x0D])  # centre of zero
    ok(sim, "weight 620")
    assert ask(port, b"W", 8) == b"\x0200.500\r"
    status = sim.status()
    assert (status["zero_offset_mg"], status["net_mg"], status["displayed"]) == (120_000, 500_000, "0.500")


def test_toledo_echo_handshake_and_other_letters(start_scale: StartScale) -> None:
    sim = start_scale("toledo", "--unit", "lb")
    port = sim.open()
    assert ask(port, b"Ehello", 8) == b"\x02E\rhello"
    assert ask(port, b"W", 1) == b"W"  # still echoing
    assert ask(port, b"F", 3) == b"\x02F\r"
    assert ask(port, b"A", 3) == b"\x02?\r"
    assert ask(port, b"Q", 4) == bytes([0x02, 0x3F, 0x70, 0x0D])  # unknown: the status
    ok(sim, "weight 453.592")
    assert ask(port, b"W", 8) == b"\x02001.00\r"  # a pound, two decimals
    assert sim.status()["commands"] == 5  # E, F, A, Q, W (echoed characters are no commands)


def test_toledo_faults(start_scale: StartScale) -> None:
    sim = start_scale("toledo")
    port = sim.open()
    ok(sim, "garbage_next")
    assert ask(port, b"W", 5) == b"\x02%%%\r"
    ok(sim, "silent on")
    port.timeout = 0.3
    assert ask(port, b"W", 1) == b""
    ok(sim, "silent off")
    assert ask(port, b"W", 8) == b"\x0200.000\r"


# -- MT-SICS ------------------------------------------------------------------------------
def test_sics_weights_and_errors(start_scale: StartScale) -> None:
    sim = start_scale("sics", "--unit", "g", "--decimals", "2", "--serial", "B123456789")
    port = sim.open()
    ok(sim, "weight 100")
    assert line(port, b"S\r\n") == b"S S     100.00 g\r\n"  # the sheet's example, byte for byte
    assert line(port, b"SI\r\n") == b"S S     100.00 g\r\n"
    ok(sim, "motion on")
    assert line(port, b"SI\r\n") == b"S D     100.00 g\r\n"
    ok(sim, "motion off", "overload on")
    assert line(port, b"SI\r\n") == b"S +\r\n"
    ok(sim, "overload off", "underload on")
    assert line(port, b"S\r\n") == b"S -\r\n"
    ok(sim, "underload off")
    assert line(port, b"I4\r\n") == b'I4 A "B123456789"\r\n'
    assert line(port, b"XYZ\r\n") == b"ES\r\n"
    assert line(port, b"S 1\r\n") == b"EL\r\n"
    assert line(port, b"S\x01\r\n") == b"ET\r\n"
    assert line(port, b"Y" * 300 + b"\r\n") == b"ES\r\n"


def test_sics_zero_and_tare(start_scale: StartScale) -> None:
    sim = start_scale("sics", "--stability-timeout", "0.2")
    port = sim.open()
    ok(sim, "weight 5000")
    assert line(port, b"Z\r\n") == b"Z +\r\n"  # 5 kg: above the zero range
    ok(sim, "weight -400")
    assert line(port, b"Z\r\n") == b"Z -\r\n"
    ok(sim, "weight 80")
    assert line(port, b"Z\r\n") == b"Z A\r\n"
    ok(sim, "weight 330")
    assert line(port, b"T\r\n") == b"T S      0.250 kg\r\n"
    ok(sim, "weight 1330")
    assert line(port, b"S\r\n") == b"S S      1.000 kg\r\n"
    ok(sim, "weight 0")
    assert line(port, b"T\r\n") == b"T -\r\n"  # below zero: no tare
    assert line(port, b"@\r\n") == b'I4 A "SIM0001"\r\n'  # reset clears the tare, not the zero
    assert (sim.status()["tare_mg"], sim.status()["zero_offset_mg"]) == (0, 80_000)
    ok(sim, "motion on")
    started = time.monotonic()
    assert line(port, b"Z\r\n") == b"Z I\r\n"  # no stability within the timeout
    assert time.monotonic() - started >= 0.18
    assert line(port, b"T\r\n") == b"T I\r\n"


def test_sics_stable_weight_waits_for_stability(start_scale: StartScale) -> None:
    sim = start_scale("sics", "--stability-timeout", "5")
    port = sim.open()
    ok(sim, "weight 2000", "motion on")
    port.write(b"S\r\n")
    port.timeout = 0.3
    assert port.read(1) == b""  # waiting for the load to settle
    ok(sim, "motion off")
    port.timeout = 2
    assert port.read_until(b"\r\n") == b"S S      2.000 kg\r\n"
    # @ cancels a waiting command, which then never answers.
    ok(sim, "motion on")
    port.write(b"S\r\n@\r\n")
    assert port.read_until(b"\r\n") == b'I4 A "SIM0001"\r\n'
    ok(sim, "motion off")
    port.timeout = 0.3
    assert port.read(1) == b""


# -- CAS ECR type 6 -----------------------------------------------------------------------
CAS_1500 = bytes.fromhex("01 02 53 20 30 31 2E 35 30 30 6B 67 65 03 04")


def test_cas_exchange(start_scale: StartScale) -> None:
    sim = start_scale("cas")
    port = sim.open()
    ok(sim, "weight 1500")
    assert ask(port, b"\x05", 1) == b"\x06"
    assert ask(port, b"\x11", 15) == CAS_1500
    assert ask(port, b"\x11", 1) == b"\x15"  # DC1 without ENQ
    ok(sim, "motion on")
    frame = ask(port, b"\x05\x11", 16)[1:]
    assert frame[2:4] == b"U " and frame[4:10] == b"01.500"
    ok(sim, "motion off", "overload on")
    assert ask(port, b"\x05\x11", 16)[3:5] == b"UF"
    ok(sim, "overload off", "tare")
    assert ask(port, b"\x05\x11", 16)[3:11] == b"S 00.000"
    ok(sim, "weight 1000")
    assert ask(port, b"\x05\x11", 16)[3:11] == b"S-00.500"  # net -0.5 kg: stable, negative
    ok(sim, "weight -500")  # under load: negative and never stable (no under-load code)
    assert ask(port, b"\x05\x11", 16)[3:11] == b"U-02.000"
    assert sim.control("tare") == "error refused: below"
    port.write(b"junk")  # line noise: ignored
    ok(sim, "garbage_next")
    garbled = ask(port, b"\x05", 1)
    assert garbled == b"\x7f"


# -- control port and start-up --------------------------------------------------------------
def test_control_errors_and_events(start_scale: StartScale) -> None:
    sim = start_scale("cas")
    for bad in ("weight", "weight x", "weight 1.0001", "weight 2000000", "motion maybe", "fly"):
        assert sim.control(bad).startswith("error"), bad
    events = sim.events()
    try:
        ok(sim, "weight 250")
        changed = events.wait("changed", load_mg=250_000)
        assert changed["net_mg"] == 250_000 and changed["protocol"] == "cas"
        ok(sim, "overload on")
        assert events.wait("changed", overload=True)["load_mg"] == 250_000
    finally:
        events.close()


def test_capacity_must_fit_the_protocol(tmp_path: Path) -> None:
    link = tmp_path / "ttyBIG"
    command = [str(BIN / "smartpos-sim"), "scale", "--protocol", "toledo", "--link", str(link)]
    result = subprocess.run([*command, "--capacity-kg", "150"], capture_output=True, timeout=30)
    assert result.returncode == 2 and b"does not fit" in result.stderr
    assert not link.exists()
