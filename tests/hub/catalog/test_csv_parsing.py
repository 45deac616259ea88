"""The CSV decoder under random input: it answers with rows or a typed error, never a crash,
and amounts survive format -> parse exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.catalog.csv_io import PRODUCT_COLUMNS, ImportRequest, mapped_rows, parse_amount, parse_bool
from hub.domain.errors import DomainError
from hub.domain.money import MAX_AMOUNT, format_amount


@given(st.integers(min_value=0, max_value=MAX_AMOUNT), st.sampled_from([0, 2, 3]))
def test_amounts_round_trip(minor: int, exponent: int) -> None:
    text = format_amount(minor, exponent)
    assert parse_amount(text, exponent) == minor
    assert parse_amount(text.replace(".", ","), exponent) == minor


@given(st.text(max_size=20))
def test_any_amount_text_is_an_int_or_a_value_error(text: str) -> None:
    try:
        value = parse_amount(text, 2)
    except ValueError:
        return
    assert isinstance(value, int) and 0 <= value <= MAX_AMOUNT


@pytest.mark.parametrize(("text", "expected"), [("11,70", 1170), ("1 234.5", 123450), ("0", 0)])
def test_amount_examples(text: str, expected: int) -> None:
    assert parse_amount(text, 2) == expected


@pytest.mark.parametrize("text", ["1.234", "-1", "1e3x", "NaN", "Infinity", ""])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(ValueError, match=r"amount|decimals|between"):
        parse_amount(text, 2)


def test_booleans() -> None:
    assert [parse_bool(t) for t in ("da", "YES", "1", "", "ne")] == [True, True, True, False, False]
    with pytest.raises(ValueError, match="yes or no"):
        parse_bool("maybe")


@given(st.text(max_size=300))
def test_random_files_give_rows_or_a_typed_error(text: str) -> None:
    try:
        rows = list(mapped_rows(ImportRequest(csv="name,price\n" + text), PRODUCT_COLUMNS))
    except DomainError:
        return
    for line, values in rows:
        assert line >= 2 and set(values) <= set(PRODUCT_COLUMNS)
