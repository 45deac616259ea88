"""MT-SICS (Mettler Toledo Standard Interface Command Set), level 0/1: commands and answers.

Every command and every answer is one line of ASCII closed by CR LF; parts are separated by
one blank. An answer repeats the command's name, then a one-character status:

| command | answers |
|---|---|
| ``S`` stable weight | ``S S <weight> <unit>``; ``S I`` not executable (busy, or no stability within the scale's timeout); ``S +`` overload; ``S -`` underload |
| ``SI`` weight now | ``S S <weight> <unit>`` stable, ``S D <weight> <unit>`` dynamic (moving); ``S I``, ``S +``, ``S -`` |
| ``Z`` zero | ``Z A`` done; ``Z I`` not executable; ``Z +`` / ``Z -`` above / below the zero setting range |
| ``T`` tare | ``T S <tare weight> <unit>`` done; ``T I``; ``T +`` / ``T -`` above / below the taring range |
| ``@`` reset | ``I4 A "<serial number>"`` (pending commands are cancelled) |
| ``I4`` serial number | ``I4 A "<serial number>"`` |

Any command may instead get ``ES`` (syntax error: not recognised), ``ET`` (transmission error:
a faulty character, e.g. parity) or ``EL`` (logical error: recognised but not executable).
The weight is right-aligned in 10 characters, so ``S S     100.00 g`` carries 100.00 g;
decoding splits on blanks and also takes other padding. Texts are in double quotes and may
hold blanks. The line is 9600 8N1 by default.

Sources: ``shared/reference/device-protocols.md`` ("Scales": the commands, CR LF, ``S S``,
``S D``, ``S I``, ``S +``/``S -``, ``ES``/``ET``/``EL``); Mettler Toledo operating
instructions of the New Classic / AL balances, MT-SICS section (``S`` answers and the
``S S     100.00 g`` example); the MT-SICS reference manual's answer lists as quoted in the
public drivers Atlantis-Software/mt-sics (``Z A``/``Z I``/``Z +``/``Z -``, ``@`` answered
with ``I4 A``) and instrumentkit/InstrumentKit (``ES``/``ET``/``EL``, ``T`` and ``TA``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final, Literal, cast

import msgspec

from protocols.scales.common import (
    FrameError,
    FrameTooLong,
    MessageQueue,
    ScaleReading,
    normalise_unit,
    parse_number,
    printable,
    to_milligrams,
)

LINE_END: Final = b"\r\n"
MAX_LINE: Final = 128  # the longest level 0/1 answer is well under this
WEIGHT_WIDTH: Final = 10

ErrorCode = Literal["ES", "ET", "EL"]
ERROR_CODES: Final = ("ES", "ET", "EL")
WEIGHT_ANSWERS: Final = ("S", "SI", "T")  # names whose S/D answers carry a weight and unit

_NAME = re.compile(r"[A-Z@][A-Z0-9]{0,7}")
_PART = r'"[^"]*"|[^ "]+'
_TOKENS = re.compile(_PART)
# Parts are separated by blanks; the weight field's padding makes runs of them.
_LINE = re.compile(rf" *(?:{_PART})(?: +(?:{_PART}))* *")
_UNIT = re.compile(r"[A-Za-z%]{1,5}")


class SicsWeight(msgspec.Struct, frozen=True):
    """``S S``/``S D`` (a weight) or ``T S`` (the tare just taken): the value in ``unit``."""

    command: str
    dynamic: bool
    value: Decimal
    unit: str


class SicsStatus(msgspec.Struct, frozen=True):
    """An answer without data: ``Z A``, ``S I``, ``S +``, ``T -`` and so on."""

    command: str
    status: str


class SicsData(msgspec.Struct, frozen=True):
    """Any other answer: a name, a status and its fields (quotes removed), e.g. ``I4 A "B0123"``."""

    command: str
    status: str
    fields: tuple[str, ...]


class SicsError(msgspec.Struct, frozen=True):
    """``ES``, ``ET`` or ``EL``: the scale refused the command as a whole."""

    code: ErrorCode


SicsReply = SicsWeight | SicsStatus | SicsData | SicsError


class SicsCommand(msgspec.Struct, frozen=True):
    """A command line as the device reads it: its name and parameters."""

    name: str
    params: tuple[str, ...] = ()


def command(name: str, *params: str) -> bytes:
    """The line for command ``name`` with ``params`` (texts are quoted by the caller)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an MT-SICS command name: {name!r}")
    for param in params:
        if not param or any(c < " " or c > "~" for c in param):
            raise ValueError(f"a parameter must be printable ASCII: {param!r}")
    return " ".join((name, *params)).encode("ascii") + LINE_END


SEND_STABLE: Final = command("S")
SEND_IMMEDIATE: Final = command("SI")
ZERO: Final = command("Z")
TARE: Final = command("T")
RESET: Final = command("@")
SERIAL_NUMBER: Final = command("I4")


