"""What a scale reading may be sold as (hub.domain.sales.weighing)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import Weight
from hub.domain.errors import Conflict, Invalid
from hub.domain.sales.schemas import LineAdd
from hub.domain.sales.weighing import weighed_line, weighed_quantity


def test_milligrams_become_kilograms_with_grams_rounded_half_up() -> None:
    assert weighed_quantity(Weight(milligrams=1_234_500, stable=True)) == "1.235"
    assert weighed_quantity(Weight(milligrams=1_234_499, stable=True)) == "1.234"


def test_unstable_overloaded_underloaded_or_empty_is_refused() -> None:
    with pytest.raises(Conflict, match="moving"):
        weighed_quantity(Weight(milligrams=500_000, stable=False))
    with pytest.raises(Conflict) as over:
        weighed_quantity(Weight(milligrams=0, stable=True, overload=True))
    assert over.value.code == "scale_overload"
    with pytest.raises(Conflict) as under:
        weighed_quantity(Weight(milligrams=-10_000, stable=True, underload=True))
    assert under.value.code == "scale_underload"
    with pytest.raises(Invalid) as empty:
        weighed_quantity(Weight(milligrams=499, stable=True))  # rounds to 0 g
    assert empty.value.code == "weight_zero"


def test_the_weight_is_the_lines_quantity_and_note() -> None:
    line = weighed_line(
        LineAdd(product_id=3, weigh=True, note="narezano"), Weight(milligrams=250_000, stable=True)
    )
    assert (line.quantity, line.note, line.weigh) == ("0.250", "0.250 kg narezano", False)


@given(st.integers(min_value=500, max_value=300_000_000))
def test_any_stable_positive_weight_gives_three_decimals_within_half_a_gram(milligrams: int) -> None:
    quantity = weighed_quantity(Weight(milligrams=milligrams, stable=True))
    assert len(quantity.split(".")[1]) == 3
    assert abs(float(quantity) * 1_000_000 - milligrams) <= 500
