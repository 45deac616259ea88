"""Mettler Toledo balances and scales speaking MT-SICS, on a serial line (the hub's default).

The driver uses four level 0/1 commands (see :mod:`protocols.scales.sics`):

- ``I4`` at connect: the serial number; proves an MT-SICS device answers, changes nothing.
  (``@`` would too, but it resets the balance "to the condition found after switching on"
  (Mettler Toledo JS-series operating instructions), which drops the tare, and a reconnect
  must not lose the tare of the bowl a customer's goods are sitting in.)
- ``SI`` for ``weigh``: the weight now, stable (``S S``) or moving (``S D``), so a weighing
  dialog can show the weight as it settles; ``S +``/``S -`` are overload and underload,
  ``S I`` (busy) is ``Busy``.
- ``Z`` and ``T`` for ``zero`` and ``tare``. The balance waits for stability before it acts,
  so these get ``settle_timeout`` rather than ``reply_timeout``; ``Z I``/``T I`` (no
  stability in time, or busy), ``Z +``/``Z -`` and ``T +``/``T -`` (out of range) are
  ``Declined`` with the reason.

Every answer repeats its command's name, so an answer to another command (a late one after
a timeout) is skipped rather than mistaken. ``ES``/``ET``/``EL`` are ``ProtocolError``. The
unit comes with every weight. The line is 9600 8N1 by default.
"""

from __future__ import annotations

from drivers.base import DeviceHealth, Weight
from drivers.errors import Busy, Declined, ProtocolError
from drivers.scales.common import Parser, ScaleOptions, Seconds, SerialScale, to_weight
from protocols.scales.common import ScaleProtocolError, printable
from protocols.scales.sics import (
    SEND_IMMEDIATE,
    SERIAL_NUMBER,
    TARE,
    ZERO,
    SicsData,
    SicsError,
    SicsParser,
    SicsReply,
    SicsStatus,
    SicsWeight,
    to_reading,
)

REFUSALS = {
    "I": "not executable now (no stability in time, or busy)",
    "+": "above the permitted range",
    "-": "below the permitted range",
}
ERRORS = {
    "ES": "syntax error (command not recognised)",
    "ET": "transmission error (a faulty character on the line)",
    "EL": "logical error (command cannot be executed)",
}


class SicsOptions(ScaleOptions, forbid_unknown_fields=True, kw_only=True):
    """``options`` of an MT-SICS scale: ``settle_timeout`` bounds zero and tare, which the
    balance only carries out once the load is still (its own timeout is a few seconds)."""

    settle_timeout: Seconds = 5.0


class SicsScale(SerialScale[SicsReply]):
    """A scale or balance speaking MT-SICS."""

    name = "sics"
    Options = SicsOptions
    options: SicsOptions
    serial_number = ""
    _unit = "kg"

    def _new_parser(self) -> Parser[SicsReply]:
        return SicsParser()

    def _answer_to(self, name: str, reply: SicsReply, raw: bytes) -> bool:
        """Whether ``reply`` answers command ``name``; raises ``ProtocolError`` for ES/ET/EL."""
        if isinstance(reply, SicsError):
            raise ProtocolError(f"{self.device_id}: {name} refused: {ERRORS[reply.code]}", sent=True)
        return reply.command == name

    async def _hello(self) -> None:
        def answer(reply: SicsReply, raw: bytes) -> str | None:
            if not self._answer_to("I4", reply, raw):
                return None
            if not isinstance(reply, SicsData) or reply.status != "A" or len(reply.fields) != 1:
                raise self.unexpected("I4", raw)
            return reply.fields[0]

        self.serial_number = await self._request(SERIAL_NUMBER, answer)

    async def _weigh(self) -> Weight:
        def answer(reply: SicsReply, raw: bytes) -> Weight | None:
            if not self._answer_to("S", reply, raw):
                return None
            if isinstance(reply, SicsWeight):
                try:
                    weight = to_weight(to_reading(reply, raw))
                except ScaleProtocolError as exc:
                    raise self.unexpected(f"SI ({exc})", raw) from None
                self._unit = weight.unit
                return weight
            if isinstance(reply, SicsStatus) and reply.status in ("+", "-"):
                # No number comes with these; the unit is the one the scale last used.
                over = reply.status == "+"
                return Weight(
                    milligrams=0,
                    stable=False,
                    overload=over,
                    underload=not over,
                    unit=self._unit,
                    raw=printable(raw),
                )
            if isinstance(reply, SicsStatus) and reply.status == "I":
                raise Busy(f"{self.device_id}: the scale cannot send a weight now (S I)", sent=True)
            raise self.unexpected("SI", raw)

        return await self._request(SEND_IMMEDIATE, answer)

    async def health(self) -> DeviceHealth:
        health = await super().health()
        if self.serial_number and not health.detail:
            return DeviceHealth(
                state=health.state, conditions=health.conditions, detail=f"serial {self.serial_number}"
            )
        return health

    async def zero(self) -> None:
        """``Z``: zero the balance; ``Declined`` with the reason when it will not."""
        await self._command("Z", ZERO, expect_weight=False)

    async def tare(self) -> None:
        """``T``: take the load as tare; ``Declined`` with the reason when it will not."""
        await self._command("T", TARE, expect_weight=True)

    async def _command(self, name: str, request: bytes, *, expect_weight: bool) -> None:
        def answer(reply: SicsReply, raw: bytes) -> SicsReply | None:
            if not self._answer_to(name, reply, raw):
                return None
            return reply

        async with self._lock:
            reply = await self._request(request, answer, timeout=self.options.settle_timeout)
        if isinstance(reply, SicsStatus) and reply.status in REFUSALS:
            action = "tare" if expect_weight else "zero"
            raise Declined(f"{self.device_id}: {action} refused: {REFUSALS[reply.status]}", sent=True)
        done = (
            isinstance(reply, SicsWeight) and not reply.dynamic
            if expect_weight
            else isinstance(reply, SicsStatus) and reply.status == "A"
        )
        if not done:
            raise ProtocolError(f"{self.device_id}: unexpected answer to {name}: {reply}", sent=True)
