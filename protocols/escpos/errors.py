"""Typed errors of the ESC/POS codec.

Bad bytes from a printer and documents that cannot be printed never surface as anything but an
:class:`EscposError`, so a driver or the hub can catch one base class at the edge (principle 6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocols.escpos.replies import Reply


class EscposError(Exception):
    """Base of every ESC/POS codec error."""


class StatusDecodeError(EscposError):
    """A status answer does not have the fixed bits every such answer carries.

    ``value`` is the offending byte when there is one (``None`` for a wrong length).
    """

    def __init__(self, message: str, *, value: int | None = None) -> None:
        super().__init__(message)
        self.value = value


class ReplyDecodeError(EscposError):
    """The printer sent a byte that is no reply we know.

    ``value`` is the offending byte and ``offset`` its index in the chunk given to ``feed``.
    ``replies`` holds the replies completed earlier in that same chunk: they were really sent,
    and a driver that matches status bytes to its requests in order may still want them.
    """

    def __init__(
        self,
        message: str,
        *,
        value: int,
        offset: int,
        replies: list[Reply] | None = None,
    ) -> None:
        super().__init__(message)
        self.value = value
        self.offset = offset
        self.replies: list[Reply] = replies if replies is not None else []


class RenderError(EscposError):
    """A document cannot be rendered.

    A bad barcode, an unreadable or oversized image, a QR code too big for its symbol, an
    unsafe drawer pulse, or a document built in Python that breaks the schema's constraints.
    """
