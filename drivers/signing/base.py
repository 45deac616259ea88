"""The interface every signing adapter implements (TaxCore, a German TSE, Austrian RKSV).

A signing adapter fiscalises a :class:`~protocols.fiscal.receipt.FiscalReceipt` by having it
signed, and returns what must be printed on the receipt (the journal, the QR code) and every
field of the answer. The hub prints the receipt itself afterwards.

Rules every adapter keeps (principle 3, nothing twice):
- ``sign`` is idempotent per ``receipt.request_id``: called again after a lost answer, a crash
  or a timeout, it finds the earlier signature (the service's request id, the TSE's
  transaction) instead of signing a second time.
- Errors are the typed device errors: ``DeviceOffline`` when the service cannot be reached
  (the hub retries later), ``Declined`` when it refuses the receipt (final; the reason says
  why), ``ProtocolError`` when its answer makes no sense.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from protocols.fiscal.receipt import FiscalReceipt, FiscalResult


class SigningAdapter(abc.ABC):
    """Signs receipts for one store."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def sign(self, receipt: FiscalReceipt) -> FiscalResult:
        """Sign ``receipt`` (or find its earlier signature) and return the result."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections. Must not raise."""
