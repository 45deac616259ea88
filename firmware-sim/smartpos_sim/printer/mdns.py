"""The network printer's mDNS (DNS-SD) advertisement, as a real printer announces its port 9100.

The record is ``NAME._pdl-datastream._tcp.local.`` (or ``_ipp._tcp`` to play a printer the hub
does not drive) with the data port, one IPv4 address and the TXT keys discovery reads: ``ty``
(model), ``usb_MFG``, ``usb_MDL`` and ``product``. The responder is bound to one interface
address only (127.0.0.1 by default), so a simulator never announces itself on a real network.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import re
from collections.abc import Awaitable

from zeroconf import IPVersion, NonUniqueNameException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPES = {"pdl": "_pdl-datastream._tcp.local.", "ipp": "_ipp._tcp.local."}
MANUFACTURER = "SmartPOS"
MODEL = "SIM-80"


def ipv4_address(text: str) -> str:
    """An IPv4 address in dotted form, or ValueError (interfaces are named by address here)."""
    return str(ipaddress.IPv4Address(text))


def instance_name(name: str) -> str:
    # DNS-SD instance names may hold spaces and UTF-8, but a dot would start a new label.
    return name.replace(".", "-")[:63]


def host_label(name: str) -> str:
    """A host name label for the SRV target: letters, digits and hyphens only."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
    return label or "smartpos-sim"


class PrinterAdvert:
    """Registers the printer's service record while the simulator runs."""

    def __init__(
        self,
        name: str,
        port: int,
        *,
        interface: str = "127.0.0.1",
        address: str = "127.0.0.1",
        service: str = "pdl",
    ) -> None:
        self.interface = ipv4_address(interface)
        self.service_type = SERVICE_TYPES[service]
        self.info = AsyncServiceInfo(
            self.service_type,
            f"{instance_name(name)}.{self.service_type}",
            port=port,
            addresses=[ipaddress.IPv4Address(address).packed],
            server=f"{host_label(name)}.local.",
            properties={
                "ty": f"{MANUFACTURER} {MODEL}",
                "usb_MFG": MANUFACTURER,
                "usb_MDL": MODEL,
                "product": f"({MODEL})",
            },
        )
        self._zc: AsyncZeroconf | None = None
        self._announcing: Awaitable[object] | None = None

    async def start(self) -> None:
        """Probe for the name and register it; raises if another responder holds the name."""
        # One interface, IPv4 only: zeroconf's default (every interface) would put the
        # simulator on the LAN of whoever runs the tests.
        self._zc = AsyncZeroconf(interfaces=[self.interface], ip_version=IPVersion.V4Only)
        try:
            # The first await probes and adds the record, after which queries are answered;
            # what it returns sends the unsolicited announcements, which may finish later.
            self._announcing = await self._zc.async_register_service(self.info)
        except BaseException as exc:
            await self._zc.async_close()
            self._zc = None
            if isinstance(exc, NonUniqueNameException):
                # Reported like a taken port: the process prints one error line and exits 1.
                raise OSError(errno.EADDRINUSE, f"mDNS name already taken: {self.info.name}") from exc
            raise

    async def stop(self) -> None:
        """Withdraw the record (goodbye packets) and close the responder."""
        if self._zc is None:
            return
        zc, self._zc = self._zc, None
        try:
            if isinstance(self._announcing, asyncio.Future) and not self._announcing.done():
                self._announcing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._announcing
            await (await zc.async_unregister_service(self.info))
        finally:
            await zc.async_close()
