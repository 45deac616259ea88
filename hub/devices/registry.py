"""Which driver serves which device, and which driver claims what discovery found.

``DRIVERS`` is in priority order. A configured device names its driver (or takes its kind's
default); a discovered device is offered to every driver's ``supports()`` and the best score
wins, ties going to the driver listed first. Every ``[[devices]]`` table is checked at
start-up, so a device the build cannot drive stops the daemon with a message naming the key
rather than failing on the first sale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from drivers.base import DeviceDriver
from drivers.discovery.base import FoundDevice
from drivers.errors import UnsupportedTransport
from drivers.escpos_printer import EscposPrinter
from drivers.fiscal.datecs_c import DatecsCPrinter
from drivers.fiscal.datecs_x import DatecsXPrinter
from drivers.fiscal.tremol import TremolPrinter
from drivers.line_display import Cd5220Display, EpsonDmdDisplay
from drivers.payments.nexo import NexoTerminal
from drivers.payments.zvt import ZvtTerminal
from drivers.scales import CasScale, SicsScale, ToledoScale
from drivers.serial_scanner import SerialScanner
from drivers.star_raster_printer import StarRasterPrinter
from drivers.transports import Transport, TransportUrl, create_transport, parse_transport_url
from drivers.transports.factory import DEFAULT_OPTIONS, TransportOptions
from hub.config import ConfigError, DeviceConfig
from hub.devices.roles import RoleError, check_role

DRIVERS: tuple[type[DeviceDriver], ...] = (
    StarRasterPrinter,
    EscposPrinter,
    Cd5220Display,
    EpsonDmdDisplay,
    SerialScanner,
    DatecsXPrinter,
    DatecsCPrinter,
    TremolPrinter,
    ToledoScale,
    SicsScale,
    CasScale,
    ZvtTerminal,
    NexoTerminal,
)
BY_NAME: dict[tuple[str, str], type[DeviceDriver]] = {(cls.kind, cls.name): cls for cls in DRIVERS}
DEFAULT_DRIVER = {
    "printer": "escpos",
    "line_display": "dmd",
    "scanner": "serial_scanner",
    "fiscal_printer": "datecs_x",
    "scale": "sics",
    "payment_terminal": "zvt",
}
DEFAULT_PORTS = {"printer": 9100}
# ``printer://<device id>``: a customer display on a printer's display port (hub.devices.passthrough).
PASSTHROUGH_PREFIX = "printer://"


class Claim(msgspec.Struct, frozen=True):
    """The driver that would take a discovered device."""

    kind: str
    driver: str
    score: int


def claim(found: FoundDevice) -> Claim | None:
    """The best driver for ``found``, or None when no driver supports it."""
    best: Claim | None = None
    for cls in DRIVERS:
        score = cls.supports(found)
        if score > 0 and (best is None or score > best.score):
            best = Claim(kind=cls.kind, driver=cls.name, score=score)
    return best


@dataclass(frozen=True)
class DeviceSpec:
    """A validated device: its config, driver class, parsed options and transport URL.

    ``source`` says where it was defined: ``config`` (hub.toml, fixed) or ``adopted`` (by a
    technician at runtime, removable); ``found_id`` the discovery id it was adopted from.
    """

    index: int
    config: DeviceConfig
    driver_class: type[DeviceDriver]
    options: Any
    url: TransportUrl
    source: str = "config"
    found_id: str | None = None
    transport_options: TransportOptions = field(default=DEFAULT_OPTIONS)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def driver_name(self) -> str:
        return self.driver_class.name

    def build(self, transport: Transport | None = None) -> DeviceDriver:
        """The driver, over ``transport`` or the one its URL names."""
        link = transport or create_transport(self.url, self.transport_options)
        return self.driver_class(self.config.id, link, self.options)


def resolve(
    index: int,
    device: DeviceConfig,
    *,
    where: str = "",
    source: str = "config",
    found_id: str | None = None,
    transport_options: TransportOptions = DEFAULT_OPTIONS,
) -> DeviceSpec:
    """Validate one device table; raises :class:`ConfigError` naming the bad key."""
    where = where or f"devices[{index}]"
    driver_name = device.driver or DEFAULT_DRIVER.get(device.kind, "")
    driver_class = BY_NAME.get((device.kind, driver_name))
    if driver_class is None:
        known = ", ".join(f"{k}/{d}" for k, d in BY_NAME) or "none"
        what = (
            f"driver {driver_name!r} for kind {device.kind!r}"
            if driver_name
            else f"a driver for kind {device.kind!r}"
        )
        raise ConfigError(f"{where}.driver: this build has no {what} (available: {known})")
    try:
        check_role(device.kind, device.role, device.terminal, device.station)
    except RoleError as exc:
        raise ConfigError(f"{where}.{exc.field}: {exc}") from None
    try:
        options = driver_class.parse_options(device.options)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}.options: {exc}") from None
    url = _checked_url(device, where, transport_options)
    return DeviceSpec(
        index=index,
        config=device,
        driver_class=driver_class,
        options=options,
        url=url,
        source=source,
        found_id=found_id,
        transport_options=transport_options,
    )


def _checked_url(device: DeviceConfig, where: str, transport_options: TransportOptions) -> TransportUrl:
    if device.url.startswith(PASSTHROUGH_PREFIX):
        printer = device.url.removeprefix(PASSTHROUGH_PREFIX).strip("/")
        if device.kind != "line_display":
            raise ConfigError(f"{where}.url: only a line display can be reached through a printer")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", printer):
            raise ConfigError(
                f"{where}.url: {device.url!r} must name a printer's device id, like printer://receipt"
            )
        return TransportUrl("printer", host=printer)
    try:
        url = parse_transport_url(device.url, default_port=DEFAULT_PORTS.get(device.kind))
        create_transport(url, transport_options)
    except UnsupportedTransport as exc:
        raise ConfigError(f"{where}.url: {exc}") from None
    return url


def resolve_all(devices: list[DeviceConfig]) -> list[DeviceSpec]:
    return [resolve(index, device) for index, device in enumerate(devices)]
