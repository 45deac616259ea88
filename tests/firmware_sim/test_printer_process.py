"""``smartpos-sim printer`` as a real process: status answers, faults, timing, backpressure, events."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from escpos.printer import Dummy

from tests.firmware_sim.simproc import (
    BIN,
    Sim,
    recv_exactly,
    recv_nothing,
    stays,
    wait_until,
)
from tests.support.procs import free_port

STATUS_ALL = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
CUT = b"\x1dV\x00"
LINE_S_AT_50 = 4.23 / 50  # one line at 50 mm/s


def status(sock: socket.socket, *ns: int) -> bytes:
    sock.sendall(b"".join(bytes((0x10, 0x04, n)) for n in ns))
    return recv_exactly(sock, len(ns))


def process_id(ident: bytes) -> bytes:
    return b"\x1d(H\x06\x0000" + ident


def test_listening_line_reports_the_ports_it_was_given(start_sim: Callable[..., Sim]) -> None:
    port, control_port = free_port(), free_port()
    sim = start_sim(port=port, control_port=control_port)
    assert (sim.port, sim.control_port) == (port, control_port)
    with sim.connect() as sock:
        assert status(sock, 1) == b"\x16"


def test_all_normal_status(printer: Sim) -> None:
    with printer.connect() as sock:
        assert status(sock, 1, 2, 3, 4) == bytes.fromhex("16 12 12 12")
        sock.sendall(b"\x10\x04\x05\x10\x04\x00")
        assert recv_nothing(sock, 0.2), "n outside 1..4 gets no answer"
        assert status(sock, 1) == b"\x16"


def test_fault_switches_set_status_bits(printer: Sim) -> None:
    with printer.connect() as sock:
        printer.set("paper_out on")
        assert status(sock, 1, 2, 3, 4) == bytes.fromhex("1E 32 12 7E")
        printer.set("paper_out off")
        printer.set("cover_open on")
        assert status(sock, 1, 2, 3, 4) == bytes.fromhex("1E 16 12 12")
        printer.set("cover_open off")
        printer.set("paper_near_end on")
        assert status(sock, 1, 2, 3, 4) == bytes.fromhex("16 12 12 1E")
        printer.set("paper_near_end off")
        printer.set("drawer open")
        assert status(sock, 1) == b"\x12"
        printer.set("drawer closed")
        printer.set("error on")
        assert status(sock, 1, 2, 3) == bytes.fromhex("1E 52 52")
        printer.set("error off")
        assert status(sock, 1, 2, 3, 4) == bytes.fromhex("16 12 12 12")


def test_near_end_still_prints(printer: Sim) -> None:
    printer.set("paper_near_end on")
    with printer.connect() as sock:
        sock.sendall(b"still printing\n")
        printer.wait_paper("still printing\n")


def test_status_request_inside_data_is_not_answered(printer: Sim) -> None:
    with printer.connect() as sock:
        image = b"\x1dv0\x00\x01\x00\x03\x00" + b"\x10\x04\x01"  # 1 byte x 3 rows of image data
        qr = b"\x1d(k\x06\x001P0" + b"\x10\x04\x01"  # QR store whose data is 10 04 01
        sock.sendall(image + qr + b"\x1d(k\x03\x001Q0" + b"\x10\x04\x02")
        assert recv_exactly(sock, 1) == b"\x12", "only the real DLE EOT 2 is answered"
        assert recv_nothing(sock, 0.3)
    assert printer.wait_paper("[QR]").splitlines() == ["[IMAGE 8x3]", "[QR] \x10\x04\x01"]


def test_paper_out_holds_data_and_prints_it_in_order_afterwards(printer: Sim) -> None:
    printer.set("paper_out on")
    with printer.connect() as sock:
        sock.sendall(b"first\nsecond\n" + CUT)
        assert status(sock, 1, 4) == bytes.fromhex("1E 7E"), "real-time status answered while held"
        wait_until(lambda: printer.status()["backlog_bytes"] == 16, what="16 bytes buffered")
        assert stays(lambda: printer.paper() == "", 0.3), "nothing prints without paper"
        sock.sendall(b"third\n")
        printer.set("paper_out off")
        printer.wait_paper("third")
    assert printer.paper() == "first\nsecond\n--- CUT ---\nthird\n"


def test_cover_open_holds_the_process_id_answer(printer: Sim) -> None:
    printer.set("cover_open on")
    with printer.connect() as sock:
        sock.sendall(b"receipt\n" + CUT + process_id(b"0042"))
        assert recv_nothing(sock, 0.3), "not confirmed while nothing can print"
        printer.set("cover_open off")
        assert recv_exactly(sock, 7) == b"\x37\x22" + b"0042" + b"\x00"
    assert printer.paper() == "receipt\n--- CUT ---\n"


def test_process_id_comes_after_the_text_printed_at_paper_speed(start_sim: Callable[..., Sim]) -> None:
    sim = start_sim("--paper-speed", "50")
    lines = [f"line {i}".encode() for i in range(8)]
    with sim.connect() as sock:
        start = time.monotonic()
        sock.sendall(b"\n".join(lines) + b"\n" + CUT + process_id(b"0001"))
        assert recv_exactly(sock, 7) == b"\x37\x22" + b"0001" + b"\x00"
        elapsed = time.monotonic() - start
        assert sim.paper().endswith("line 7\n--- CUT ---\n"), "everything before it is on paper"
    assert elapsed >= 8 * LINE_S_AT_50 * 0.95, f"answered after {elapsed:.3f}s"
    assert elapsed < 8 * LINE_S_AT_50 + 2.0


def test_speed_can_change_while_running(printer: Sim) -> None:
    printer.set("speed 50")
    with printer.connect() as sock:
        start = time.monotonic()
        sock.sendall(b"a\nb\nc\n" + process_id(b"0002"))
        assert recv_exactly(sock, 7)[2:6] == b"0002"
        assert time.monotonic() - start >= 3 * LINE_S_AT_50 * 0.95
    assert printer.control("speed -1").startswith("error")
    assert printer.control("speed fast").startswith("error")
    assert printer.status()["speed_mm_s"] == 50.0


def test_offline_stops_answering_until_it_is_back(printer: Sim) -> None:
    with printer.connect() as sock:
        assert status(sock, 1) == b"\x16"
        printer.set("offline on")
        sock.sendall(b"\x10\x04\x01")
        assert recv_nothing(sock, 0.5), "an offline printer answers nothing"
        with printer.connect() as late:  # accepted by the kernel, but not served
            late.sendall(b"\x10\x04\x04")
            assert recv_nothing(late, 0.3)
            printer.set("offline off")
            assert recv_exactly(sock, 1) == b"\x16", "the pending request is answered once it is back"
            assert recv_exactly(late, 1) == b"\x12"


def test_full_buffer_pushes_back_on_the_host(start_sim: Callable[..., Sim]) -> None:
    sim = start_sim("--paper-speed", "20", "--buffer-size", "256")
    line = b"x" * 39 + b"\n"
    payload = line * 25_000  # 1 MB: far more than the buffer and the sockets hold
    with sim.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        writer = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        writer.start()
        writer.join(0.7)
        assert writer.is_alive(), "a printer with a full buffer stops taking data"
        backlog = sim.status()["backlog_bytes"]
        assert 0 < backlog <= 256 + len(line), backlog
        sim.set("speed 0")  # let it drain
        writer.join(20)
        assert not writer.is_alive()
        assert status(sock, 1) == b"\x16"
    wait_until(lambda: sim.status()["counters"]["lines_printed"] == 25_000, timeout=20, what="all lines")
    assert sim.paper() == (line * 25_000).decode()


def test_connections_have_their_own_parser_and_share_the_paper(printer: Sim) -> None:
    with printer.connect() as a, printer.connect() as b:
        a.sendall(b"\x1dv0\x00\x01\x00\x02\x00\x0a")  # an image missing its last data byte
        b.sendall(b"from b\n")
        printer.wait_paper("from b")
        a.sendall(b"\x0a" + b"from a\n")  # completes the image; 0A is data, not a line feed
        printer.wait_paper("from a")
    assert printer.paper() == "from b\n[IMAGE 8x2]\nfrom a\n"


def test_disconnect_mid_command(printer: Sim) -> None:
    events = printer.events()
    try:
        with printer.connect() as sock:
            sock.sendall(b"printed\n\x1dv0\x00\x10\x00\x10\x00" + b"\x00" * 20)
            events.wait("connection", state="opened")
        events.wait("connection", state="closed")
        printer.wait_paper("printed\n")
        with printer.connect() as sock:  # a new connection starts from a clean parser
            sock.sendall(b"next\n")
            printer.wait_paper("next")
        assert printer.paper() == "printed\nnext\n"
    finally:
        events.close()


def test_half_closed_client_still_gets_its_answer(printer: Sim) -> None:
    with printer.connect() as sock:
        sock.sendall(b"piped\n" + CUT + process_id(b"0009"))
        sock.shutdown(socket.SHUT_WR)  # as `printf ... | nc printer 9100` does
        assert recv_exactly(sock, 7)[2:6] == b"0009"
        assert recv_exactly(sock, 1) == b"", "then the printer closes the connection"


def test_output_file_has_lines_markers_and_cuts(printer: Sim) -> None:
    dummy = Dummy()
    dummy.text("Račun br. 7\n")
    dummy.qr("https://example.invalid/r/7", native=True)
    dummy.barcode("4006381333931", "EAN13")
    dummy.cashdraw(2)
    dummy.cut()
    with printer.connect() as sock:
        sock.sendall(bytes(dummy.output) + b"second receipt\n" + b"\x1dVB\x00" + b"\x1b\x01")
        printer.wait_paper("[UNKNOWN 1B 01]")
        sock.sendall(b"\x10\x14\x01\x00\x01")  # real-time: on paper as soon as it is received
        printer.wait_paper("pulse_ms")
    assert printer.paper().splitlines() == [
        "Račun br. 7",
        "[QR] https://example.invalid/r/7",
        "[BARCODE EAN13] 4006381333931",
        "[DRAWER pin=2 on_ms=100 off_ms=100]",
        "--- CUT ---",
        "second receipt",
        "--- PARTIAL CUT ---",
        "[UNKNOWN 1B 01]",
        "[DRAWER pin=2 pulse_ms=100]",
    ]
    counters = printer.status()["counters"]
    assert counters["receipts"] == 2 and counters["unknown_commands"] == 1


def test_subscribe_streams_events(printer: Sim) -> None:
    events = printer.events()
    try:
        printer.set("paper_near_end on")
        assert events.wait("switch")["name"] == "paper_near_end"
        before = time.time()
        with printer.connect() as sock:
            sock.sendall(b"receipt\n\x1bp\x00\x32\xfa" + CUT + process_id(b"0007"))
            assert recv_exactly(sock, 7)[2:6] == b"0007"
            sock.sendall(b"\x10\x14\x01\x01\x02")
            opened = events.wait("connection", state="opened")
            kick = events.wait("drawer", pin=2)
            cut = events.wait("cut")
            pid = events.wait("process_id")
            pulse = events.wait("drawer", pin=5)
        closed = events.wait("connection", state="closed")
        assert before <= opened["t"] <= kick["t"] <= cut["printed_t"] <= pid["t"] <= closed["t"]
        assert cut["receipt"] == 1 and cut["partial"] is False
        assert before <= cut["t"] <= cut["printed_t"]
        assert pid["id"] == "0007" and pulse["pulse_ms"] == 200
        assert printer.status()["counters"]["connections"] == 1
    finally:
        events.close()


def test_cut_time_is_reception_not_print_time(start_sim: Callable[..., Sim]) -> None:
    sim = start_sim("--paper-speed", "50")
    events = sim.events()
    try:
        with sim.connect() as sock:
            sent = time.time()
            sock.sendall(b"a\nb\nc\nd\ne\n" + CUT)
            cut = events.wait("cut")
        assert cut["t"] - sent < 0.2, "t is when the last byte of the cut arrived"
        assert cut["printed_t"] - cut["t"] >= 5 * LINE_S_AT_50 * 0.95
    finally:
        events.close()


def test_control_port_errors(printer: Sim) -> None:
    assert printer.control("paper_out maybe") == "error usage: paper_out on|off"
    assert printer.control("drawer ajar") == "error usage: drawer open|closed"
    assert printer.control("frobnicate").startswith("error unknown command")
    status_json = printer.status()
    assert status_json["switches"]["paper_out"] is False
    assert set(status_json["counters"]) >= {"receipts", "bytes_received", "lines_printed", "connections"}


def test_sigterm_stops_cleanly_with_paper_flushed(tmp_path: Path) -> None:
    sim = Sim(tmp_path).start()
    with sim.connect() as sock:
        sock.sendall(b"last words\n")
        sim.wait_paper("last words")
    assert sim.stop() == 0


def test_paper_to_stdout(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(BIN / "smartpos-sim"), "printer", "--port", "0", "--output", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ports = json.loads(proc.stderr.readline())
        assert ports["control_port"] > 0, "a control port is always opened (0 picks a free one)"
        with socket.create_connection(("127.0.0.1", ports["port"]), timeout=5) as sock:
            sock.sendall(b"to stdout\n" + CUT)
            assert proc.stdout.readline() == b"to stdout\n"
            assert proc.stdout.readline() == b"--- CUT ---\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
