"""Every message on the sync topics, with strict decoders.

``up/events`` carries :class:`EventEnvelope`; its ``payload`` is decoded by the event's
``type`` with :func:`decode_payload`. Each message has a schema version ``v``: a reader refuses
a major version it does not know (dead letter) and ignores fields it does not know.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from protocols.sync.documents import SaleDocument
from protocols.sync.errors import SyncDecodeError

VERSION = 1


class _Msg(msgspec.Struct, kw_only=True):
    v: int = VERSION


class EventEnvelope(_Msg, kw_only=True):
    """A fact from a hub: ``seq`` strictly increases per hub; ``id`` is a UUIDv7."""

    seq: int
    id: str
    type: str
    occurred_at: str
    payload: msgspec.Raw


class Ack(_Msg, kw_only=True):
    """From the cloud: every seq up to ``seq`` is stored; ``resend_from`` asks for a gap again."""

    seq: int
    resend_from: int | None = None


class Status(_Msg, kw_only=True):
    """Presence: the will carries ``offline`` with the same ``session`` as the ``online``."""

    state: Literal["online", "offline"]
    session: int
    at: str
    software_version: str = ""


class DeviceState(_Msg, kw_only=True):
    id: str
    kind: str
    status: str
    details: dict[str, Any] = {}


class ReportedState(_Msg, kw_only=True):
    """The hub's reported state (retained): applied config, devices, software, backlog."""

    config_version: int
    software_version: str
    devices: list[DeviceState]
    backlog: int
    at: str
    # The last config the hub refused (it keeps running on ``config_version``) and why.
    rejected_config_version: int = 0
    config_error: str = ""


JobKind = Literal["test_print", "open_drawer", "x_report", "restart_device", "diagnostics", "resync"]
JobState = Literal["QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED"]


class JobRequest(_Msg, kw_only=True):
    """A remote command; a hub ignores one whose ``expires_at`` has passed."""

    job_id: str
    kind: JobKind
    params: dict[str, Any] = {}
    expires_at: str


class JobUpdate(_Msg, kw_only=True):
    job_id: str
    state: JobState
    detail: str = ""
    result: dict[str, Any] = {}
    at: str


class DesiredConfig(_Msg, kw_only=True):
    """The retained desired configuration: a version and its sections (or where to fetch them).

    ``fetch_url`` is where the hub GETs the :class:`protocols.sync.config.ConfigDelta` (adding
    ``?since=<applied version>``), with its broker username and password as HTTP Basic
    credentials; a path starting with ``/`` is relative to the cloud URL the hub was claimed from.
    """

    version: int
    sections: dict[str, Any] = {}
    fetch_url: str | None = None


# --- event payloads ------------------------------------------------------------------------


class ShiftOpened(msgspec.Struct, kw_only=True):
    shift_id: int
    terminal_id: str
    employee: str
    opening_cash: int
    late_minutes: int
    at: str


class ShiftClosed(msgspec.Struct, kw_only=True):
    shift_id: int
    terminal_id: str
    at: str
    auto_closed: bool
    figures: dict[str, Any]


class CashMoved(msgspec.Struct, kw_only=True):
    shift_id: int
    movement_id: int
    kind: str
    amount: int
    tender_type: str
    reason: str
    receiver_id: int | None
    at: str


class ZReportCreated(msgspec.Struct, kw_only=True):
    id: int
    number: int
    business_date: str
    grand_total: int
    grand_refunds: int
    created_at: str
    created_by: str
    totals: dict[str, Any]


class StockMoved(msgspec.Struct, kw_only=True):
    product_id: int
    variant_id: int | None
    delta: str
    reason: str
    at: str


class AuditRecorded(msgspec.Struct, kw_only=True):
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] | list[Any] | None = None


class DeviceStatusChanged(msgspec.Struct, kw_only=True):
    device_id: str
    kind: str
    status: str
    details: dict[str, Any] = {}
    at: str


PAYLOADS: dict[str, type[Any]] = {
    "sale.completed": SaleDocument,
    "sale.refunded": SaleDocument,
    "shift.opened": ShiftOpened,
    "shift.closed": ShiftClosed,
    "cash.moved": CashMoved,
    "z_report.created": ZReportCreated,
    "stock.moved": StockMoved,
    "audit.recorded": AuditRecorded,
    "device.status": DeviceStatusChanged,
}


def _decode(data: bytes, kind: type[Any], what: str) -> Any:
    try:
        message = msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SyncDecodeError(f"{what}: {exc}") from None
    version = getattr(message, "v", VERSION)
    if version != VERSION:
        raise SyncDecodeError(
            f"{what}: schema version {version} is not supported (this side speaks {VERSION})"
        )
    return message


def decode_envelope(data: bytes) -> EventEnvelope:
    envelope: EventEnvelope = _decode(data, EventEnvelope, "event")
    if envelope.seq < 1:
        raise SyncDecodeError(f"event: seq must be positive, got {envelope.seq}")
    return envelope


def decode_payload(envelope: EventEnvelope) -> Any:
    """The typed payload of ``envelope``; an unknown type is a decode error (dead letter)."""
    kind = PAYLOADS.get(envelope.type)
    if kind is None:
        raise SyncDecodeError(f"event {envelope.seq}: unknown type {envelope.type!r}")
    try:
        return msgspec.json.decode(envelope.payload, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SyncDecodeError(f"event {envelope.seq} ({envelope.type}): {exc}") from None


def decode_ack(data: bytes) -> Ack:
    ack: Ack = _decode(data, Ack, "ack")
    return ack


def decode_status(data: bytes) -> Status:
    status: Status = _decode(data, Status, "status")
    return status


def decode_state(data: bytes) -> ReportedState:
    state: ReportedState = _decode(data, ReportedState, "state")
    return state


def decode_job_request(data: bytes) -> JobRequest:
    job: JobRequest = _decode(data, JobRequest, "job")
    return job


def decode_job_update(data: bytes) -> JobUpdate:
    update: JobUpdate = _decode(data, JobUpdate, "job update")
    return update


def decode_config(data: bytes) -> DesiredConfig:
    config: DesiredConfig = _decode(data, DesiredConfig, "config")
    return config


def encode(message: msgspec.Struct) -> bytes:
    return msgspec.json.encode(message)
