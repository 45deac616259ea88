"""Value types shared by the hub and the cloud: exact money, quantities and percentages.

Amounts are ``int`` minor units; quantities and percentages are decimal strings (architecture
principle 5). The hub's ``hub.domain.money`` uses the same constraints for its API.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_AMOUNT = 10**12

Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
"""A non-negative amount in minor units (a float or a string is refused)."""

QuantityText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,7}(\.[0-9]{1,3})?$")]
"""A quantity: digits with up to 3 decimals, e.g. "2" or "0.255"."""

PercentText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,3}(\.[0-9]{1,4})?$")]
"""A percentage: "17", "5.5", "0"; at most 4 decimals."""

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
"""A cloud-assigned identifier; the hub keeps it as the row's primary key."""
