"""What the serial scale drivers share: options, the request/answer loop, health, recognition.

Request and answer
------------------
A scale answers one request at a time. :meth:`SerialScale._request` writes a request and
reads until the protocol's parser hands out an answer the caller accepts, all within one
deadline, so a silent scale ends in ``Timeout`` and a chattering one cannot hold the task.
The caller's ``accept`` may skip a message (a stale answer it can recognise, MT-SICS names
each answer after its command) or raise ``ProtocolError`` for one that makes no sense.

After a ``Timeout`` or a ``ProtocolError`` the line may still carry a late or broken answer,
which the next request would take for its own. The driver then marks the line unsynchronised:
the next request first drains it (reads until it has been quiet for :data:`DRAIN_QUIET`
seconds, at most :data:`DRAIN_LIMIT`) and starts a fresh parser. A good exchange costs no
such wait.

Operations are serialised with a lock: the hub runs one task per device, but a weighing
dialog's reads and a health poll must never interleave their bytes on the line.

Recognising a scale (``supports``)
----------------------------------
A scale on a USB-serial adapter is known by its ``/dev/serial/by-id`` name (from the USB
descriptors of the scale's own USB-serial chip, or of the adapter), matched case-insensitively:

- ``Mettler`` (Mettler Toledo's current balances and scales speak MT-SICS): ``sics``;
- ``Toledo`` without ``Mettler`` (retail scales in 8217 mode): ``toledo``;
- ``CAS`` as a word of its own (not the start of "cash" or "casio"): ``cas``;
- otherwise ``Scale``: ``sics``, the hub's default scale driver.

Exactly one driver scores 10 for a name; a technician-allowed probe that named the protocol
(``probe = "toledo"``, ``"sics"`` or ``"cas"``) decides first.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import Annotated, Generic, Protocol, TypeVar

import msgspec

from drivers.base import DeviceHealth, ScaleDriver, Weight
from drivers.discovery.base import FoundDevice
from drivers.errors import Busy, DeviceOffline, ProtocolError, Timeout
from drivers.transports.base import Transport
from protocols.scales.common import ScaleProtocolError, ScaleReading, printable

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

DRAIN_QUIET = 0.05  # a line quiet this long holds no more of an old answer
DRAIN_LIMIT = 1.0  # a scale that never stops talking is not drained for longer

M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)
R = TypeVar("R")
Accept = Callable[[M, bytes], R | None]

_CAS_WORD = re.compile(r"(?<![a-z0-9])cas(?![a-z])")
PROTOCOL_PROBES = ("toledo", "sics", "cas")


class Parser(Protocol[M_co]):
    """The shape of the protocol parsers: bytes in, ``(message, raw bytes)`` out."""

    def feed(self, data: bytes) -> None: ...

    def next(self) -> tuple[M_co, bytes] | None: ...


class ScaleOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``options`` every serial scale takes.

    ``reply_timeout`` bounds each exchange (a weight read, the connect handshake);
    ``poll_interval`` is how often the device manager runs ``health`` and
    ``stream_interval`` how often it reads the weight while a weighing dialog is open.
    """

    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 1.0
    poll_interval: Seconds = 5.0
    stream_interval: Seconds = 0.2


def scale_protocol(found: FoundDevice) -> str | None:
    """Which scale protocol a discovered device most likely speaks (see the module doc)."""
    probe = found.properties.get("probe", "")
    if probe in PROTOCOL_PROBES:
        return probe
    if found.bus != "serial":
        return None
    names = " ".join((found.id, found.url, found.name)).lower()
    if "mettler" in names:
        return "sics"
    if "toledo" in names:
        return "toledo"
    if _CAS_WORD.search(names):
        return "cas"
    return "sics" if "scale" in names else None


def to_weight(reading: ScaleReading) -> Weight:
    return Weight(
        milligrams=reading.milligrams,
        stable=reading.stable,
        overload=reading.overload,
        underload=reading.underload,
        unit=reading.unit,
        raw=reading.raw,
    )


