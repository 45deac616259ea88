"""The python-escpos printer database is parsed once and survives a torn cache file."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from hub.escpos_cache import ENV, use_persistent_escpos_cache

IMPORT_RENDERER = (
    "import sys; from pathlib import Path; "
    "from hub.escpos_cache import use_persistent_escpos_cache; "
    "print(use_persistent_escpos_cache(Path(sys.argv[1]))); "
    "from protocols.escpos import ReceiptDocument, Text, render; "
    "assert render(ReceiptDocument(blocks=[Text('ok')]))"
)


def _import_renderer(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "CACHE_DIRECTORY")}
    return subprocess.run(
        [sys.executable, "-c", IMPORT_RENDERER, str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _pickle(data_dir: Path) -> Path:
    return data_dir / "cache" / f"{platform.python_version()}.capabilities.pickle"


def test_printer_database_is_cached_in_the_data_dir_and_reused(tmp_path: Path) -> None:
    first = _import_renderer(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(tmp_path / "cache")
    cached = _pickle(tmp_path)
    assert cached.stat().st_size > 0
    written = cached.stat().st_mtime_ns
    second = _import_renderer(tmp_path)
    assert second.returncode == 0, second.stderr
    assert cached.stat().st_mtime_ns == written, "a second start re-parsed instead of using the cache"


@pytest.mark.parametrize("torn", [b"", b"\x80\x02}q\x00(X\x08\x00\x00\x00profiles"])
def test_a_cache_file_torn_by_a_crash_is_rebuilt_not_trusted(tmp_path: Path, torn: bytes) -> None:
    cached = _pickle(tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(torn)
    result = _import_renderer(tmp_path)
    assert result.returncode == 0, result.stderr
    assert cached.read_bytes().endswith(b".") and len(cached.read_bytes()) > 1000


def test_an_explicit_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "mine"))
    assert use_persistent_escpos_cache(tmp_path / "data") == tmp_path / "mine"
    assert not (tmp_path / "data").exists()


def test_systemd_cache_directory_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("CACHE_DIRECTORY", f"{tmp_path / 'var-cache'}:{tmp_path / 'other'}")
    assert use_persistent_escpos_cache(tmp_path / "data") == tmp_path / "var-cache"
    assert os.environ[ENV] == str(tmp_path / "var-cache")


def test_processes_starting_together_on_an_empty_cache_all_start(tmp_path: Path) -> None:
    """A CLI command beside the daemon, or test workers: none may read a half-written cache."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "CACHE_DIRECTORY")}
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORT_RENDERER, str(tmp_path)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    for start in starts:
        _, stderr = start.communicate(timeout=120)
        assert start.returncode == 0, stderr
    assert _pickle(tmp_path).read_bytes().endswith(b".")
    assert not list((tmp_path / "cache").glob(".capabilities-*")), "a temporary file was left behind"
