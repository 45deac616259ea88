"""GS1 check digits against published examples, and a property: any single wrong digit is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.catalog.barcode_check import check_digit, normalise


@pytest.mark.parametrize(
    ("code", "stored"),
    [
        ("4006381333931", "4006381333931"),  # EAN-13 (GS1 example)
        ("5901234123457", "5901234123457"),  # EAN-13 (GS1 example)
        ("96385074", "96385074"),  # EAN-8
        ("036000291452", "0036000291452"),  # UPC-A is stored in its EAN-13 form
        ("0036000291452", "0036000291452"),  # ... so both forms find the same product
        ("SHELF-17", "SHELF-17"),  # the shop's own code: kept as it is
        (" 4006381333931 ", "4006381333931"),
    ],
)
def test_golden_codes(code: str, stored: str) -> None:
    assert normalise(code) == stored


@pytest.mark.parametrize("code", ["4006381333932", "96385075", "036000291453"])
def test_a_wrong_check_digit_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="check digit"):
        normalise(code)


@given(st.sampled_from([7, 11, 12]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)))
def test_valid_codes_round_trip(data: str) -> None:
    code = data + str(check_digit(data))
    assert normalise(code).endswith(code)


@given(
    st.text("0123456789", min_size=12, max_size=12),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_error_is_detected(data: str, position: int, shift: int) -> None:
    code = data + str(check_digit(data))
    wrong = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    with pytest.raises(ValueError, match="check digit"):
        normalise(wrong)
