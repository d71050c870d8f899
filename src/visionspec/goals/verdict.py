"""Judging a measurement against a goal, and the one sentence a product owner reads."""

from __future__ import annotations

from dataclasses import dataclass

from visionspec.errors import GoalPhraseError
from visionspec.goals.quantities import Comparison, Quantity, _percent
from visionspec.metrics.intervals import wilson_interval
from visionspec.metrics.results import Interval


@dataclass(frozen=True)
class Goal:
    """What the tester asked for: ``at least 800``, optionally ``with 95% confidence``."""

    comparison: Comparison
    quantity: Quantity
    confident: bool = False

    def __str__(self) -> str:
        suffix = " with 95% confidence" if self.confident else ""
        return f"{self.comparison.value} {self.quantity}{suffix}"


@dataclass(frozen=True)
class Measurement:
    """A measured figure.

    Either a proportion (``count`` of ``total``, with its Wilson 95% interval) or a plain figure
    such as mAP (``count`` None) measured on ``total`` items.

    Attributes:
        label: how the figure reads, e.g. ``found`` or ``box mAP@[.50:.95]``.
        noun: what was counted, e.g. ``balloons`` or ``images without balloons``.
        value: the rate ``count / total`` or the figure; None when undefined (empty sample).
        count: successes for a proportion, else None.
        total: sample size.
        interval: Wilson 95% interval of a proportion, else None.
    """

    label: str
    noun: str
    value: float | None
    count: int | None
    total: int
    interval: Interval | None

    @classmethod
    def proportion(cls, label: str, count: int, total: int, noun: str) -> Measurement:
        """``count`` of ``total`` items, e.g. ``Measurement.proportion("found", 742, 1000, "balloons")``."""
        value = count / total if total else None
        return cls(label, noun, value, count, total, wilson_interval(count, total))

    @classmethod
    def figure(cls, label: str, value: float | None, total: int, noun: str) -> Measurement:
        """A figure that is not a proportion, e.g. ``Measurement.figure("mAP@.50", 0.91, 1000, "images")``."""
        return cls(label, noun, value, None, total, None)

    def __str__(self) -> str:
        if self.count is None:
            shown = "undefined" if self.value is None else f"{self.value:.3f}"
            return f"{self.label} {shown} on {self.total:,} {self.noun}"
        text = f"{self.label} {self.count:,} of {self.total:,} {self.noun}".lstrip()
        if self.value is None:
            return f"{text} (no sample)"
        return f"{text} ({_percent(self.value)}, 95% CI {self.interval})"


@dataclass(frozen=True)
class Verdict:
    """A goal held against a measurement: met or not, by how much, in one sentence."""

    goal: Goal
    measurement: Measurement
    met: bool
    margin: float | None
    sentence: str

    def __str__(self) -> str:
        return self.sentence

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON summaries and Allure tables."""
        return {
            "goal": str(self.goal),
            "measured": self.measurement.value,
            "count": self.measurement.count,
            "sample": self.measurement.total,
            "interval": self.measurement.interval.to_dict() if self.measurement.interval else None,
            "met": self.met,
            "margin": self.margin,
            "sentence": self.sentence,
            "label": self.measurement.label,
            "noun": self.measurement.noun,
            "bar": self.goal.quantity.value,
            "is_rate": self.goal.quantity.is_rate,
        }


def judge(goal: Goal, measurement: Measurement) -> Verdict:
    """Hold ``measurement`` against ``goal``.

    Counts compare with counts, rates with rates; ``with 95% confidence`` compares the interval's
    bound on the goal's side (the lower bound for "at least") instead of the point estimate.

    Example:
        >>> from visionspec.goals.quantities import parse_quantity
        >>> goal = Goal(Comparison.AT_LEAST, parse_quantity("800"))
        >>> str(judge(goal, Measurement.proportion("found", 742, 1000, "balloons")))
        'found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least 800; short by 58'
    """
    quantity = goal.quantity
    if quantity.sample is not None and quantity.sample != measurement.total:
        raise GoalPhraseError(
            f'the goal "{quantity.text}" states a sample of {quantity.sample:,} but there are '
            f"{measurement.total:,} {measurement.noun}; state the goal as a count or a rate"
        )
    if measurement.value is None:
        sentence = f"{measurement}; goal: {goal}; cannot be judged on an empty sample"
        return Verdict(goal, measurement, False, None, sentence)
    on_counts = not quantity.is_rate and measurement.count is not None
    if not quantity.is_rate and measurement.count is None:
        raise GoalPhraseError(
            f'{measurement.label} is a figure, not a count: write the goal "{quantity.text}" as a rate such as 0.8'
        )
    measured = _compared_value(goal, measurement, on_counts)
    threshold = quantity.value
    met = goal.comparison.holds(measured, threshold)
    margin = measured - threshold if goal.comparison.wants_more else threshold - measured
    sentence = f"{measurement}; goal: {goal}; {_margin_text(margin, met, on_counts, quantity.in_percent)}"
    return Verdict(goal, measurement, met, margin, sentence)


def _compared_value(goal: Goal, measurement: Measurement, on_counts: bool) -> float:
    """The point estimate, or with 95% confidence the interval's bound on the goal's side."""
    assert measurement.value is not None
    if not goal.confident or measurement.interval is None:
        return float(measurement.count) if on_counts and measurement.count is not None else measurement.value
    bound = measurement.interval.low if goal.comparison.wants_more else measurement.interval.high
    return bound * measurement.total if on_counts else bound


def _margin_text(margin: float, met: bool, on_counts: bool, in_percent: bool) -> str:
    if on_counts:
        amount = f"{abs(margin):,.0f}" if float(margin).is_integer() else f"{abs(margin):,.1f}"
    elif in_percent:
        amount = f"{abs(margin) * 100:.1f} points"
    else:
        amount = f"{abs(margin):.3f}"
    if met:
        return f"met with {amount} to spare" if margin else "met exactly"
    return f"short by {amount}"
