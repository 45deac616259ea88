"""A scanned code turned into what goes on the cart line.

In-store EAN-13 codes (prefix 2, printed by a scale or the store) carry an item code and a
weight or a price, laid out as the store settings say; the line gets that weight as its
quantity, or that price as the line's price for one unit. Every other code is looked up in the
catalog (UPC-A and EAN-13 forms of one code find the same product).
"""

from __future__ import annotations

from decimal import Decimal

from hub.domain.catalog.barcode_check import check_digit, normalise
from hub.domain.sales.errors import Invalid, NotFound
from hub.domain.sales.ports import CatalogPort, SellableItem
from hub.domain.store_settings import InStoreBarcodeLayout, StoreSettings


def parse_in_store(code: str, layout: InStoreBarcodeLayout) -> tuple[str, int] | None:
    """(item code, raw value) of an in-store code, or None when ``code`` is not one.

    Raises Invalid for a code that is in-store by its prefix but has a wrong check digit, so a
    misread label never becomes a sale of the wrong weight.
    """
    if not layout.enabled or len(code) != 13 or not code.isdigit() or not code.startswith(layout.prefix):
        return None
    if check_digit(code[:12]) != int(code[12]):
        raise Invalid("bad_check_digit", f"barcode {code} has a wrong check digit")
    start = len(layout.prefix)
    # The prefix, item code and value fill the 12 data digits; with a 1-digit prefix a
    # 5+5 layout leaves one digit between item and value (used by some scales as a value
    # check digit), which is skipped.
    item = code[start : start + layout.item_digits]
    value = code[12 - layout.value_digits : 12]
    return item, int(value)


async def resolve_scan(
    catalog: CatalogPort, code: str, settings: StoreSettings
) -> tuple[SellableItem, Decimal, int | None]:
    """(item, quantity, label price or None) for a scanned ``code``."""
    code = code.strip()
    parsed = parse_in_store(code, settings.in_store_barcodes)
    if parsed is not None:
        plu, raw = parsed
        item = await catalog.by_plu(plu)
        if item is None:
            raise NotFound("unknown_barcode", f"no product has item code {plu} (from barcode {code})")
        layout = settings.in_store_barcodes
        if layout.value_kind == "weight":
            weight = Decimal(raw).scaleb(-layout.value_decimals)
            if weight <= 0:
                raise Invalid("invalid_quantity", f"barcode {code} carries a zero weight")
            return item, weight, None
        return item, Decimal(1), raw
    try:
        lookup = normalise(code)
    except ValueError as exc:
        raise Invalid("bad_check_digit", str(exc)) from None
    item = await catalog.by_barcode(lookup)
    if item is None:
        raise NotFound("unknown_barcode", f"no product or variant has barcode {code}")
    return item, Decimal(1), None
