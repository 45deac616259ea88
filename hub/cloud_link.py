"""The cloud link file: ``<data_dir>/cloud-link.toml``, written by ``smartpos-hub claim``.

The claim gives the hub its identity in the cloud (tenant, store, hub id) and its own broker
credentials. They are kept in the data dir rather than in ``hub.toml`` because the daemon's
user owns the data dir and the config file belongs to the administrator (it may be read-only,
managed by a configuration tool, or shared between boxes). :func:`apply_link` lays the file's
``[sync]`` values over the config's ``[sync]`` section: the link file wins for every key it
holds, ``hub.toml`` still decides the rest (keepalive, batch size, timeouts).

The file holds a password, so it is created 0600 and replaced atomically (written aside,
fsynced, renamed): a crash leaves either the old link or the new one, never half of one.
``[link]`` records where the claim came from, for ``smartpos-hub sync status``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from hub.config import ConfigError, HubConfig, SyncSection, _explain

LINK_FILE = "cloud-link.toml"
CA_FILE = "cloud-ca.pem"
# What a claim writes; a link file may hold any [sync] key, these are the ones it always holds.
LINK_KEYS = ("enabled", "broker", "username", "password", "tenant", "store", "hub_id", "ca_file")


class LinkInfo(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the link came from: the cloud's URL, the hub's name there, when it was claimed."""

    cloud: str = ""
    hub_name: str = ""
    claimed_at: str = ""


class CloudLink(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The link file as read: ``[link]`` facts and the ``[sync]`` values to lay over the config."""

    link: LinkInfo = msgspec.field(default_factory=LinkInfo)
    sync: dict[str, Any] = {}


class LinkExists(Exception):
    """A link file is already there and ``force`` was not given (a re-claim must be explicit)."""


def link_path(data_dir: Path) -> Path:
    """Where the link file of a hub with this data dir lives."""
    return data_dir / LINK_FILE


def read_link(data_dir: Path) -> CloudLink | None:
    """The link file, or None when the hub has not been claimed; ConfigError names a bad file."""
    path = link_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the cloud link file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return msgspec.convert(data, CloudLink)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(exc)}") from None


def merge_sync(section: SyncSection, link: CloudLink, data_dir: Path) -> SyncSection:
    """``section`` with the link's values laid over it, validated as a whole."""
    values = dict(link.sync)
    ca_file = values.get("ca_file")
    if isinstance(ca_file, str) and ca_file and not Path(ca_file).is_absolute():
        values["ca_file"] = str(data_dir / ca_file)  # relative to the data dir, like the file itself
    merged = {**msgspec.to_builtins(section), **values}
    try:
        return msgspec.convert(merged, SyncSection)
    except msgspec.ValidationError as exc:
        explained = _explain(exc)  # "key: problem", or the bare problem when it is about [sync]
        where = "sync: " if explained == str(exc) else "sync."
        raise ConfigError(f"{link_path(data_dir)}: {where}{explained}") from None


def apply_link(config: HubConfig) -> HubConfig:
    """``config`` with ``<data_dir>/cloud-link.toml`` laid over its ``[sync]`` section, if there is one."""
    link = read_link(config.data_dir)
    if link is None:
        return config
    return msgspec.structs.replace(config, sync=merge_sync(config.sync, link, config.data_dir))


def render_link(sync: Mapping[str, str | bool], info: LinkInfo) -> str:
    """The file's text. JSON string literals are valid TOML basic strings (same escapes)."""

    def value(item: str | bool) -> str:
        return ("true" if item else "false") if isinstance(item, bool) else json.dumps(item)

    lines = [
        "# Written by 'smartpos-hub claim': the hub's identity and broker credentials in the cloud.",
        "# Keep it private (mode 0600). Claim again with --force to replace it.",
        "",
        "[link]",
        *(f"{key} = {value(item)}" for key, item in msgspec.to_builtins(info).items()),
        "",
        "[sync]",
        *(f"{key} = {value(item)}" for key, item in sync.items()),
    ]
    return "\n".join(lines) + "\n"


def write_link(
    data_dir: Path,
    sync: Mapping[str, str | bool],
    info: LinkInfo,
    *,
    ca_pem: str | None,
    force: bool,
) -> Path:
    """Write the link file (and the broker's CA certificate when there is one); returns its path.

    ``sync`` holds the :data:`LINK_KEYS` except ``ca_file``, which is filled in here. The CA file
    goes first and the link file last, so the link never points at a certificate not yet on disk.
    Files are owned by the data dir's owner when root writes them (``sudo smartpos-hub claim``),
    so the daemon's user can read them.
    """
    path = link_path(data_dir)
    if path.exists() and not force:
        raise LinkExists(f"{path} already exists")
    ca_path = data_dir / CA_FILE
    if ca_pem:
        _write_private(ca_path, ca_pem.encode())
    values = {**sync, "ca_file": str(ca_path) if ca_pem else ""}
    text = render_link(values, info)
    # The text must read back as what was meant; anything else is a bug, not a file to leave.
    check = msgspec.convert(tomllib.loads(text), CloudLink)
    if check.sync != values:
        raise ValueError("the cloud link file does not read back as written")
    _write_private(path, text.encode())
    if not ca_pem:
        ca_path.unlink(missing_ok=True)  # a re-claim without TLS: no stale certificate
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``data``."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    partial.unlink(missing_ok=True)
    # Created 0600 from the first byte (no window in which it is readable by others).
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        owner = path.parent.stat()
        if os.geteuid() == 0 and (owner.st_uid, owner.st_gid) != (0, 0):
            os.chown(partial, owner.st_uid, owner.st_gid)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
