"""Webhook signing secrets at rest: sealed with AES-256-GCM, bound to their endpoint.

``webhook_endpoints.secret`` holds ``v1:<nonce>:<ciphertext>`` (see
:class:`cloud.security.SecretBox`) with the endpoint id as associated data, so a value copied
to another endpoint does not decrypt. Rows written before secrets were sealed hold the plain
``whsec_...`` secret: they are still read as they are, and :func:`seal_plain_secrets` (run by
the delivery worker when it starts) encrypts them in place. Anything else is refused: the
worker never signs with a value it cannot vouch for.
"""

from __future__ import annotations

import functools
import logging
import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models_integrations import WebhookEndpoint
from cloud.domain.webhooks.signing import SECRET_PREFIX
from cloud.security import SEALED_PREFIX, SecretBox, SecretKeyError, UnsealError, decode_key, is_sealed
from cloud.settings import Settings

log = logging.getLogger(__name__)


class SecretUnavailable(Exception):
    """An endpoint's signing secret cannot be read (wrong or missing key, altered value)."""


def _context(endpoint_id: uuid.UUID) -> str:
    return f"webhook_endpoints.secret:{endpoint_id}"


@functools.lru_cache(maxsize=8)
def _box(key: str, key_file: Path) -> SecretBox:
    if key:
        return SecretBox(decode_key(key), source="SMARTPOS_CLOUD_SECRET_KEY")
    return SecretBox(key_file=key_file)


def secret_box(settings: Settings) -> SecretBox:
    """The box of ``settings``' key (``SMARTPOS_CLOUD_SECRET_KEY``, else the key file); one per key."""
    return _box(settings.secret_key, settings.secret_key_path.absolute())


def seal_secret(box: SecretBox, endpoint_id: uuid.UUID, secret: str) -> str:
    """What ``webhook_endpoints.secret`` stores for ``secret`` on endpoint ``endpoint_id``."""
    return box.seal(secret, _context(endpoint_id))


def open_secret(box: SecretBox, endpoint_id: uuid.UUID, stored: str) -> str:
    """The signing secret of endpoint ``endpoint_id`` from its stored value.

    A legacy plain secret (``whsec_...``) is returned as is; anything that neither is one nor
    decrypts raises :class:`SecretUnavailable` with the reason.
    """
    if not is_sealed(stored):
        if stored.startswith(SECRET_PREFIX):
            return stored
        raise SecretUnavailable("the stored signing secret is neither sealed nor a plain whsec_ secret")
    try:
        return box.open(stored, _context(endpoint_id))
    except (UnsealError, SecretKeyError) as exc:
        raise SecretUnavailable(f"cannot decrypt the signing secret: {exc}") from None


async def seal_plain_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Encrypt the plain secrets left from before sealing, and commit; returns how many.

    Each row is updated only if it still holds the plain value read, so several workers (or
    a rotation at the same moment) cannot overwrite one another.
    """
    rows = (
        await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.secret).where(
                WebhookEndpoint.secret.not_like(f"{SEALED_PREFIX}%")
            )
        )
    ).all()
    sealed = 0
    for endpoint_id, stored in rows:
        if not stored.startswith(SECRET_PREFIX):
            log.error("webhook endpoint %s: its stored secret is not in a known format", endpoint_id)
            continue
        result = await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.secret == stored)
            .values(secret=seal_secret(box, endpoint_id, stored))
            .execution_options(synchronize_session=False)
        )
        sealed += result.rowcount  # type: ignore[attr-defined]
    await session.commit()
    if sealed:
        log.info("sealed %d plain webhook secret(s) with %s", sealed, box.source)
    return sealed
