"""Typed errors of the fiscal codecs: bad device bytes never surface as anything else."""

from __future__ import annotations


class FiscalProtocolError(Exception):
    """Base of every fiscal codec error."""


class FrameError(FiscalProtocolError):
    """Bytes that are not a well-formed frame: wrong length, checksum, marker or nibble."""


class FieldError(FiscalProtocolError):
    """A value that cannot go into a frame (too long, a separator inside a field)."""
