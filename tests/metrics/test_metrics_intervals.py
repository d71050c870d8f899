"""Wilson 95% intervals against published values, and the one rule for zero denominators."""

from __future__ import annotations

import pytest

from visionspec.metrics import Z95, f1_score, proportion, ratio, wilson_interval


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # visionspec's design example: "found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%)".
        (742, 1000, 0.7140, 0.7682),
    ],
)
def test_wilson_matches_published_values(successes: int, trials: int, low: float, high: float) -> None:
    interval = wilson_interval(successes, trials)
    assert interval is not None
    assert round(interval.low, 4) == low
    assert round(interval.high, 4) == high


def test_wilson_is_exact_at_the_ends_and_symmetric() -> None:
    assert wilson_interval(0, 10).low == 0.0  # type: ignore[union-attr]
    assert wilson_interval(10, 10).high == 1.0  # type: ignore[union-attr]
    upper = wilson_interval(7, 10)
    lower = wilson_interval(3, 10)
    assert upper is not None and lower is not None
    assert upper.low == pytest.approx(1 - lower.high, abs=1e-15)


def test_z_is_the_95_percent_normal_quantile() -> None:
    from statistics import NormalDist

    assert NormalDist().inv_cdf(0.975) == pytest.approx(Z95, abs=1e-15)


def test_zero_trials_is_undefined_not_zero() -> None:
    assert wilson_interval(0, 0) is None
    assert ratio(0, 0) is None
    assert f1_score(0, 0, 0) is None
    empty = proportion(0, 0)
    assert (empty.value, empty.interval) == (None, None)
    assert str(empty) == "0 of 0 (undefined)"
    assert empty.to_dict() == {"successes": 0, "trials": 0, "value": None, "interval": None}


def test_proportion_reads_as_the_design_example() -> None:
    assert str(proportion(742, 1000)) == "742 of 1,000 (74.2%, 95% CI 71.4-76.8%)"


def test_f1_is_the_harmonic_mean() -> None:
    assert f1_score(8, 2, 4) == pytest.approx(2 * 0.8 * (8 / 12) / (0.8 + 8 / 12))
    assert f1_score(0, 3, 0) == 0.0


@pytest.mark.parametrize(("successes", "trials"), [(-1, 5), (6, 5), (0, -1)])
def test_impossible_counts_are_rejected(successes: int, trials: int) -> None:
    with pytest.raises(ValueError, match="need 0 <= successes <= trials"):
        wilson_interval(successes, trials)
