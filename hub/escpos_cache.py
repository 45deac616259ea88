"""Where python-escpos keeps its parsed printer database between runs.

On import, ``escpos.capabilities`` parses a 1 MB capabilities file with PyYAML (about 0.45 s on a
small box) and pickles the result into ``ESCPOS_CAPABILITIES_PICKLE_DIR``. Left unset, that
directory is a fresh ``mkdtemp()`` on every import: the cache never hits, every start pays the
full parse, and each start leaves one more directory in /tmp. So every entry point that imports
the renderer first points it at a directory that lasts: systemd's ``CacheDirectory=`` when run
as the service, else ``<data_dir>/cache``, else a per-user directory under the system temp dir.
This must run before anything imports ``protocols.escpos``.
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def candidates(data_dir: Path | None) -> list[Path]:
    """Cache directories in order of preference."""
    found: list[Path] = []
    systemd_cache = os.environ.get("CACHE_DIRECTORY")  # set by CacheDirectory=, ':'-separated
    if systemd_cache:
        found.append(Path(systemd_cache.split(":")[0]))
    if data_dir is not None:
        found.append(data_dir / "cache")
    found.append(Path(tempfile.gettempdir()) / f"smartpos-cache-{os.getuid()}")
    return found


def use_persistent_escpos_cache(data_dir: Path | None) -> Path | None:
    """Set ``ESCPOS_CAPABILITIES_PICKLE_DIR`` to the first usable directory; returns it.

    An explicit setting in the environment wins. When no directory can be made, nothing is set
    and python-escpos falls back to its own temp dir: slower, never fatal.
    """
    preset = os.environ.get(ENV)
    if preset:
        return Path(preset)
    for directory in candidates(data_dir):
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK | os.X_OK) and directory.stat().st_uid == os.getuid():
            _drop_torn_pickle(directory)
            os.environ[ENV] = str(directory)
            return directory
    return None


def _drop_torn_pickle(directory: Path) -> None:
    """Remove a cache file a crash cut short, or python-escpos fails on import, on every start.

    python-escpos opens the pickle for writing *before* its half-second parse, so power lost
    during the first start leaves an empty file that is newer than the source and is trusted
    from then on. A complete pickle ends with the STOP opcode; anything else is thrown away and
    rebuilt.
    """
    cached = directory / f"{platform.python_version()}.capabilities.pickle"
    try:
        with cached.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 1))
            complete = size > 0 and handle.read(1) == b"."
        if not complete:
            cached.unlink()
    except OSError:  # missing (the common case) or unreadable: python-escpos rebuilds it
        return
