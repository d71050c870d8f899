"""Rates and their Wilson 95% intervals: the one place where a zero denominator becomes ``None``."""

from __future__ import annotations

import math

from visionspec.metrics.results import Interval, Proportion

Z95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is 0 (the rate is undefined).

    Every rate in ``visionspec.metrics`` goes through this function, so "undefined" has one meaning.
    """
    if denominator == 0:
        return None
    return numerator / denominator


def wilson_interval(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """Wilson score interval of a binomial rate.

    Unlike the normal approximation it stays inside [0, 1] and is sensible near 0% and 100% and for
    small samples.

    Args:
        successes: how many of the trials succeeded, ``0 <= successes <= trials``.
        trials: the sample size.
        z: the normal quantile; the default gives a 95% interval.

    Returns:
        The interval, or ``None`` when ``trials`` is 0.

    Raises:
        ValueError: negative counts, or more successes than trials.

    Example:
        >>> interval = wilson_interval(742, 1000)
        >>> round(interval.low, 4), round(interval.high, 4)
        (0.714, 0.7682)
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson_interval: need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return None
    rate = successes / trials
    z2_n = z * z / trials
    centre = (rate + z2_n / 2) / (1 + z2_n)
    half_width = z / (1 + z2_n) * math.sqrt(rate * (1 - rate) / trials + z2_n / (4 * trials))
    # At 0% and 100% the bound is exactly 0 or 1; rounding would leave it a hair off.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return Interval(low=low, high=high)


def proportion(successes: int, trials: int) -> Proportion:
    """``successes`` of ``trials`` with its rate and Wilson 95% interval (both ``None`` for 0 trials)."""
    return Proportion(
        successes=int(successes),
        trials=int(trials),
        value=ratio(successes, trials),
        interval=wilson_interval(int(successes), int(trials)),
    )


def f1_score(tp: int, fp: int, fn: int) -> float | None:
    """F1 = 2TP / (2TP + FP + FN): the harmonic mean of precision and recall, ``None`` when all are 0."""
    return ratio(2 * tp, 2 * tp + fp + fn)
