"""The cloud's settings, read once from the environment into a typed struct."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec
from sqlalchemy.engine import make_url

from cloud.security import decode_key

DEFAULT_DB_URL = "sqlite+aiosqlite:///./cloud.db"
SECRET_KEY_FILE = "cloud-secret.key"  # noqa: S105  (a file name, not a secret)


class SettingsError(ValueError):
    """An environment variable holds a value the cloud cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the cloud service reads from its environment.

    ``SMARTPOS_CLOUD_DB_URL``: SQLAlchemy async URL; SQLite (aiosqlite) by default,
    ``postgresql+asyncpg://user:password@host/db`` at scale.
    ``SMARTPOS_CLOUD_HOST`` / ``SMARTPOS_CLOUD_PORT``: where ``serve`` listens.
    ``SMARTPOS_CLOUD_TOKEN_TTL_S``: lifetime of a login token.
    ``SMARTPOS_CLOUD_CLAIM_CODE_TTL_S``: how long a hub's claim code stays valid.

    The MQTT side (all optional; without ``SMARTPOS_CLOUD_BROKER_URL`` the cloud runs no bridge):
    ``SMARTPOS_CLOUD_BROKER_URL``: where the bridge connects (``mqtt://`` or ``mqtts://``).
    ``SMARTPOS_CLOUD_BROKER_PUBLIC_URL``: the broker address handed to hubs at claim time
    (defaults to the bridge's).
    ``SMARTPOS_CLOUD_BROKER_CA_FILE``: the broker's CA certificate, for the bridge and for hubs.
    ``SMARTPOS_CLOUD_BRIDGE_USERNAME`` / ``SMARTPOS_CLOUD_BRIDGE_PASSWORD``: the bridge's broker login.
    ``SMARTPOS_CLOUD_MOSQUITTO_PASSWORD_FILE`` / ``SMARTPOS_CLOUD_MOSQUITTO_ACL_FILE``: files the
    cloud rewrites from its hubs table; ``SMARTPOS_CLOUD_MOSQUITTO_PID_FILE``: the broker to
    signal (SIGHUP) after a rewrite.

    Outgoing webhooks: ``SMARTPOS_CLOUD_WEBHOOK_BACKOFF_S`` (comma-separated seconds to wait
    after each failed attempt; the last one repeats) and ``SMARTPOS_CLOUD_WEBHOOK_ALLOW_PRIVATE``
    (``true`` lets endpoints on loopback and private networks be called: development only).

    Secrets the cloud must read back (webhook signing secrets) are encrypted at rest under a
    key-encryption key: ``SMARTPOS_CLOUD_SECRET_KEY`` (32 bytes, base64), else the key file
    ``cloud-secret.key`` (mode 0600, made on first use) in ``SMARTPOS_CLOUD_DATA_DIR``, which
    defaults to the SQLite database's directory, or the current one (like ``./cloud.db``).
    """

    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8600
    token_ttl_s: int = 12 * 3600
    claim_code_ttl_s: int = 24 * 3600
    debug: bool = False
    broker_url: str = ""
    broker_public_url: str = ""
    broker_ca_file: str = ""
    bridge_username: str = "smartpos-cloud"
    bridge_password: str = ""
    mosquitto_password_file: str = ""
    mosquitto_acl_file: str = ""
    mosquitto_pid_file: str = ""
    # Outgoing webhooks: the wait after each failed attempt (the last repeats), and whether
    # endpoints on private and loopback addresses may be called (a dev box, never production).
    webhook_backoff_s: tuple[float, ...] = (10.0, 30.0, 120.0, 600.0, 3600.0)
    webhook_allow_private: bool = False
    # The key-encryption key (base64) and the directory of the cloud's own files (the key file).
    secret_key: str = ""
    data_dir: str = ""

    @property
    def data_path(self) -> Path:
        """The cloud's data directory: ``data_dir``, else the SQLite file's, else the current one."""
        if self.data_dir:
            return Path(self.data_dir)
        url = make_url(self.db_url)
        database = url.database or ""
        in_file = database not in {"", ":memory:"} and not database.startswith("file:")
        if url.get_backend_name() == "sqlite" and in_file:
            return Path(database).parent
        return Path()

    @property
    def secret_key_path(self) -> Path:
        """The key file used when ``secret_key`` is empty."""
        return self.data_path / SECRET_KEY_FILE

    @property
    def hub_broker_url(self) -> str:
        """The broker address hubs are told to use."""
        return self.broker_public_url or self.broker_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from ``environ`` (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
            if value <= 0:
                raise SettingsError(f"{name} must be positive, not {value}")
            return value

        return cls(
            db_url=env.get("SMARTPOS_CLOUD_DB_URL") or defaults.db_url,
            host=env.get("SMARTPOS_CLOUD_HOST") or defaults.host,
            port=integer("SMARTPOS_CLOUD_PORT", defaults.port),
            token_ttl_s=integer("SMARTPOS_CLOUD_TOKEN_TTL_S", defaults.token_ttl_s),
            claim_code_ttl_s=integer("SMARTPOS_CLOUD_CLAIM_CODE_TTL_S", defaults.claim_code_ttl_s),
            debug=env.get("SMARTPOS_CLOUD_DEBUG", "").lower() in {"1", "true", "yes"},
            broker_url=env.get("SMARTPOS_CLOUD_BROKER_URL", ""),
            broker_public_url=env.get("SMARTPOS_CLOUD_BROKER_PUBLIC_URL", ""),
            broker_ca_file=env.get("SMARTPOS_CLOUD_BROKER_CA_FILE", ""),
            bridge_username=env.get("SMARTPOS_CLOUD_BRIDGE_USERNAME") or defaults.bridge_username,
            bridge_password=env.get("SMARTPOS_CLOUD_BRIDGE_PASSWORD", ""),
            mosquitto_password_file=env.get("SMARTPOS_CLOUD_MOSQUITTO_PASSWORD_FILE", ""),
            mosquitto_acl_file=env.get("SMARTPOS_CLOUD_MOSQUITTO_ACL_FILE", ""),
            mosquitto_pid_file=env.get("SMARTPOS_CLOUD_MOSQUITTO_PID_FILE", ""),
            webhook_backoff_s=_seconds_list(
                env, "SMARTPOS_CLOUD_WEBHOOK_BACKOFF_S", defaults.webhook_backoff_s
            ),
            webhook_allow_private=_flag(env, "SMARTPOS_CLOUD_WEBHOOK_ALLOW_PRIVATE"),
            secret_key=_key(env, "SMARTPOS_CLOUD_SECRET_KEY"),
            data_dir=env.get("SMARTPOS_CLOUD_DATA_DIR", "").strip(),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes"}


def _key(env: Mapping[str, str], name: str) -> str:
    """A key-encryption key: 32 bytes in base64 (checked here, so a bad one stops the start)."""
    raw = env.get(name, "").strip()
    if raw:
        try:
            decode_key(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be 32 bytes in base64: {exc}") from None
    return raw


def _seconds_list(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """``"10,30,120"``: positive seconds, comma-separated."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated seconds, not {raw!r}") from None
    if any(value <= 0 for value in values):
        raise SettingsError(f"{name} must hold positive seconds, not {raw!r}")
    return values