def health_of(weight: Weight) -> DeviceHealth:
    """What a weight says about the scale: over or under load hold weighing, motion does not."""
    if weight.overload:
        return DeviceHealth(state="error", conditions=("overload",), detail="load over the scale's capacity")
    if weight.underload:
        return DeviceHealth(
            state="error", conditions=("underload",), detail="below zero: platform lifted off or not zeroed"
        )
    if not weight.stable:
        return DeviceHealth(state="online", conditions=("in_motion",), detail="weight not stable")
    return DeviceHealth(state="online")


class SerialScale(ScaleDriver, Generic[M]):
    """A scale that answers requests on a byte stream, with one parser of protocol ``M``."""

    options: ScaleOptions

    def __init__(self, device_id: str, transport: Transport, options: ScaleOptions) -> None:
        super().__init__(device_id, transport, options)
        self._lock = asyncio.Lock()
        self._parser = self._new_parser()
        self._unsynchronised = False

    @classmethod
    def supports(cls, found: FoundDevice) -> int:
        return 10 if scale_protocol(found) == cls.name else 0

    @abc.abstractmethod
    def _new_parser(self) -> Parser[M]:
        """A fresh parser of the protocol's answers."""

    @abc.abstractmethod
    async def _hello(self) -> None:
        """The first exchange after opening the port: proves a scale of this protocol answers."""

    @abc.abstractmethod
    async def _weigh(self) -> Weight:
        """One weight request, called with the lock held."""

    async def connect(self) -> None:
        await self.transport.open(self.options.connect_timeout)
        self._parser = self._new_parser()
        self._unsynchronised = False
        try:
            async with self._lock:
                await self._hello()
        except Timeout as exc:
            await self.close()
            raise DeviceOffline(f"{self.device_id}: the scale does not answer ({exc})") from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()

    async def weigh(self) -> Weight:
        async with self._lock:
            return await self._weigh()

    async def health(self) -> DeviceHealth:
        """A weight request, read as health. Silence is ``DeviceOffline`` (the device manager
        reconnects); a busy scale is online; bytes that make no sense are an ``error`` state
        rather than a reconnect, since the next poll usually reads fine again."""
        try:
            weight = await self.weigh()
        except Timeout as exc:
            raise DeviceOffline(f"{self.device_id}: the scale does not answer ({exc})") from None
        except Busy as exc:
            return DeviceHealth(state="online", conditions=("busy",), detail=str(exc))
        except ProtocolError as exc:
            return DeviceHealth(state="error", conditions=("protocol_error",), detail=str(exc))
        return health_of(weight)

    async def _request(self, request: bytes, accept: Accept[M, R], timeout: float | None = None) -> R:
        """Send ``request``; the first message ``accept`` returns something for is the answer."""
        if not self.transport.is_open:
            raise DeviceOffline(f"{self.device_id}: scale port is not open")
        if self._unsynchronised:
            await self._resynchronise()
        timeout = self.options.reply_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await self.transport.write(request, timeout)
            while True:
                while (item := self._parser.next()) is not None:
                    result = accept(*item)
                    if result is not None:
                        return result
                remaining = deadline - loop.time()
                try:
                    if remaining <= 0:
                        raise Timeout("deadline passed")
                    self._parser.feed(await self.transport.read(remaining))
                except Timeout:
                    message = f"{self.device_id}: no answer to {printable(request)} within {timeout:.1f}s"
                    raise Timeout(message, sent=True) from None
        except ScaleProtocolError as exc:
            self._unsynchronised = True
            raise ProtocolError(f"{self.device_id}: {exc} (got {printable(exc.raw)})", sent=True) from None
        except (Timeout, ProtocolError):
            self._unsynchronised = True
            raise

    async def _resynchronise(self) -> None:
        """Drop whatever an earlier, failed exchange left on the line."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_LIMIT
        with contextlib.suppress(Timeout):
            while loop.time() < deadline:
                await self.transport.read(DRAIN_QUIET)
        self._parser = self._new_parser()
        self._unsynchronised = False

    def unexpected(self, what: str, raw: bytes) -> ProtocolError:
        """The error for an answer that makes no sense here."""
        return ProtocolError(f"{self.device_id}: unexpected answer to {what}: {printable(raw)}", sent=True)
