"""The technician's maintenance commands against a real hub process: logs (and --follow),
diagnose (live and with the hub down), backup and restore, reset-pairing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tarfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import HubProcess, PrinterSim, free_port, http, printer_device, wait_for

SMTP_SECRET = "smtp-Secret-4711"  # test values the bundle must not contain
SYNC_SECRET = "sync-Secret-0815"


def run_cli(hub: HubProcess, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m hub.cli.main`` with no terminal on stdin, as a script or cron job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli.main", *args, "--config", str(hub.config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=cwd or hub.workdir,
        env={**os.environ, **hub.env},
    )


def json_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def pair(hub: HubProcess, name: str) -> str:
    status, code = http("POST", hub.url + "/api/v1/pairing-codes", token=hub.admin_token)
    assert status == 201, code
    status, paired = http("POST", hub.url + "/api/v1/pair", body={"code": code["code"], "name": name})
    assert status == 201, paired
    return str(paired["token"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bundle(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


@pytest.fixture
def two_printers(tmp_path: Path, sim: PrinterSim) -> Iterator[HubProcess]:
    """``receipt`` on the simulator and ``ghost`` on a port where nothing listens."""
    ghost = {"id": "ghost", "kind": "printer", "driver": "escpos", "url": f"tcp://127.0.0.1:{free_port()}"}
    process = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5), ghost]).start()
    yield process
    process.stop()


def test_logs_show_device_records_and_filter(two_printers: HubProcess) -> None:
    hub = two_printers

    def logs(*extra: str) -> list[dict[str, Any]]:
        return json_lines(run_cli(hub, "logs", "--json", "--lines", "2000", *extra))

    wait_for(
        lambda: any(r["device"] == "receipt" and r["message"] == "printer connected" for r in logs()),
        what="the receipt printer's connect record",
    )
    wait_for(lambda: any(r["device"] == "ghost" for r in logs()), what="a record about the ghost printer")
    records = logs()
    ids = [r["id"] for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ghost = logs("--device", "ghost")
    assert ghost and {r["device"] for r in ghost} == {"ghost"}
    assert any("unreachable" in r["message"] for r in ghost)
    assert {r["level"] for r in logs("--level", "warning")} <= {"warning", "error", "critical"}
    text = run_cli(hub, "logs", "--device", "receipt", "--lines", "3")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert 1 <= len(lines) <= 3 and all("[receipt]" in line for line in lines)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING) ", lines[0]), lines[0]
    assert run_cli(hub, "logs", "--lines", "-1").returncode == 2


def test_logs_follow_picks_up_a_new_record(hub: HubProcess, sim: PrinterSim) -> None:
    wait_for(
        lambda: json_lines(run_cli(hub, "logs", "--json", "--device", "receipt")), what="receipt records"
    )
    follower = subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", "logs", "--follow", "--json", "--device", "receipt",
         "--lines", "1", "--config", str(hub.config_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    stdout = follower.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        first = json.loads(lines.get(timeout=20))  # the backlog line: the follower is polling now
        sim.control("paper_out on")
        while True:
            record = json.loads(lines.get(timeout=20))
            assert record["device"] == "receipt" and record["id"] > first["id"]
            if record["message"] == "device status" and "paper_out" in json.dumps(record["extra"]):
                break
        follower.send_signal(signal.SIGINT)  # Ctrl-C
        assert follower.wait(10) == 130
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        for stream in (follower.stdout, follower.stderr):
            if stream is not None:
                stream.close()


def test_diagnose_bundle_live_and_offline(tmp_path: Path, sim: PrinterSim) -> None:
    extra = f'[smtp]\nusername = "shop"\npassword = "{SMTP_SECRET}"\n\n[sync]\npassword = "{SYNC_SECRET}"\n'
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)], extra_toml=extra).start()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    try:
        result = run_cli(hub, "diagnose", cwd=out_dir)
        assert result.returncode == 0, result.stderr
        (path,) = out_dir.glob("smartpos-diagnostics-test-hub-*.tar.gz")
        assert str(path) in result.stdout and "bytes" in result.stdout
        files = bundle(path.read_bytes())
        assert {"config.toml", "versions.json", "devices.json", "recent_errors.json", "integrity.txt",
                "sync.json", "manifest.json"} <= set(files)  # fmt: skip
        for name, content in files.items():
            assert SMTP_SECRET not in content and SYNC_SECRET not in content, name
        config = tomllib.loads(files["config.toml"])
        assert config["smtp"]["password"] == "***" and config["sync"]["password"] == "***"
        assert config["smtp"]["username"] == "shop" and config["devices"][0]["id"] == "receipt"
        assert files["integrity.txt"].splitlines()[0] == "ok"
        assert [d["id"] for d in json.loads(files["devices.json"])] == ["receipt"]
        assert "aiohttp" in json.loads(files["versions.json"])["libraries"]
        assert json.loads(files["manifest.json"])["source"] == "daemon"
        assert "enabled" in json.loads(files["sync.json"])

        hub.stop()
        result = run_cli(hub, "diagnose", "--out", str(out_dir / "offline.tar.gz"), "--json")
        assert result.returncode == 0, result.stderr
        assert "not running" in result.stderr
        summary = json.loads(result.stdout)
        assert summary["source"] == "offline" and summary["integrity_ok"] is True
        files = bundle((out_dir / "offline.tar.gz").read_bytes())
        assert SMTP_SECRET not in files["config.toml"] and "***" in files["config.toml"]
        (device,) = json.loads(files["devices.json"])
        assert device["id"] == "receipt" and device["last_status"]["status"] == "online"

        # A damaged database: the bundle is still written, and the exit code says so.
        db = hub.data_dir / "hub.db"
        raw = bytearray(db.read_bytes())
        for offset in range(4096 + 64, len(raw), 4096):
            raw[offset : offset + 256] = os.urandom(256)
        db.write_bytes(bytes(raw))
        result = run_cli(hub, "diagnose", "--out", str(out_dir / "damaged.tar.gz"))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "INTEGRITY CHECK FAILED" in result.stderr
        assert bundle((out_dir / "damaged.tar.gz").read_bytes())["integrity.txt"].splitlines()[0] != "ok"
    finally:
        hub.stop()


def test_cli_knows_the_daemons_database_file() -> None:
    from hub.app import DB_FILE
    from hub.cli.maintenance import DB_FILE as CLI_DB_FILE

    assert CLI_DB_FILE == DB_FILE


def test_backup_and_restore_round_trip(hub: HubProcess, tmp_path: Path) -> None:
    tablet = hub.token  # paired before the backup
    result = run_cli(hub, "backup", "--json")
    assert result.returncode == 0, result.stderr
    backup = Path(json.loads(result.stdout)["path"])
    later = pair(hub, "paired-after-backup")

    result = run_cli(hub, "restore", str(backup), "--yes")
    assert result.returncode == 5 and "stop the hub first" in result.stderr

    hub.stop()
    assert run_cli(hub, "logs").returncode == 3
    db = hub.data_dir / "hub.db"
    before = sha256(db)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100)
    result = run_cli(hub, "restore", str(text_file), "--yes")
    assert result.returncode == 1 and "nothing was changed" in result.stderr
    result = run_cli(hub, "restore", str(backup))  # no --yes and no terminal to ask on
    assert result.returncode == 2 and "--yes" in result.stderr
    assert sha256(db) == before and not list((hub.data_dir / "backups").glob("hub-before-restore-*"))

    result = run_cli(hub, "restore", str(backup), "--yes", "--json")
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["database"] == str(db.absolute()) and Path(done["previous"]).is_file()
    assert Path(done["previous"]).name.startswith("hub-before-restore-")
    assert sha256(Path(done["previous"])) != sha256(db)
    assert not list(hub.data_dir.glob("*.restore-tmp*")) and not list(backup.parent.glob("*-wal"))

    hub.start()
    status, tokens = http("GET", hub.url + "/api/v1/tokens", token=hub.admin_token)
    live = {t["name"] for t in tokens["tokens"] if t["revoked_at"] is None}
    assert status == 200 and "test-tablet" in live and "paired-after-backup" not in live
    assert http("GET", hub.url + "/api/v1/devices", token=tablet)[0] == 200
    assert http("GET", hub.url + "/api/v1/devices", token=later)[0] == 401


def test_reset_pairing_revokes_tablets_and_prints_a_code(hub: HubProcess) -> None:
    tablet = hub.token
    assert http("GET", hub.url + "/api/v1/devices", token=tablet)[0] == 200
    result = run_cli(hub, "reset-pairing")
    assert result.returncode == 2 and "--yes" in result.stderr
    assert http("GET", hub.url + "/api/v1/devices", token=tablet)[0] == 200

    result = run_cli(hub, "reset-pairing", "--yes", "--json")
    assert result.returncode == 0, result.stderr
    reset = json.loads(result.stdout)
    assert [t["name"] for t in reset["revoked"]] == ["test-tablet"]
    assert re.fullmatch(r"\d{4}-\d{4}", reset["code"])
    status, body = http("GET", hub.url + "/api/v1/devices", token=tablet)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, paired = http(
        "POST", hub.url + "/api/v1/pair", body={"code": reset["code"], "name": "new-tablet"}
    )
    assert status == 201, paired
    status, audit = http("GET", hub.url + "/api/v1/audit?action=pairing.reset", token=hub.admin_token)
    assert status == 200 and len(audit["entries"]) == 1

    result = run_cli(hub, "reset-pairing", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Revoked 1 tablet token(s)" in result.stdout and "new-tablet" in result.stdout
    assert re.search(r"New pairing code: \d{4}-\d{4}", result.stdout)
    assert run_cli(hub, "tokens").returncode == 0  # the CLI's own credential survived