def encode_weight(name: str, status: Literal["S", "D"], value: Decimal, unit: str) -> bytes:
    """A weight answer as a device sends it, the value right-aligned in 10 characters."""
    return f"{name} {status} {value:>{WEIGHT_WIDTH}} {unit}".encode("ascii") + LINE_END


def encode_status(name: str, status: str) -> bytes:
    """An answer without data, ``Z A`` or ``S +``."""
    return f"{name} {status}".encode("ascii") + LINE_END


def encode_data(name: str, status: str, *texts: str) -> bytes:
    """An answer with quoted texts, ``I4 A "B0123"``."""
    quoted = " ".join(f'"{text}"' for text in texts)
    return f"{name} {status} {quoted}".encode("latin-1") + LINE_END


def encode_error(code: ErrorCode) -> bytes:
    return code.encode("ascii") + LINE_END


def _text(line: bytes) -> str:
    """The line as text; control bytes make it a transmission fault (``FrameError``)."""
    if any(b < 0x20 or b == 0x7F for b in line):
        raise FrameError("control byte inside an MT-SICS line", line)
    # Texts may use the 8-bit range 32..255 (the reference manual's "text" rule): Latin-1.
    return line.decode("latin-1")


def decode_line(line: bytes) -> SicsReply:
    """One answer line, without its CR LF; raises ``FrameError``."""
    text = _text(line)
    if text in ERROR_CODES:
        return SicsError(code=cast(ErrorCode, text))
    if not _LINE.fullmatch(text):
        raise FrameError("unbalanced quotes or stray characters in an MT-SICS answer", line)
    tokens = _TOKENS.findall(text)
    if len(tokens) < 2 or not _NAME.fullmatch(tokens[0]) or len(tokens[1]) != 1:
        raise FrameError("an MT-SICS answer is <name> <status> [fields]", line)
    name, status, fields = tokens[0], tokens[1], tokens[2:]
    weighs = status in ("S", "D") and name in WEIGHT_ANSWERS
    if not fields and not weighs:
        return SicsStatus(name, status)
    if weighs:
        if len(fields) != 2 or not _UNIT.fullmatch(fields[1]):
            raise FrameError("a weight answer is <name> <S|D> <weight> <unit>", line)
        return SicsWeight(name, status == "D", parse_number(fields[0], line), fields[1])
    return SicsData(name, status, tuple(f[1:-1] if f.startswith('"') else f for f in fields))


def parse_command(line: bytes) -> SicsCommand:
    """A command line as the device reads it; raises ``FrameError`` (answer ``ES``/``ET``)."""
    words = _text(line).split()
    if not words or not _NAME.fullmatch(words[0]):
        raise FrameError("not an MT-SICS command", line)
    return SicsCommand(words[0], tuple(words[1:]))


def to_reading(reply: SicsWeight, raw: bytes) -> ScaleReading:
    """A weight answer as a reading; raises ``UnitError`` for a unit without an exact factor."""
    unit = normalise_unit(reply.unit)
    return ScaleReading(
        milligrams=to_milligrams(reply.value, unit, raw),
        stable=not reply.dynamic,
        unit=unit,
        raw=printable(raw),
    )


class LineFramer:
    """Cuts a byte stream into lines ending in LF (a CR before it is dropped); both ends use it.

    A line longer than :data:`MAX_LINE` is reported once (:class:`FrameTooLong`) and skipped up
    to its LF, so a stream without line ends cannot grow memory.
    """

    def __init__(self) -> None:
        self._queue: MessageQueue[bytes] = MessageQueue()
        self._line = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> None:
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            self._take(data[start:end], ended=True)
            start = end + 1
        self._take(data[start:], ended=False)

    def next(self) -> bytes | None:
        """The next line without CR LF, None if none is complete; raises ``FrameTooLong``."""
        return self._queue.next()

    def _take(self, piece: bytes, *, ended: bool) -> None:
        if not self._skipping:
            self._line += piece
            # One byte of slack for the CR that belongs to the line end, not to the line.
            if len(self._line) > MAX_LINE + 1 or (ended and len(self._line.rstrip(b"\r")) > MAX_LINE):
                self._queue.put(FrameTooLong("line longer than any MT-SICS answer", bytes(self._line)))
                self._skipping = True
        if ended:
            if not self._skipping:
                self._queue.put(bytes(self._line[:-1] if self._line.endswith(b"\r") else self._line))
            self._line = bytearray()
            self._skipping = False


class SicsParser:
    """Host side: answers out of the byte stream. ``next`` gives ``(reply, raw line)``."""

    def __init__(self) -> None:
        self._lines = LineFramer()

    def feed(self, data: bytes) -> None:
        self._lines.feed(data)

    def next(self) -> tuple[SicsReply, bytes] | None:
        """The next answer and its line, None if none is complete; raises ``FrameError``."""
        line = self._lines.next()
        if line is None:
            return None
        return decode_line(line), line
