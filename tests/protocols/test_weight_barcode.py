"""EAN-13 weight and price barcodes: check digits, layouts, errors and fuzzing."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.scales.barcode import (
    DEFAULT_LAYOUT,
    BarcodeError,
    WeighedItem,
    WeightBarcodeLayout,
    check_digit,
    decode,
    encode,
    is_valid_ean13,
    matches,
)
from protocols.scales.common import ScaleProtocolError

PRICE_LAYOUT = WeightBarcodeLayout(prefix="29", value="price")
SIX_DIGIT_ITEMS = WeightBarcodeLayout(prefix="2", flag_digits=1, item_digits=6, value_digits=5)


def test_check_digit_of_a_known_ean13() -> None:
    # 4006381333931, the EAN-13 used in the scanner tests: weights 1,3,1,3,... give 89, so 1.
    assert check_digit("400638133393") == "1"
    assert is_valid_ean13("4006381333931")
    assert not is_valid_ean13("4006381333932")


def test_default_layout_weight_code() -> None:
    # 2 0 | 12345 | 01234 | check: 2+0+1+6+3+12+5+0+1+6+3+12 = 51, so 9 (computed by hand).
    item = decode("2012345012349")
    assert item == WeighedItem(code="2012345012349", item="12345", value=1234, kind="weight")
    assert (item.weight_milligrams, item.price_cents) == (1_234_000, None)
    assert encode("12345", 1234) == "2012345012349"


def test_price_layout_with_its_own_flag() -> None:
    code = encode("00042", 1999, PRICE_LAYOUT, flag="29")
    item = decode(code, PRICE_LAYOUT)
    assert (item.item, item.price_cents, item.weight_milligrams) == ("00042", 1999, None)
    assert matches(code, PRICE_LAYOUT)
    # A weight code of the default layout (flag 20) is not one of these.
    assert not matches("2012345012349", PRICE_LAYOUT)
    with pytest.raises(BarcodeError, match="does not start with 29"):
        decode("2012345012349", PRICE_LAYOUT)


def test_six_digit_item_codes() -> None:
    code = encode("123456", 750, SIX_DIGIT_ITEMS)
    assert code[:12] == "212345600750"
    assert decode(code, SIX_DIGIT_ITEMS).item == "123456"


def test_matches_tells_weight_codes_from_product_codes() -> None:
    assert matches("2012345012349")
    assert not matches("4006381333931")
    assert not matches("201234501234")  # 12 digits


@pytest.mark.parametrize(
    "code",
    [
        "",
        "2012345012348",
        "201234501234",
        "20123450123490",
        "20123450123a9",
        "2012345012³49",
        "2012345 12349",
    ],
)
def test_bad_codes_raise_barcode_error(code: str) -> None:
    with pytest.raises(BarcodeError):
        decode(code)


def test_layout_validation() -> None:
    assert msgspec.convert({}, WeightBarcodeLayout) == DEFAULT_LAYOUT
    for bad in (
        {"item_digits": 6},  # 13 digits before the check
        {"prefix": "2x"},
        {"prefix": "201", "flag_digits": 2},
        {"prefix": ""},
        {"value": "count"},
        {"colour": "red"},
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, WeightBarcodeLayout)


def test_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode("12345", 100_000)
    with pytest.raises(ValueError, match="item code"):
        encode("1234", 1)
    with pytest.raises(ValueError, match="flag"):
        encode("12345", 1, PRICE_LAYOUT, flag="28")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20) | st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_decode_raises_only_barcode_errors(code: str) -> None:
    valid = is_valid_ean13(code) and code.startswith("2")
    if valid:
        assert decode(code).code == code
    else:
        # BarcodeError is a ScaleProtocolError: callers catch one type for every codec.
        with pytest.raises(ScaleProtocolError):
            decode(code)


@given(
    flag=st.sampled_from([f"2{d}" for d in range(10)]),
    item=st.text(alphabet="0123456789", min_size=5, max_size=5),
    value=st.integers(min_value=0, max_value=99_999),
)
def test_round_trip(flag: str, item: str, value: int) -> None:
    code = encode(item, value, flag=flag)
    assert is_valid_ean13(code) and matches(code)
    assert decode(code) == WeighedItem(code=code, item=item, value=value, kind="weight")
