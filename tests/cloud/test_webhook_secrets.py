"""Webhook signing secrets at rest (SQLite and PostgreSQL): sealed with AES-256-GCM under the
cloud's key-encryption key and bound to their endpoint. The row never holds the secret, the
receiver still gets correct signatures, a plain secret from before still signs and is sealed
by the worker, and a wrong key or a ciphertext moved to another endpoint signs nothing: the
attempt fails with the reason, in the log and in the delivery log."""

from __future__ import annotations

import base64
import logging
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from cloud.db.models_integrations import WebhookEndpoint
from cloud.domain.webhooks.delivery import DeliveryPolicy, DeliveryWorker
from cloud.domain.webhooks.sealing import SecretUnavailable, open_secret, seal_secret, secret_box
from cloud.security import SecretBox, new_key
from cloud.settings import Settings, SettingsError
from tests.cloud.bridge_support import eventually
from tests.cloud.conftest import Cloud
from tests.cloud.test_webhooks import (
    FAST,
    Receiver,
    check_signature,
    deliveries,
    emit_now,
    hooks,
    in_tmp_path,
    quiet,
    receiver,
    register,
)

__all__ = ["hooks", "in_tmp_path", "quiet", "receiver"]  # the fixtures, shared with test_webhooks

LEGACY = "whsec_" + "L" * 43  # a plain secret as rows held it before sealing


async def stored(cloud: Cloud, webhook_id: str) -> str:
    """The ``secret`` column of an endpoint, read through SQLAlchemy."""
    async with cloud.sessions() as session:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(webhook_id))
        assert endpoint is not None
        return endpoint.secret


async def store(cloud: Cloud, webhook_id: str, value: str) -> None:
    """Overwrite an endpoint's ``secret`` column (a legacy row, a moved ciphertext)."""
    async with cloud.sessions() as session:
        await session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == uuid.UUID(webhook_id)).values(secret=value)
        )
        await session.commit()


def errors_about(caplog: pytest.LogCaptureFixture, endpoint_id: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and endpoint_id in r.getMessage()
    ]


async def test_the_row_holds_a_sealed_secret_and_deliveries_are_signed_with_the_plain_one(
    hooks: Cloud, receiver: Receiver, tmp_path: Path
) -> None:
    acme = await hooks.tenancy("Acme")
    created = await register(hooks, acme, receiver.url, "order.created")
    secret, webhook_id = created["secret"], created["webhook"]["id"]
    column = await stored(hooks, webhook_id)
    assert column.startswith("v1:") and len(column) <= 255
    assert secret not in column and secret.removeprefix("whsec_") not in column
    key_file = tmp_path / "cloud-secret.key"  # next to the SQLite file, or in the current directory
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert open_secret(secret_box(hooks.settings), uuid.UUID(webhook_id), column) == secret

    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1"})
    await eventually(lambda: receiver.seen, what="a delivery")
    check_signature(secret, receiver.seen[0][0], receiver.seen[0][1])

    rotated = await hooks.client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret", headers=acme.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    column = await stored(hooks, webhook_id)  # a rotated secret is sealed too (it signs: test_webhooks)
    assert column.startswith("v1:") and new_secret not in column
    assert open_secret(secret_box(hooks.settings), uuid.UUID(webhook_id), column) == new_secret


async def test_a_legacy_plain_secret_still_signs_and_the_worker_seals_it(
    hooks: Cloud, receiver: Receiver
) -> None:
    acme = await hooks.tenancy("Acme")
    webhook_id = (await register(hooks, acme, receiver.url, "order.created"))["webhook"]["id"]
    await store(hooks, webhook_id, LEGACY)  # as written before secrets were sealed
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-1"})
    await eventually(lambda: receiver.seen, what="a delivery signed with the plain secret")
    check_signature(LEGACY, receiver.seen[0][0], receiver.seen[0][1])

    # a starting worker seals it in place (with the key the app seals with)
    await DeliveryWorker(hooks.sessions, FAST).seal_legacy_secrets()
    column = await stored(hooks, webhook_id)
    assert column.startswith("v1:") and LEGACY not in column
    assert open_secret(secret_box(hooks.settings), uuid.UUID(webhook_id), column) == LEGACY
    await emit_now(hooks, acme.tenant_id, "order.created", {"uuid": "s-2"})
    await eventually(lambda: len(receiver.seen) == 2, what="a delivery after sealing")
    check_signature(LEGACY, receiver.seen[1][0], receiver.seen[1][1])

    # a plain value that is not a whsec_ secret is never signed with
    with pytest.raises(SecretUnavailable, match="neither sealed nor"):
        open_secret(secret_box(hooks.settings), uuid.UUID(webhook_id), "not-a-secret")


