"""Request and response bodies of the LAN API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hub.devices.device_view import DeviceView
from hub.domain.auth import TokenInfo
from hub.domain.print_jobs import PrintJob
from protocols.escpos import ReceiptDocument

IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    ready: bool
    storage: str
    devices: str


class PairRequest(_Body):
    """A pairing code shown by ``smartpos-hub pair`` and a name for the tablet."""

    code: Annotated[str, msgspec.Meta(min_length=4, max_length=16)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class PairResponse(msgspec.Struct):
    """The device token: shown once, store it on the tablet."""

    token: str
    token_id: int
    name: str


class PairingCode(msgspec.Struct):
    code: str
    expires_at: str


class PrintJobRequest(_Body):
    """A print job: a receipt ``document`` or ``raw_base64`` ESC/POS bytes, not both.

    The same ``idempotency_key`` (or ``Idempotency-Key`` header) returns the same job.
    """

    document: ReceiptDocument | None = None
    raw_base64: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000_000)] | None = None
    idempotency_key: IdempotencyKey | None = None


class DrawerOpenRequest(_Body):
    """Kick the cash drawer wired to this printer. Audited."""

    pin: Literal[2, 5] = 2
    on_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 100
    off_ms: Annotated[int, msgspec.Meta(ge=2, le=510)] = 500
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""
    idempotency_key: IdempotencyKey | None = None


class TestPageRequest(_Body):
    idempotency_key: IdempotencyKey | None = None


class JobQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    device: str | None = None
    state: Literal["queued", "printing", "held", "done", "failed", "canceled", "open"] | None = None
    before: Annotated[int, msgspec.Meta(ge=1)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


class JobList(msgspec.Struct):
    jobs: list[PrintJob]


class DeviceList(msgspec.Struct):
    devices: list[DeviceView]


class HubStatus(msgspec.Struct, kw_only=True):
    hub_id: str
    name: str
    version: str
    started_at: str
    uptime_s: float
    schema_version: int
    api: str
    data_dir: str
    websocket_clients: int
    last_event_id: int
    devices: list[DeviceView]


class TokenList(msgspec.Struct):
    tokens: list[TokenInfo]


class BackupResponse(msgspec.Struct):
    path: str
    bytes: int


__all__ = [
    "BackupResponse",
    "DeviceList",
    "DrawerOpenRequest",
    "Health",
    "HubStatus",
    "JobList",
    "JobQuery",
    "PairRequest",
    "PairResponse",
    "PairingCode",
    "PrintJob",
    "PrintJobRequest",
    "Readiness",
    "TestPageRequest",
    "TokenList",
]
