"""Announce the hub as ``_smartpos-hub._tcp`` over mDNS so tablets and the CLI can find it."""

from __future__ import annotations

import ipaddress
import logging
import socket

import ifaddr
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub import __version__

log = logging.getLogger(__name__)

SERVICE_TYPE = "_smartpos-hub._tcp.local."


def _instance_name(name: str) -> str:
    # DNS-SD instance names may hold spaces and UTF-8, but not dots (they separate labels).
    return name.replace(".", "-")[:63]


class HubAnnouncer:
    """Registers the hub's service record while the daemon runs."""

    def __init__(self, *, name: str, hub_id: str, port: int, host: str, interfaces: list[str]) -> None:
        self.name = _instance_name(name)
        self.hub_id = hub_id
        self.port = port
        self.host = host
        self.interfaces = interfaces
        self._zc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    def _addresses(self) -> list[bytes]:
        candidates = self.interfaces or ([] if self.host in ("", "0.0.0.0", "::") else [self.host])
        if not candidates:
            # Listening on every interface: announce every non-loopback IPv4 address.
            candidates = [
                str(ip.ip)
                for adapter in ifaddr.get_adapters()
                for ip in adapter.ips
                if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
            ]
        addresses = []
        for candidate in candidates:
            try:
                addresses.append(ipaddress.ip_address(candidate).packed)
            except ValueError:
                log.warning("mdns interface is not an IP address; skipped", extra={"interface": candidate})
        return addresses

    async def start(self) -> None:
        # An empty list means "every interface": zeroconf wants its enum for that, not a string.
        interfaces: list[str] | InterfaceChoice = self.interfaces or InterfaceChoice.All
        self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        addresses = self._addresses()
        self._info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self.name}.{SERVICE_TYPE}",
            port=self.port,
            addresses=addresses or None,
            server=f"{socket.gethostname()}.local.",
            properties={"id": self.hub_id, "version": __version__, "api": "/api/v1"},
        )
        await self._zc.async_register_service(self._info, allow_name_change=True)
        log.info("announced over mdns", extra={"service": self._info.name, "port": self.port})

    async def stop(self) -> None:
        if self._zc is None:
            return
        try:
            if self._info is not None:
                await self._zc.async_unregister_service(self._info)
        finally:
            await self._zc.async_close()
            self._zc = None
