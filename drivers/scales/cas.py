"""CAS scales (PD-II, AP, ER, SW and others) in ECR protocol type 6, on a serial line.

Each weight is one exchange (see :mod:`protocols.scales.cas`): ENQ ``05``, the scale answers
ACK ``06``; DC1 ``11``, the scale answers the 15-byte frame with the stable flag, the sign
(``F`` for overload), the weight and its unit. NAK ``15`` to ENQ means the scale has no
weight for now: ``Busy``. Both steps share one ``reply_timeout`` each.

The protocol has no zero or tare command: ``zero`` and ``tare`` raise ``Declined`` and send
nothing; the cashier uses the scale's keys, and the frame then carries the net weight. Nor
has it an under-load code: a scale below zero sends a negative, unstable weight, which the
driver passes on as it is (``underload`` stays False).

``connect`` sends one ENQ and expects ACK or NAK, which proves a CAS scale in an ECR mode
answers. The line is 9600 8N1.
"""

from __future__ import annotations

from drivers.base import Weight
from drivers.errors import Busy, Declined
from drivers.scales.common import Parser, ScaleOptions, SerialScale, to_weight
from protocols.scales.cas import DC1, ENQ, CasAck, CasMessage, CasNak, CasParser, CasWeight, to_reading
from protocols.scales.common import ScaleProtocolError

NO_COMMAND = "the CAS ECR type 6 protocol has no {} command; use the scale's own {} key"


class CasOptions(ScaleOptions, forbid_unknown_fields=True, kw_only=True):
    """``options`` of a CAS scale: the common ones (the unit comes in every frame)."""


class CasScale(SerialScale[CasMessage]):
    """A CAS scale answering ENQ/DC1 with ECR type 6 frames."""

    name = "cas"
    Options = CasOptions
    options: CasOptions

    def _new_parser(self) -> Parser[CasMessage]:
        return CasParser()

    def _enquiry_answer(self, message: CasMessage, raw: bytes) -> bool:
        """ACK: go on; NAK: ``Busy``; anything else makes no sense after ENQ."""
        if isinstance(message, CasAck):
            return True
        if isinstance(message, CasNak):
            raise Busy(f"{self.device_id}: the scale has no weight to send now (NAK)", sent=True)
        raise self.unexpected("ENQ", raw)

    async def _hello(self) -> None:
        def answer(message: CasMessage, raw: bytes) -> bool:
            if isinstance(message, CasAck | CasNak):
                return True
            raise self.unexpected("ENQ", raw)

        await self._request(bytes([ENQ]), answer)

    async def _weigh(self) -> Weight:
        def frame(message: CasMessage, raw: bytes) -> Weight:
            if not isinstance(message, CasWeight):
                raise self.unexpected("DC1", raw)
            try:
                return to_weight(to_reading(message, raw))
            except ScaleProtocolError as exc:
                raise self.unexpected(f"DC1 ({exc})", raw) from None

        await self._request(bytes([ENQ]), self._enquiry_answer)
        return await self._request(bytes([DC1]), frame)

    async def zero(self) -> None:
        raise Declined(f"{self.device_id}: " + NO_COMMAND.format("zero", "ZERO"))

    async def tare(self) -> None:
        raise Declined(f"{self.device_id}: " + NO_COMMAND.format("tare", "TARE"))
