"""Hub configuration: a TOML file decoded into typed msgspec structs.

Every key is checked at start-up: an unknown key or a bad value stops the daemon with a message
naming the key (``$.devices[0].url``), so a typo never silently falls back to a default.
Three settings can be overridden from the environment, which is what systemd's
``EnvironmentFile`` and containers use: ``SMARTPOS_DATA_DIR``, ``SMARTPOS_API_HOST`` and
``SMARTPOS_API_PORT``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from drivers.signing.taxcore import TaxCoreOptions
from drivers.signing.tse import TseOptions

DEFAULT_CONFIG_PATH = Path("/etc/smartpos/hub.toml")
DEFAULT_DATA_DIR = "/var/lib/smartpos"
DEFAULT_API_PORT = 8420

DeviceKind = Literal[
    "printer",
    "cash_drawer",
    "fiscal_printer",
    "scale",
    "payment_terminal",
    "line_display",
    "scanner",
]
DeviceRole = Literal[
    "receipt_printer",
    "kitchen_printer",
    "label_printer",
    "customer_display",
    "scanner",
    "payment_terminal",
    "scale",
]
DeviceId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names the key."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class HubSection(_Section):
    """Who this hub is: ``name`` is shown to tablets and announced over mDNS."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=63)] = ""
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")] = "en"


class ApiSection(_Section):
    """The LAN HTTP API and websocket."""

    host: str = "0.0.0.0"
    port: Port = DEFAULT_API_PORT
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = 1024 * 1024
    replay_limit: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 1000
    pairing_code_ttl_s: Annotated[int, msgspec.Meta(ge=30, le=3600)] = 300


class StorageSection(_Section):
    """Where the SQLite database, the admin credential and backups live."""

    data_dir: str = DEFAULT_DATA_DIR
    event_retention: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 10_000


class MdnsSection(_Section):
    """mDNS announcement of ``_smartpos-hub._tcp`` so tablets and the CLI can find the hub."""

    enabled: bool = True
    # Empty means every interface; tests and demos restrict it to a namespace or loopback.
    interfaces: list[str] = []


class LogSection(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class DeviceConfig(_Section):
    """One ``[[devices]]`` table: a device the hub owns.

    ``url`` is the transport (``tcp://host:9100``, ``serial:///dev/ttyUSB0?baudrate=9600``);
    ``options`` are driver specific and are validated by the driver's own options struct.
    """

    id: DeviceId
    kind: DeviceKind
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    driver: str = ""
    name: str = ""
    options: dict[str, Any] = {}
    # What the device is for (see hub.devices.roles): a receipt printer or customer display of
    # a terminal, a kitchen printer of a station. Empty: no role, usable by id only.
    role: DeviceRole | Literal[""] = ""
    terminal: Annotated[str, msgspec.Meta(max_length=64)] = ""
    station: Annotated[str, msgspec.Meta(max_length=64)] = ""


class DiscoverySection(_Section):
    """Which buses the hub watches for devices (``smartpos-hub discover`` lists what it found).

    ``serial`` are globs of serial ports to list; ``serial_probe`` the globs of ports the
    technician allows the hub to write a status request to (nothing by default: an unknown
    device might act on the bytes). ``mdns_interfaces`` empty means those of ``[mdns]``.
    """

    enabled: bool = True
    usb: bool = True
    usb_interval_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] = 2.0
    serial: list[str] = msgspec.field(default_factory=lambda: ["/dev/serial/by-id/*"])
    serial_probe: list[str] = []
    serial_interval_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] = 1.0
    mdns: bool = True
    mdns_interfaces: list[str] = []
    ble: bool = True


class RksvSection(_Section):
    """Austria's RKSV, signed on the hub: the cashbox, its AES key (Base64 of 32 bytes, as
    registered with FinanzOnline) and the signing key (a PEM file with an EC P-256 key)."""

    cashbox_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    aes_key: Annotated[str, msgspec.Meta(min_length=44, max_length=44)]
    key_file: Annotated[str, msgspec.Meta(min_length=1)]
    certificate_serial: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    zda: Annotated[str, msgspec.Meta(pattern=r"^AT[0-9]$")] = "AT0"
    timezone: str = "Europe/Vienna"


