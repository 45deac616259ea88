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

import contextlib
import importlib.util
import logging
import os
import pickle
import platform
import tempfile
from pathlib import Path

import yaml

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"
log = logging.getLogger(__name__)


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
        if os.access(preset, os.W_OK | os.X_OK):
            _prepare(Path(preset))
        return Path(preset)
    for directory in candidates(data_dir):
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK | os.X_OK) and directory.stat().st_uid == os.getuid():
            _prepare(directory)
            os.environ[ENV] = str(directory)
            return directory
    return None


def _prepare(directory: Path) -> None:
    _drop_torn_pickle(directory)
    try:
        _build_pickle(directory)
    except (OSError, ValueError, pickle.PickleError, yaml.YAMLError) as exc:
        # python-escpos then builds it itself, as before: slower for one start, never fatal.
        log.debug("could not prepare the printer database cache", extra={"error": str(exc)})


def _build_pickle(directory: Path) -> None:
    """Write python-escpos' pickle ourselves, atomically, when it is missing or stale.

    python-escpos writes the file in place while it parses, so a second process starting in
    that half second (a CLI command beside the daemon, test workers, a restart) reads a torn
    file and fails on import. Built here into a temporary file and renamed into place, the
    pickle is either absent, old or complete; python-escpos finds it newer than its database
    and only reads it.
    """
    if os.environ.get("ESCPOS_CAPABILITIES_FILE"):
        return  # a database of the operator's own: python-escpos handles that one
    spec = importlib.util.find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return
    source = Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
    cached = directory / f"{platform.python_version()}.capabilities.pickle"
    try:
        if cached.stat().st_mtime > source.stat().st_mtime:
            return
    except FileNotFoundError:
        pass
    with source.open(encoding="utf-8") as handle:
        database = yaml.safe_load(handle)  # how python-escpos reads it (the file is JSON)
    if not database:
        raise ValueError(f"{source} holds no printer database")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".capabilities-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(database, out)
        os.replace(temporary, cached)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


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
