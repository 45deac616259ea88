"""GS1 check digits (EAN-13, EAN-8, UPC-A) and the one normal form barcodes are stored in.

A scanner may send a UPC-A code as 12 digits or as its 13-digit EAN form with a leading zero;
both must find the same product, so UPC-A is stored and looked up as EAN-13. Codes that are
not GS1 (letters, other lengths: a shop's own labels) are kept as they are.
"""

from __future__ import annotations


def check_digit(data: str) -> int:
    """The GS1 mod-10 check digit of ``data`` (the digits before the check digit).

    Weights alternate 3, 1, ... starting from the rightmost data digit, whatever the length.
    """
    if not data.isdigit():
        raise ValueError(f"{data!r} is not all digits")
    # The digits at odd places from the right weigh 3, the others 1 (sliced, not enumerated:
    # a hub checks every barcode of a 5,000-product config it is sent).
    total = 3 * sum(map(int, data[::-2])) + sum(map(int, data[-2::-2]))
    return (10 - total % 10) % 10


def _validated(code: str, kind: str) -> str:
    if check_digit(code[:-1]) != int(code[-1]):
        raise ValueError(f"{kind} {code} has a wrong check digit (expected {check_digit(code[:-1])})")
    return code


def normalise(code: str) -> str:
    """The stored form of ``code``; raises ValueError for a GS1 code with a wrong check digit."""
    code = code.strip()
    if not code.isdigit():
        return code
    if len(code) == 13:
        return _validated(code, "EAN-13")
    if len(code) == 12:
        return "0" + _validated(code, "UPC-A")
    if len(code) == 8:
        return _validated(code, "EAN-8")
    return code
