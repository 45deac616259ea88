"""mDNS discovery on loopback: printers announced with zeroconf are found, resolved and lost."""

from __future__ import annotations

import asyncio

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from drivers.discovery.base import FoundDevice
from drivers.discovery.mdns import MdnsDiscovery
from tests.support.procs import free_port


class Sink:
    def __init__(self) -> None:
        self.found: dict[str, FoundDevice] = {}
        self.gone: list[str] = []
        self.changed = asyncio.Event()

    def appeared(self, found: FoundDevice) -> None:
        self.found[found.id] = found
        self.changed.set()

    def disappeared(self, device_id: str) -> None:
        self.found.pop(device_id, None)
        self.gone.append(device_id)
        self.changed.set()

    async def until(self, predicate: object, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


def service(name: str, kind: str, port: int, **txt: str) -> AsyncServiceInfo:
    return AsyncServiceInfo(
        f"{kind}.local.",
        f"{name}.{kind}.local.",
        port=port,
        addresses=[bytes([127, 0, 0, 1])],
        server=f"{name.lower().replace(' ', '-')}.local.",
        properties=txt,
    )


async def test_announced_printers_are_found_with_their_address_and_txt_and_lost_on_goodbye() -> None:
    port = free_port()
    announcer = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    raw = service("Bar printer", "_pdl-datastream._tcp", port, ty="Epson TM-T88VI", product="(TM-T88VI)")
    ipp = service("Office laser", "_ipp._tcp", 631, ty="Laser 9000")
    await announcer.async_register_service(raw)
    await announcer.async_register_service(ipp)
    sink = Sink()
    discovery = MdnsDiscovery(["127.0.0.1"])
    await discovery.start(sink)
    try:
        raw_id = "mdns:Bar printer._pdl-datastream._tcp"
        ipp_id = "mdns:Office laser._ipp._tcp"
        await sink.until(lambda: raw_id in sink.found and ipp_id in sink.found)
        printer = sink.found[raw_id]
        assert printer.url == f"tcp://127.0.0.1:{port}"
        assert printer.services == ("_pdl-datastream._tcp",)
        assert printer.properties["ty"] == "Epson TM-T88VI"
        assert printer.name == "Epson TM-T88VI"
        assert sink.found[ipp_id].url == "tcp://127.0.0.1:631"

        await announcer.async_unregister_service(raw)
        await sink.until(lambda: raw_id in sink.gone)
        assert ipp_id in sink.found
    finally:
        await discovery.stop()
        await announcer.async_close()
