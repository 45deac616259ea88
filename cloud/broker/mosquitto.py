"""Mosquitto's password and ACL files, written from the cloud's ``hubs`` table.

The broker authenticates hubs from a password file and confines each one to its own topic
subtree with an ACL file. The cloud is the source of truth for both: after every claim or
revocation it rewrites the two files from the database (never by editing lines in place, so
a crash mid-way cannot leave a half-edited file) and sends the broker SIGHUP, which makes
Mosquitto re-read them and drop a client whose credentials are gone.

Passwords never exist in clear here: the ``hubs`` table keeps Mosquitto's own ``$7$`` hash.
The bridge's own account (which reads and writes every hub's topics) is hashed at start-up
from the configured password.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Hub
from cloud.domain.hubs.services import HubService
from cloud.security import mosquitto_hash
from cloud.settings import Settings
from protocols.sync.topics import ROOT, HubTopics, acl_lines

log = logging.getLogger(__name__)


class BrokerFilesError(RuntimeError):
    """The broker's files could not be written or the broker could not be told to reload."""


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """One login in the password file and its ACL block."""

    username: str
    password_hash: str
    acl: tuple[str, ...]


def hub_account(hub: Hub) -> BrokerAccount | None:
    """The account of an active hub; None for a pending or revoked one (no access at all)."""
    if hub.status != "active" or not hub.broker_username or not hub.broker_password_hash:
        return None
    topics = HubTopics(str(hub.tenant_id), str(hub.store_id), str(hub.id))
    return BrokerAccount(
        hub.broker_username, hub.broker_password_hash, tuple(acl_lines(topics, hub.broker_username))
    )


def bridge_account(username: str, password_hash: str) -> BrokerAccount:
    """The cloud bridge: reads and writes every hub's subtree, nothing else."""
    return BrokerAccount(username, password_hash, (f"user {username}", f"topic readwrite {ROOT}/#"))


@functools.lru_cache(maxsize=4)
def _bridge_hash(password: str) -> str:
    # One salt per process, so rewriting unchanged accounts yields identical files and the
    # broker is not reloaded for nothing.
    return mosquitto_hash(password)


def render(accounts: Sequence[BrokerAccount]) -> tuple[str, str]:
    """The password file and the ACL file for ``accounts``."""
    passwords = "".join(f"{a.username}:{a.password_hash}\n" for a in accounts)
    acl = "\n".join("\n".join(a.acl) + "\n" for a in accounts)
    return passwords, acl


def _write_atomically(path: Path, text: str) -> None:
    # Same directory, so the rename is atomic: the broker reads either the old or the new file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


class MosquittoFiles:
    """Writes the broker's files from the database and tells the broker to reload."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.password_file = Path(settings.mosquitto_password_file)
        self.acl_file = Path(settings.mosquitto_acl_file)
        self._bridge = bridge_account(settings.bridge_username, _bridge_hash(settings.bridge_password))

    @property
    def enabled(self) -> bool:
        """True when the cloud manages the broker's files."""
        return bool(self.settings.mosquitto_password_file and self.settings.mosquitto_acl_file)

    async def sync(self, session: AsyncSession) -> bool:
        """Rewrite both files from the ``hubs`` table and reload the broker.

        Returns False (and touches nothing) when the files already say what the table says.
        """
        hubs = (await session.scalars(select(Hub).where(Hub.status == "active").order_by(Hub.id))).all()
        accounts = [a for a in (hub_account(h) for h in hubs) if a is not None]
        passwords, acl = render([self._bridge, *accounts])
        if _read(self.password_file) == passwords and _read(self.acl_file) == acl:
            return False
        try:
            _write_atomically(self.password_file, passwords)
            _write_atomically(self.acl_file, acl)
        except OSError as exc:
            raise BrokerFilesError(f"cannot write the broker's files: {exc}") from exc
        self.reload()
        log.info("broker files rewritten", extra={"hubs": len(accounts)})
        return True

    def reload(self) -> None:
        """SIGHUP the broker named by the pid file (if one is configured)."""
        if not self.settings.mosquitto_pid_file:
            log.warning("no broker pid file configured: reload the broker yourself to apply the change")
            return
        try:
            pid = int(Path(self.settings.mosquitto_pid_file).read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError) as exc:
            raise BrokerFilesError(f"cannot signal the broker: {exc}") from exc


class BrokerHubService(HubService):
    """Hub provisioning that keeps the broker's files in step with every claim and revocation."""

    async def broker_credentials_changed(self, hub: Hub) -> None:
        """Rewrite the broker's password and ACL files and reload it (see the module docstring)."""
        await super().broker_credentials_changed(hub)
        try:
            await MosquittoFiles(self.settings).sync(self.session)
        except BrokerFilesError:
            # The claim or revocation itself is committed; the bridge re-syncs the files every
            # minute, so the broker catches up once it can be written to again.
            log.exception("broker files not updated after a credentials change")
