from __future__ import annotations

import pytest

from visionspec.errors import GoalPhraseError
from visionspec.goals import Comparison, parse_comparison, parse_count, parse_quantity


@pytest.mark.parametrize(
    ("text", "value", "is_rate", "sample"),
    [
        ("800", 800, False, None),
        ("1,000", 1000, False, None),
        ("1_000", 1000, False, None),
        ("12,345,678", 12345678, False, None),
        ("80%", 0.8, True, None),
        ("80 %", 0.8, True, None),
        ("0.5%", 0.005, True, None),
        ("0.8", 0.8, True, None),
        (".95", 0.95, True, None),
        ("1", 1, False, None),
        ("0", 0, False, None),
        ("80 of the 100", 80, False, 100),
        ("80 of 100", 80, False, 100),
        ("1,000 of the 1,000", 1000, False, 1000),
    ],
)
def test_quantities_read_as_people_write_them(text: str, value: float, is_rate: bool, sample: int | None) -> None:
    quantity = parse_quantity(text)
    assert quantity.value == pytest.approx(value)
    assert quantity.is_rate is is_rate
    assert quantity.sample == sample


@pytest.mark.parametrize("text", ["eight hundred", "1,00", "80%%", "1.5", "-3", "", "1__000"])
def test_a_quantity_that_does_not_parse_quotes_it_and_lists_the_forms(text: str) -> None:
    with pytest.raises(GoalPhraseError) as caught:
        parse_quantity(text)
    assert str(caught.value) == (
        f'"{text}" is not a quantity; accepted forms: 800, 1,000, 1_000 (a count); 80%, 80 %, 0.8 (a rate); '
        '"80 of the 100" (a count of a sample)'
    )


def test_parse_count_refuses_rates() -> None:
    assert parse_count("1,000") == 1000
    with pytest.raises(GoalPhraseError, match='"80%" is not a count'):
        parse_count("80%")


def test_comparisons() -> None:
    assert parse_comparison("at least") is Comparison.AT_LEAST
    assert parse_comparison("Less  than") is Comparison.FEWER_THAN
    assert Comparison.AT_MOST.holds(10, 10) and not Comparison.FEWER_THAN.holds(10, 10)
    with pytest.raises(GoalPhraseError, match='"roughly" is not a comparison; accepted: "at least"'):
        parse_comparison("roughly")


def test_a_percentage_above_100_is_refused_and_a_sample_is_kept_for_the_judge() -> None:
    with pytest.raises(GoalPhraseError, match='"120%" is more than 100%'):
        parse_quantity("120%")
    # "81 of the 80" parses; holding it against 80 objects is refused as a goal that cannot be met
    assert (parse_quantity("81 of the 80").value, parse_quantity("81 of the 80").sample) == (81, 80)
