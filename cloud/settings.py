"""The cloud's settings, read once from the environment into a typed struct."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

DEFAULT_DB_URL = "sqlite+aiosqlite:///./cloud.db"


class SettingsError(ValueError):
    """An environment variable holds a value the cloud cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the cloud service reads from its environment.

    ``SMARTPOS_CLOUD_DB_URL``: SQLAlchemy async URL; SQLite (aiosqlite) by default,
    ``postgresql+asyncpg://user:password@host/db`` at scale.
    ``SMARTPOS_CLOUD_HOST`` / ``SMARTPOS_CLOUD_PORT``: where ``serve`` listens.
    ``SMARTPOS_CLOUD_TOKEN_TTL_S``: lifetime of a login token.
    ``SMARTPOS_CLOUD_CLAIM_CODE_TTL_S``: how long a hub's claim code stays valid.
    """

    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8600
    token_ttl_s: int = 12 * 3600
    claim_code_ttl_s: int = 24 * 3600
    debug: bool = False

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
        )
