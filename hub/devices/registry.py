"""Which driver serves which device: ``(kind, driver name) -> driver class``.

Checked at start-up for every ``[[devices]]`` table, so a device the build cannot drive stops
the daemon with a message naming the key rather than failing on the first sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from drivers.base import DeviceDriver
from drivers.errors import UnsupportedTransport
from drivers.escpos_printer import EscposPrinter
from drivers.transports import TransportUrl, create_transport, parse_transport_url
from hub.config import ConfigError, DeviceConfig

DRIVERS: dict[tuple[str, str], type[DeviceDriver]] = {
    ("printer", "escpos"): EscposPrinter,
}
DEFAULT_DRIVER = {"printer": "escpos"}
DEFAULT_PORTS = {"printer": 9100}


@dataclass(frozen=True)
class DeviceSpec:
    """A validated device: its config, driver class, parsed options and transport URL."""

    index: int
    config: DeviceConfig
    driver_class: type[DeviceDriver]
    options: Any
    url: TransportUrl

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def driver_name(self) -> str:
        return self.driver_class.name

    def build(self) -> DeviceDriver:
        return self.driver_class(self.config.id, create_transport(self.url), self.options)


def resolve(index: int, device: DeviceConfig) -> DeviceSpec:
    """Validate one device table; raises :class:`ConfigError` naming the bad key."""
    where = f"devices[{index}]"
    driver_name = device.driver or DEFAULT_DRIVER.get(device.kind, "")
    driver_class = DRIVERS.get((device.kind, driver_name))
    if driver_class is None:
        known = ", ".join(f"{k}/{d}" for k, d in DRIVERS) or "none"
        what = (
            f"driver {driver_name!r} for kind {device.kind!r}"
            if driver_name
            else f"a driver for kind {device.kind!r}"
        )
        raise ConfigError(f"{where}.driver: this build has no {what} (available: {known})")
    try:
        options = driver_class.parse_options(device.options)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}.options: {exc}") from None
    try:
        url = parse_transport_url(device.url, default_port=DEFAULT_PORTS.get(device.kind))
        create_transport(url)
    except UnsupportedTransport as exc:
        raise ConfigError(f"{where}.url: {exc}") from None
    return DeviceSpec(index=index, config=device, driver_class=driver_class, options=options, url=url)


def resolve_all(devices: list[DeviceConfig]) -> list[DeviceSpec]:
    return [resolve(index, device) for index, device in enumerate(devices)]
