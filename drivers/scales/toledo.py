"""Scales in Mettler Toledo 8217 mode (most retail counter scales offer it), on a serial line.

The protocol (see :mod:`protocols.scales.toledo`) is ``W`` for the weight and ``Z`` for the
zero key, each answered at once. A weight comes only when it is valid; otherwise the scale
sends its status byte (motion, over capacity, under zero), which the driver returns as a
``Weight`` of 0 mg that is not stable, with the overload or underload flag. The answer does
not say the unit: it is the ``unit`` option, which must match the scale's setting.

There is no tare command in the 8217 protocol. ``tare`` raises ``Declined`` and nothing is
sent; the cashier tares with the scale's own key, and the weight sent is then the net weight.

``connect`` runs the detection handshake: ``E`` + ``hello`` must come back as ``02 45 0D``
and the echoed ``hello``, then ``F`` (answered ``02 46 0D``) ends echo mode. A scale that
stays silent is ``DeviceOffline``; one that answers something else, ``ProtocolError``. Set
``handshake = false`` for a scale that lacks echo mode.

The line is 9600 baud 7E1: ``serial:///dev/ttyUSB0?baudrate=9600&bytesize=7&parity=E``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drivers.base import Weight
from drivers.errors import Declined
from drivers.scales.common import Parser, ScaleOptions, SerialScale, to_weight
from protocols.scales.common import ScaleProtocolError
from protocols.scales.toledo import (
    ECHO_OFF,
    HANDSHAKE_TEXT,
    WEIGH,
    ZERO,
    ToledoAck,
    ToledoEcho,
    ToledoMessage,
    ToledoParser,
    ToledoStatus,
    ToledoWeight,
    handshake,
    to_reading,
)


class ToledoOptions(ScaleOptions, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a Toledo 8217 scale.

    ``unit`` is the scale's weighing unit (the protocol does not send it). ``decimals``
    places the point in a weight sent without one (a scale set to hide it); unset, a weight
    without a point is whole units.
    """

    unit: Literal["kg", "g", "lb"] = "kg"
    decimals: Annotated[int, msgspec.Meta(ge=0, le=4)] | None = None
    handshake: bool = True


class ToledoScale(SerialScale[ToledoMessage]):
    """A scale speaking the Mettler Toledo 8217 protocol."""

    name = "toledo"
    Options = ToledoOptions
    options: ToledoOptions

    def _new_parser(self) -> Parser[ToledoMessage]:
        return ToledoParser()

    async def _hello(self) -> None:
        if not self.options.handshake:
            return
        echoed = bytearray()
        acknowledged = False

        def echo(message: ToledoMessage, raw: bytes) -> bool | None:
            nonlocal acknowledged
            if isinstance(message, ToledoAck) and message.letter == "E" and not acknowledged:
                acknowledged = True
                return None
            if not (acknowledged and isinstance(message, ToledoEcho)):
                raise self.unexpected("the Ehello handshake", raw)
            echoed.extend(message.data)
            if not HANDSHAKE_TEXT.startswith(bytes(echoed)):
                raise self.unexpected("the Ehello handshake", bytes(echoed))
            return True if bytes(echoed) == HANDSHAKE_TEXT else None

        await self._request(handshake(HANDSHAKE_TEXT), echo)
        await self._request(ECHO_OFF, self._acknowledged_f)

    def _acknowledged_f(self, message: ToledoMessage, raw: bytes) -> bool:
        if isinstance(message, ToledoAck) and message.letter == "F":
            return True
        raise self.unexpected("F (end of echo mode)", raw)

    async def _weigh(self) -> Weight:
        def answer(message: ToledoMessage, raw: bytes) -> Weight:
            if not isinstance(message, ToledoWeight | ToledoStatus):
                raise self.unexpected("W", raw)
            try:
                reading = to_reading(message, self.options.unit, raw, self.options.decimals)
            except ScaleProtocolError as exc:
                raise self.unexpected(f"W ({exc})", raw) from None
            return to_weight(reading)

        return await self._request(WEIGH, answer)

    async def zero(self) -> None:
        """Press the zero key; ``Declined`` when the status shows it was refused."""

        def answer(message: ToledoMessage, raw: bytes) -> ToledoStatus:
            if not isinstance(message, ToledoStatus):
                raise self.unexpected("Z", raw)
            return message

        async with self._lock:
            status = await self._request(ZERO, answer)
        if status.motion:
            raise Declined(f"{self.device_id}: zero refused, the load is moving", sent=True)
        if status.outside_zero_capture:
            raise Declined(f"{self.device_id}: zero refused, the load is outside the zero range", sent=True)
        if status.over_capacity or status.under_zero:
            what = "over capacity" if status.over_capacity else "under zero"
            raise Declined(f"{self.device_id}: zero refused, the scale is {what}", sent=True)

    async def tare(self) -> None:
        """Not in the protocol: always ``Declined``, nothing sent."""
        raise Declined(
            f"{self.device_id}: the Toledo 8217 protocol has no tare command; "
            "tare with the scale's own key (the weight sent is then net)"
        )
