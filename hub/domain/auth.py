"""Who may talk to the hub: paired tablets, the local admin (the CLI), pairing codes.

- Pairing: the technician runs ``smartpos-hub pair``; the daemon makes a one-time code that
  lives a few minutes. A tablet exchanges it (``POST /api/v1/pair``) for a device token.
- Tokens are 256-bit random strings; only their SHA-256 is stored, so a stolen database does
  not hand out working tokens.
- The CLI authenticates with a local admin token that the daemon writes at start-up to
  ``<data_dir>/admin.token`` with mode 0600: readable only by the service user and root.
- Failed pairing attempts are rate limited so the short code cannot be guessed online.
"""

from __future__ import annotations

import collections
import hashlib
import os
import secrets
import time
from pathlib import Path
from typing import Literal

import msgspec

from hub.db.database import Database
from hub.domain import audit
from hub.domain.clock import iso_in, now_iso

Role = Literal["admin", "device"]
ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name, not a secret
LOCAL_ADMIN = "local-admin"


class Principal(msgspec.Struct, frozen=True):
    """The caller behind a token."""

    token_id: int
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}#{self.token_id}"


class TokenInfo(msgspec.Struct, frozen=True):
    id: int
    name: str
    role: Role
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class PairingError(Exception):
    """A pairing code was wrong, expired or already used."""


class PairingRateLimited(Exception):
    """Too many wrong pairing codes recently; try again later."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed pairing attempts; retry in {retry_after:.0f}s")
        self.retry_after = retry_after


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


class AuthService:
    """Tokens, pairing codes and the local admin credential."""

    FAILURES_ALLOWED = 10
    FAILURE_WINDOW_S = 60.0

    def __init__(self, db: Database, *, code_ttl_s: int = 300) -> None:
        self._db = db
        self._code_ttl_s = code_ttl_s
        self._cache: dict[str, Principal] = {}
        self._failures: collections.deque[float] = collections.deque()

    async def install_admin_token(self, data_dir: Path) -> Path:
        """Mint a fresh local admin token, store its hash and write it to a 0600 file."""
        token = secrets.token_urlsafe(32)
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND role = 'admin' AND revoked_at IS NULL",
                (now_iso(), LOCAL_ADMIN),
            )
            await tx.execute(
                "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, 'admin', ?, ?)",
                (LOCAL_ADMIN, _hash(token), now_iso()),
            )
        self._cache.clear()
        path = data_dir / ADMIN_TOKEN_FILE
        partial = path.with_name(path.name + ".new")
        partial.unlink(missing_ok=True)
        # Created 0600 from the first byte (no chmod race), then renamed into place.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        partial.replace(path)
        return path

    async def authenticate(self, token: str) -> Principal | None:
        """The principal for a bearer token, or None for an unknown or revoked one."""
        if not token or len(token) > 256:
            return None
        digest = _hash(token)
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        row = await self._db.fetchone(
            "SELECT id, name, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if row is None:
            return None
        principal = Principal(token_id=row["id"], name=row["name"], role=row["role"])
        self._cache[digest] = principal
        return principal

    async def create_pairing_code(self, actor: Principal) -> tuple[str, str]:
        """A new one-time code (``1234-5678``) and its expiry time."""
        code = f"{secrets.randbelow(10**8):08d}"
        expires_at = iso_in(self._code_ttl_s)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?, ?, ?)",
                (_hash(code), now_iso(), expires_at),
            )
            await audit.record(
                tx,
                actor=actor.actor,
                action="pairing.code_created",
                details={"expires_at": expires_at},
            )
        return f"{code[:4]}-{code[4:]}", expires_at

    def _check_rate(self) -> None:
        cutoff = time.monotonic() - self.FAILURE_WINDOW_S
        while self._failures and self._failures[0] < cutoff:
            self._failures.popleft()
        if len(self._failures) >= self.FAILURES_ALLOWED:
            raise PairingRateLimited(self._failures[0] + self.FAILURE_WINDOW_S - time.monotonic())

    async def pair(self, code: str, name: str) -> tuple[str, Principal]:
        """Exchange a pairing code for a new device token (returned once, never stored)."""
        self._check_rate()
        digest = _hash(_normalise_code(code))
        token = secrets.token_urlsafe(32)
        token_id: int | None = None
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, expires_at, used_at FROM pairing_codes WHERE code_hash = ?", (digest,)
            )
            if row is None or row["used_at"] is not None or row["expires_at"] < now_iso():
                self._failures.append(time.monotonic())
                reason = "unknown" if row is None else ("used" if row["used_at"] else "expired")
                await audit.record(
                    tx, actor=f"pairing:{name}", action="pairing.failed", details={"reason": reason}
                )
                failed = True
            else:
                failed = False
                cursor = await tx.execute(
                    "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, 'device', ?, ?)",
                    (name, _hash(token), now_iso()),
                )
                token_id = cursor.lastrowid
                await tx.execute(
                    "UPDATE pairing_codes SET used_at = ?, token_id = ? WHERE id = ?",
                    (now_iso(), token_id, row["id"]),
                )
                await audit.record(tx, actor=f"device:{name}#{token_id}", action="pairing.paired")
        if failed or token_id is None:
            # Committed above so the failure is audited; the caller learns nothing about why.
            raise PairingError("pairing code is wrong, expired or already used")
        return token, Principal(token_id=token_id, name=name, role="device")

    async def list_tokens(self) -> list[TokenInfo]:
        rows = await self._db.fetchall(
            "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id"
        )
        return [TokenInfo(**dict(row)) for row in rows]

    async def reset_pairing(self, actor: Principal) -> list[TokenInfo]:
        """Unpair every tablet at once: revoke all live device tokens and void unused codes.

        For a lost or stolen tablet whose token is unknown, or a store handed to a new owner.
        Admin tokens (the CLI's own credential) stay, so the technician can pair again at once.
        Returns the tokens revoked.
        """
        at = now_iso()
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, name, role, created_at, last_used_at FROM api_tokens "
                "WHERE role = 'device' AND revoked_at IS NULL ORDER BY id"
            )
            await tx.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE role = 'device' AND revoked_at IS NULL", (at,)
            )
            # A code handed out before the reset must not pair a tablet after it.
            voided = await tx.execute(
                "UPDATE pairing_codes SET expires_at = ? WHERE used_at IS NULL AND expires_at > ?", (at, at)
            )
            await audit.record(
                tx,
                actor=actor.actor,
                action="pairing.reset",
                details={"revoked": [row["id"] for row in rows], "codes_voided": voided.rowcount},
            )
        self._cache.clear()
        return [TokenInfo(**dict(row), revoked_at=at) for row in rows]

    async def revoke(self, token_id: int, actor: Principal) -> bool:
        """Revoke a token; True when it existed and was live."""
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now_iso(), token_id),
            )
            if cursor.rowcount:
                await audit.record(tx, actor=actor.actor, action="token.revoked", target=str(token_id))
        self._cache.clear()
        return bool(cursor.rowcount)