async def test_a_ciphertext_copied_to_another_endpoint_does_not_decrypt_and_sends_nothing(
    hooks: Cloud, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cloud.domain.webhooks.delivery")
    acme = await hooks.tenancy("Acme")
    first = await register(hooks, acme, receiver.url, "order.created")
    second = await register(hooks, acme, receiver.url, "shift.closed")
    victim = second["webhook"]["id"]
    copied = await stored(hooks, first["webhook"]["id"])
    with pytest.raises(SecretUnavailable, match="cannot decrypt"):
        open_secret(secret_box(hooks.settings), uuid.UUID(victim), copied)
    await store(hooks, victim, copied)

    await emit_now(hooks, acme.tenant_id, "shift.closed", {"shift_id": 1})
    log = await eventually(
        lambda: deliveries(hooks, acme, victim),
        until=lambda d: d and d[0]["last_error"],
        what="a failed attempt",
    )
    assert log[0]["status"] == "pending" and log[0]["last_status_code"] is None
    assert "cannot decrypt the signing secret" in log[0]["last_error"]
    assert receiver.seen == []  # nothing was signed with a wrong secret
    assert any("cannot decrypt" in m for m in errors_about(caplog, victim))

    # rotating the secret (and enabling the endpoint, if the failures disabled it) recovers
    rotated = await hooks.client.post(f"/api/v1/webhooks/{victim}/rotate-secret", headers=acme.headers)
    assert rotated.status_code == 200, rotated.text
    assert (
        await hooks.client.post(f"/api/v1/webhooks/{victim}/enable", headers=acme.headers)
    ).status_code == 200
    await eventually(lambda: receiver.seen, what="the delivery signed with the new secret")
    check_signature(rotated.json()["secret"], receiver.seen[0][0], receiver.seen[0][1])


async def test_a_wrong_or_missing_key_fails_the_attempt_with_the_reason(
    quiet: Cloud, receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cloud.domain.webhooks.delivery")
    acme = await quiet.tenancy("Acme")
    webhook_id = (await register(quiet, acme, receiver.url))["webhook"]["id"]
    await emit_now(quiet, acme.tenant_id, "order.created", {"uuid": "s-1"})
    policy = DeliveryPolicy(backoff_s=(0.01,), jitter=0.0, allow_private_networks=True, timeout_s=2.0)

    async def attempt(box: SecretBox) -> dict[str, Any]:
        worker = DeliveryWorker(quiet.sessions, policy, secrets=box)
        try:
            [claim] = await eventually(lambda: worker.claim(10), what="a due delivery")
            assert claim.secret == "" and claim.secret_error is not None
            outcome = await worker.send(claim)
            assert not outcome.ok and outcome.error == claim.secret_error
            await worker.record(claim, outcome)
        finally:
            await worker.stop()
        return (await deliveries(quiet, acme, webhook_id))[0]

    wrong = await attempt(SecretBox(base64.b64decode(new_key())))
    assert wrong["status"] == "pending" and wrong["attempts"] == 1
    assert "does not decrypt with the configured key" in wrong["last_error"]

    missing_file = tmp_path / "elsewhere" / "cloud-secret.key"
    missing = await attempt(SecretBox(key_file=missing_file))
    assert missing["attempts"] == 2 and "cannot read the key file" in missing["last_error"]
    assert not missing_file.exists()  # opening never makes a new key
    assert receiver.seen == []
    assert len(errors_about(caplog, webhook_id)) == 2


def test_the_key_comes_from_the_environment_or_a_key_file_made_once(tmp_path: Path) -> None:
    endpoint = uuid.uuid4()
    with pytest.raises(SettingsError, match="SMARTPOS_CLOUD_SECRET_KEY"):
        Settings.from_env({"SMARTPOS_CLOUD_SECRET_KEY": "c2hvcnQ="})
    from_env = Settings.from_env({"SMARTPOS_CLOUD_SECRET_KEY": new_key()})
    sealed = seal_secret(secret_box(from_env), endpoint, LEGACY)
    assert open_secret(secret_box(from_env), endpoint, sealed) == LEGACY
    assert not (tmp_path / "cloud-secret.key").exists()  # a configured key needs no file

    database = tmp_path / "db" / "cloud.db"
    on_sqlite = Settings(db_url=f"sqlite+aiosqlite:///{database}")
    assert on_sqlite.secret_key_path == database.parent / "cloud-secret.key"
    elsewhere = Settings.from_env({"SMARTPOS_CLOUD_DATA_DIR": str(tmp_path / "data")})
    assert elsewhere.secret_key_path == tmp_path / "data" / "cloud-secret.key"
    assert not elsewhere.secret_key_path.exists()
    sealed = seal_secret(secret_box(elsewhere), endpoint, LEGACY)  # made on first use, 0600
    assert stat.S_IMODE(elsewhere.secret_key_path.stat().st_mode) == 0o600
    assert open_secret(SecretBox(key_file=elsewhere.secret_key_path), endpoint, sealed) == LEGACY
    with pytest.raises(SecretUnavailable, match="another key"):
        open_secret(secret_box(from_env), endpoint, sealed)
    with pytest.raises(SecretUnavailable, match="cannot decrypt"):
        open_secret(secret_box(elsewhere), endpoint, sealed[:-4] + "AAA=")  # altered