class FiscalSection(_Section):
    """How the store's sales and refunds are fiscalised; off by default.

    ``mode = "device"``: every sale and refund goes through the fiscal printer ``device`` (a
    ``[[devices]]`` entry of kind ``fiscal_printer``), which prints the receipt. ``tax_groups``
    maps each tax rate (percent, as in the catalog: ``"17"``, ``"5.5"``) to the device's tax
    group letter.
    """

    mode: Literal["off", "device", "taxcore", "tse", "rksv"] = "off"
    device: str = ""
    tax_groups: dict[str, Annotated[str, msgspec.Meta(pattern=r"^[A-H]$")]] = {}
    taxcore: TaxCoreOptions | None = None  # mode "taxcore": Serbia's SDC
    tse: TseOptions | None = None  # mode "tse": a German TSE (fiskaly SIGN DE style)
    rksv: RksvSection | None = None  # mode "rksv": Austria, signed on the hub


class ErpNetSection(_Section):
    """The ErpNet.FP-compatible REST surface (``/printers/...``) for existing fiscal clients.

    Off by default. Those clients send no paired-device token, so it listens on its own
    ``host``/``port`` (ErpNet.FP's 8001), loopback by default; on any other address a ``token``
    is required, which callers send as ``Authorization: Bearer`` or ``?token=``.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 8001
    token: Annotated[str, msgspec.Meta(max_length=256)] = ""


class PaymentsSection(_Section):
    """Card terminals: ``end_of_day_on_shift_close`` closes the terminal's card day (its
    settlement) as part of closing a shift on the POS terminal it belongs to."""

    end_of_day_on_shift_close: bool = False


class SmtpSection(_Section):
    """The SMTP relay that e-mailed receipts and invoices go through (off until enabled)."""

    enabled: bool = False
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)] = "127.0.0.1"
    port: Port = 587
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: str = ""
    from_addr: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+$")] = "receipts@smartpos.local"
    from_name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 20.0
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 8
    # Wait before each retry; the last value repeats.
    retry_delays_s: Annotated[
        list[Annotated[float, msgspec.Meta(gt=0, le=86400)]], msgspec.Meta(min_length=1)
    ] = msgspec.field(default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 3600.0])


class SyncSection(_Section):
    """The cloud link over MQTT (off until the hub is claimed; ``smartpos-hub claim`` fills it)."""

    enabled: bool = False
    broker: Annotated[str, msgspec.Meta(pattern=r"^mqtts?://[^/:]+(:[0-9]{1,5})?$")] = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    ca_file: str = ""  # the broker's CA certificate for mqtts://
    tenant: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{0,64}$")] = ""
    store: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{0,64}$")] = ""
    hub_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{0,64}$")] = ""
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    # Without an expiry the broker keeps nothing for a disconnected client (MQTT 5): a week
    # covers a long outage; past it the hub resends from its outbox anyway.
    session_expiry_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86400)] = 7 * 86400
    batch: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 500
    # Facts sent but not acknowledged this long are sent again (the cloud may have missed them
    # while it reconnected itself); repeats are absorbed by the cloud.
    ack_timeout_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0


class HubConfig(_Section):
    """The whole config file."""

    hub: HubSection = msgspec.field(default_factory=HubSection)
    api: ApiSection = msgspec.field(default_factory=ApiSection)
    storage: StorageSection = msgspec.field(default_factory=StorageSection)
    mdns: MdnsSection = msgspec.field(default_factory=MdnsSection)
    log: LogSection = msgspec.field(default_factory=LogSection)
    smtp: SmtpSection = msgspec.field(default_factory=SmtpSection)
    sync: SyncSection = msgspec.field(default_factory=SyncSection)
    discovery: DiscoverySection = msgspec.field(default_factory=DiscoverySection)
    fiscal: FiscalSection = msgspec.field(default_factory=FiscalSection)
    payments: PaymentsSection = msgspec.field(default_factory=PaymentsSection)
    erpnet: ErpNetSection = msgspec.field(default_factory=ErpNetSection)
    devices: list[DeviceConfig] = []

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)

    @property
    def hub_name(self) -> str:
        return self.hub.name or socket.gethostname()


_PATH_RE = re.compile(r"- at `(?P<path>[^`]+)`")


def _explain(error: msgspec.ValidationError) -> str:
    """Turn msgspec's ``... - at `$.devices[0].url``` into ``devices[0].url: ...``."""
    text = str(error)
    match = _PATH_RE.search(text)
    if not match:
        return text
    path = match.group("path").removeprefix("$").lstrip(".") or "(top level)"
    return f"{path}: {text[: match.start()].strip()}"


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> HubConfig:
    """Validate a decoded TOML mapping and apply the environment overrides."""
    try:
        config = msgspec.convert(dict(data), HubConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    return apply_env(config, os.environ if env is None else env)


def apply_env(config: HubConfig, env: Mapping[str, str]) -> HubConfig:
    """Apply ``SMARTPOS_*`` overrides; a bad value is an error naming the variable."""
    storage, api = config.storage, config.api
    if value := env.get("SMARTPOS_DATA_DIR"):
        storage = msgspec.structs.replace(storage, data_dir=value)
    if value := env.get("SMARTPOS_API_HOST"):
        api = msgspec.structs.replace(api, host=value)
    if value := env.get("SMARTPOS_API_PORT"):
        if not value.isdigit() or not 0 <= int(value) <= 65535:
            raise ConfigError(f"SMARTPOS_API_PORT: expected a port number, got {value!r}")
        api = msgspec.structs.replace(api, port=int(value))
    config = msgspec.structs.replace(config, storage=storage, api=api)
    _check_devices(config)
    _check_erpnet(config)
    return config


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def _check_erpnet(config: HubConfig) -> None:
    erpnet = config.erpnet
    if not erpnet.enabled:
        return
    # Anyone who reaches this port can print fiscal receipts and run Z reports.
    if not is_loopback(erpnet.host) and len(erpnet.token) < 16:
        raise ConfigError(
            f"erpnet.token: the ErpNet.FP API listens on {erpnet.host!r}, beyond this machine; "
            'set a token of at least 16 characters (or host = "127.0.0.1")'
        )
    if erpnet.port == config.api.port and erpnet.port != 0:
        raise ConfigError(f"erpnet.port: {erpnet.port} is the port of [api] already")


def _check_devices(config: HubConfig) -> None:
    seen: dict[str, DeviceConfig] = {}
    for index, device in enumerate(config.devices):
        if device.id in seen:
            raise ConfigError(f"devices[{index}].id: duplicate device id {device.id!r}")
        seen[device.id] = device
    fiscal = config.fiscal
    if fiscal.mode in ("taxcore", "tse", "rksv") and getattr(fiscal, fiscal.mode) is None:
        raise ConfigError(
            f"fiscal.{fiscal.mode}: mode {fiscal.mode!r} needs its [fiscal.{fiscal.mode}] section"
        )
    if fiscal.mode == "device":
        printer = seen.get(fiscal.device)
        if printer is None or printer.kind != "fiscal_printer":
            raise ConfigError(
                f"fiscal.device: {fiscal.device!r} is not a [[devices]] entry of kind fiscal_printer"
            )


def load_config(path: Path, env: Mapping[str, str] | None = None, *, link: bool = True) -> HubConfig:
    """Read and validate the TOML file at ``path``, then lay ``<data_dir>/cloud-link.toml`` over
    its ``[sync]`` section (see :mod:`hub.cloud_link`) unless ``link`` is False."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, env)
    if not link:
        return config
    from hub.cloud_link import apply_link  # it builds on this module

    return apply_link(config)
