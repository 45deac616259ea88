"""Network printers that announce themselves over mDNS/DNS-SD, watched with zeroconf's async browser.

Event-driven, not a scan: the browser asks once (and again with growing gaps, as RFC 6762
says), and printers answer or announce themselves; a goodbye packet or an expired record
removes them. The three service types are those of the reference sheet: raw port 9100
(``_pdl-datastream._tcp``, what the ESC/POS driver speaks), IPP and LPD (listed, so a
technician sees the printer, but no driver of ours claims them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from drivers.discovery.base import DiscoveryBackend, DiscoverySink, FoundDevice

log = logging.getLogger(__name__)

SERVICE_TYPES = ("_pdl-datastream._tcp.local.", "_ipp._tcp.local.", "_printer._tcp.local.")
RESOLVE_TIMEOUT_MS = 3000


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def found_from_info(info: AsyncServiceInfo, service_type: str) -> FoundDevice | None:
    """A FoundDevice for a resolved service; None when it has no IPv4 address or port yet."""
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or not info.port:
        return None
    host = str(ipaddress.ip_address(addresses[0]))
    short_type = service_type.removesuffix(".local.")
    instance = info.name.removesuffix("." + service_type)
    properties = {_text(key): _text(value) for key, value in info.properties.items() if key}
    return FoundDevice(
        id=f"mdns:{instance}.{short_type}",
        bus="mdns",
        url=f"tcp://{host}:{info.port}",
        name=properties.get("ty") or instance,
        services=(short_type,),
        properties=properties,
    )


class MdnsDiscovery(DiscoveryBackend):
    """Browses the printer service types on the given interfaces (all when empty)."""

    bus = "mdns"

    def __init__(self, interfaces: list[str] | None = None) -> None:
        self.interfaces = interfaces or []
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._sink: DiscoverySink | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids: dict[str, str] = {}  # full service name -> device id

    async def start(self, sink: DiscoverySink) -> None:
        self._sink = sink
        interfaces: list[str] | InterfaceChoice = self.interfaces or InterfaceChoice.All
        self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, list(SERVICE_TYPES), handlers=[self._on_change]
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._zc is not None:
            await self._zc.async_close()
            self._zc = None

    def _on_change(self, **kwargs: Any) -> None:
        # Called by zeroconf on the event loop; resolving needs a round trip, so it is a task.
        name: str = kwargs["name"]
        service_type: str = kwargs["service_type"]
        change: ServiceStateChange = kwargs["state_change"]
        if change is ServiceStateChange.Removed:
            device_id = self._ids.pop(name, None)
            if device_id is not None and self._sink is not None:
                self._sink.disappeared(device_id)
            return
        task = asyncio.get_running_loop().create_task(self._resolve(name, service_type))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, name: str, service_type: str) -> None:
        zc = self._zc
        if zc is None:
            return
        info = AsyncServiceInfo(service_type, name)
        try:
            resolved = await info.async_request(zc.zeroconf, RESOLVE_TIMEOUT_MS)
        except Exception:
            log.warning("mdns service could not be resolved", extra={"service": name}, exc_info=True)
            return
        found = found_from_info(info, service_type) if resolved else None
        if found is None or self._sink is None:
            return
        self._ids[name] = found.id
        self._sink.appeared(found)
