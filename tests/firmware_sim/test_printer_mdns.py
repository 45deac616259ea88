"""``smartpos-sim printer --mdns NAME``: the network printer found by a zeroconf browser on loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from tests.firmware_sim.simproc import Sim

PDL = "_pdl-datastream._tcp.local."
IPP = "_ipp._tcp.local."
TXT = {b"ty": b"SmartPOS SIM-80", b"usb_MFG": b"SmartPOS", b"usb_MDL": b"SIM-80", b"product": b"(SIM-80)"}


class Browser:
    """Browses one service type on 127.0.0.1 and records what comes and goes."""

    def __init__(self, zc: AsyncZeroconf, service_type: str) -> None:
        self.zc = zc
        self.service_type = service_type
        self.changes: list[tuple[str, ServiceStateChange]] = []
        self._changed = asyncio.Event()
        self.browser = AsyncServiceBrowser(zc.zeroconf, [service_type], handlers=[self._on_change])

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        self.changes.append((name, state_change))
        self._changed.set()

    async def wait(self, name: str, state: ServiceStateChange, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while (name, state) not in self.changes:
                self._changed.clear()
                await self._changed.wait()

    async def info(self, name: str) -> AsyncServiceInfo:
        info = AsyncServiceInfo(self.service_type, name)
        assert await info.async_request(self.zc.zeroconf, 3000), f"no answer for {name}"
        return info


@pytest.fixture
async def zc() -> AsyncIterator[AsyncZeroconf]:
    # Loopback only, as the simulator: nothing of the test goes out on a real network.
    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    yield zeroconf
    await zeroconf.async_close()


def unique_name() -> str:
    return f"SIM test {uuid.uuid4().hex[:8]}"


async def test_browser_finds_the_printer_with_port_and_txt(
    zc: AsyncZeroconf, start_sim: Callable[..., Sim]
) -> None:
    name = unique_name()
    sim = start_sim("--mdns", name)
    browser = Browser(zc, PDL)
    await browser.wait(f"{name}.{PDL}", ServiceStateChange.Added)
    info = await browser.info(f"{name}.{PDL}")
    assert info.port == sim.port
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert {k: v for k, v in info.properties.items() if k in TXT} == TXT
    await browser.browser.async_cancel()


async def test_ipp_advertises_the_other_service_type(
    zc: AsyncZeroconf, start_sim: Callable[..., Sim]
) -> None:
    name = unique_name()
    sim = start_sim("--mdns", name, "--mdns-service", "ipp")
    ipp, pdl = Browser(zc, IPP), Browser(zc, PDL)
    await ipp.wait(f"{name}.{IPP}", ServiceStateChange.Added)
    assert (await ipp.info(f"{name}.{IPP}")).port == sim.port
    assert all(not seen.startswith(name) for seen, _ in pdl.changes), "not as pdl-datastream"
    await ipp.browser.async_cancel()
    await pdl.browser.async_cancel()


async def test_unregistered_on_exit(zc: AsyncZeroconf, tmp_path: Path) -> None:
    name = unique_name()
    sim = Sim(tmp_path, "--mdns", name).start()
    try:
        browser = Browser(zc, PDL)
        await browser.wait(f"{name}.{PDL}", ServiceStateChange.Added)
    finally:
        # In a thread: the loop keeps reading the goodbye packets while the process exits.
        assert await asyncio.to_thread(sim.stop) == 0
    await browser.wait(f"{name}.{PDL}", ServiceStateChange.Removed)
    await browser.browser.async_cancel()
