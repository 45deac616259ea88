"""``smartpos-hub claim CODE --cloud URL``: exchange a one-time claim code for the hub's link.

An admin adds the hub to a store in the cloud and gets a claim code. On the box, the claim
posts it to ``POST {cloud}/api/v1/hubs/claim``; the answer holds the hub's identity (tenant,
store, hub id), its own broker credentials and, for ``mqtts://``, the broker's CA certificate.
They are written to ``<data_dir>/cloud-link.toml`` (see :mod:`hub.cloud_link`).

A code works once, so everything that could make the claim fail on the box is checked before
the code is spent: an existing link (refused without ``force``) and a data dir that cannot be
written. The cloud's answer is hostile input like any other: it is decoded into a struct and
validated as a ``[sync]`` section before anything is written.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from hub.cloud_link import CA_FILE, LINK_KEYS, LinkExists, LinkInfo, link_path, write_link
from hub.config import SyncSection
from hub.domain.clock import now_iso
from protocols.sync import HubTopics, TopicError

CLAIM_PATH = "/api/v1/hubs/claim"
DEFAULT_TIMEOUT_S = 20.0
MAX_ANSWER_BYTES = 1024 * 1024
# What to do next, by the cloud's error code (cloud/domain/hubs/services.py HubService.claim).
HINTS = {
    "claim_code_invalid": "Check the code for typos; an admin can issue a new one for the hub in the cloud.",
    "claim_code_used": "A claim code works once. An admin can issue a new one for the hub in the cloud.",
    "claim_code_expired": "An admin can issue a new one for the hub in the cloud.",
}


class ClaimError(Exception):
    """The claim failed; nothing was written. ``code`` is the cloud's error code, if it refused."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ClaimUsageError(ClaimError):
    """Bad usage rather than a failed claim: not an ``http(s)://`` URL, or an empty code."""


class AlreadyClaimed(ClaimError):
    """A link file exists and ``force`` was not given."""


class ClaimAnswer(msgspec.Struct, kw_only=True):
    """The cloud's ``ClaimResponse`` (fields the hub does not know are ignored)."""

    hub_id: str
    tenant_id: str
    store_id: str
    hub_name: str
    broker_url: str
    broker_username: str
    broker_password: str
    ca_certificate: str | None = None
    topic_prefix: str


@dataclass(frozen=True)
class Claimed:
    """A completed claim: where the link went and what it says (no password)."""

    link_file: Path
    ca_file: Path | None
    hub_name: str
    tenant: str
    store: str
    hub_id: str
    broker: str


def cloud_base(url: str) -> str:
    """``url`` without a trailing slash, once it is known to be an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClaimUsageError(f"--cloud must be an http:// or https:// URL, got {url!r}")
    return url.strip().rstrip("/")


def exchange(cloud: str, code: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> ClaimAnswer:
    """Post the code to the cloud and decode its answer; ClaimError says what went wrong."""
    url = cloud_base(cloud) + CLAIM_PATH
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by cloud_base
        url,
        data=json.dumps({"code": code.strip()}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    # https: the system's trust store (or $SSL_CERT_FILE), with hostname checking.
    context = ssl.create_default_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            body = response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise _refused(cloud, exc) from None
    except urllib.error.URLError as exc:
        raise ClaimError(f"cannot reach the cloud at {cloud}: {exc.reason}") from None
    except TimeoutError:
        raise ClaimError(f"the cloud at {cloud} did not answer within {timeout:.0f}s") from None
    except OSError as exc:
        raise ClaimError(f"the connection to the cloud at {cloud} failed: {exc}") from None
    try:
        return msgspec.json.decode(body, type=ClaimAnswer)
    except msgspec.DecodeError as exc:
        raise ClaimError(f"the cloud at {cloud} sent an answer that is not a claim: {exc}") from None


def _refused(cloud: str, exc: urllib.error.HTTPError) -> ClaimError:
    try:
        error = json.loads(exc.read(MAX_ANSWER_BYTES))["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        hint = " (is --cloud the SmartPOS cloud's address?)" if exc.code in (404, 405) else ""
        return ClaimError(f"the cloud at {cloud} answered HTTP {exc.code} {exc.reason}{hint}")
    if exc.code >= 500:
        return ClaimError(f"the cloud at {cloud} failed: {message} [{code}]; try again later", code)
    hint = HINTS.get(code, "")
    return ClaimError(
        f"the cloud refused the claim: {message} [{code}]" + (f"\n{hint}" if hint else ""), code
    )


def link_settings(answer: ClaimAnswer) -> SyncSection:
    """The ``[sync]`` values the answer gives, validated; the topic ids come from its prefix."""
    try:
        _root, _version, tenant, store, hub = answer.topic_prefix.split("/")
        topics = HubTopics(tenant, store, hub)
    except (ValueError, TopicError) as exc:
        raise ClaimError(f"the cloud's topic prefix {answer.topic_prefix!r} is not a hub's: {exc}") from None
    if topics.prefix != answer.topic_prefix or hub != answer.hub_id:
        raise ClaimError(
            f"the cloud's topic prefix {answer.topic_prefix!r} does not match hub {answer.hub_id}"
        )
    values = {
        "enabled": True,
        "broker": answer.broker_url,
        "username": answer.broker_username,
        "password": answer.broker_password,
        "tenant": tenant,
        "store": store,
        "hub_id": hub,
    }
    try:
        return msgspec.convert(values, SyncSection)
    except msgspec.ValidationError as exc:
        raise ClaimError(f"the cloud's answer cannot be used: {exc}") from None


def check_ready(data_dir: Path, *, force: bool) -> None:
    """Refuse before the code is spent: an existing link (without ``force``), an unwritable data dir."""
    path = link_path(data_dir)
    if path.exists() and not force:
        raise AlreadyClaimed(
            f"this hub is already linked to the cloud ({path}).\n"
            "Claiming again replaces its identity and credentials: pass --force to do that."
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise ClaimError(f"cannot create the data dir {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ClaimError(f"cannot write to {data_dir}: run this as root or as the smartpos service user")


def claim(
    data_dir: Path, cloud: str, code: str, *, force: bool = False, timeout: float = DEFAULT_TIMEOUT_S
) -> Claimed:
    """Exchange ``code`` with the cloud and write the link; see the module docstring."""
    base = cloud_base(cloud)
    if not code.strip():
        raise ClaimUsageError("the claim code is empty")
    check_ready(data_dir, force=force)
    answer = exchange(base, code, timeout=timeout)
    settings = link_settings(answer)
    values = {key: getattr(settings, key) for key in LINK_KEYS if key != "ca_file"}
    info = LinkInfo(cloud=base, hub_name=answer.hub_name, claimed_at=now_iso())
    try:
        path = write_link(data_dir, values, info, ca_pem=answer.ca_certificate, force=force)
    except LinkExists:
        raise AlreadyClaimed(
            f"{link_path(data_dir)} appeared while claiming; pass --force to replace it"
        ) from None
    except OSError as exc:
        raise ClaimError(
            f"the cloud accepted the code but {link_path(data_dir)} could not be written ({exc}); "
            "an admin must issue a new claim code"
        ) from None
    return Claimed(
        link_file=path,
        ca_file=data_dir / CA_FILE if answer.ca_certificate else None,
        hub_name=answer.hub_name,
        tenant=settings.tenant,
        store=settings.store,
        hub_id=settings.hub_id,
        broker=settings.broker,
    )
