"""The verdict record: what a goal asked, what was measured, met or missed by how much, in one sentence.

This is the one place that defines a verdict's ``Status``, the run's ``ExitCode`` and the typed
``Verdict`` record. summary.json, the terminal, JUnit, the trend table and Allure are all written
from ``Verdict`` (``to_dict`` / ``from_dict``); nothing reads a verdict back by parsing its sentence.

One rounding rule for every figure: rates as percent with one decimal (``74.2%``), their changes in
percentage points with one decimal, scores (mAP, F1) with three decimals, plain numbers (a mean
counting error) with two, counts as whole numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum, IntEnum
from statistics import NormalDist
from typing import Any

from visionspec.errors import GoalPhraseError
from visionspec.goals.quantities import Comparison, Quantity
from visionspec.metrics.intervals import wilson_interval
from visionspec.metrics.results import Interval

DEFAULT_LEVEL = 0.95


class Status(Enum):
    """How a goal (or a scenario) ended."""

    MET = "met"
    MISSED = "missed"
    BROKEN = "broken"
    SKIPPED = "skipped"


class ExitCode(IntEnum):
    """The exit code of ``run``, ``checkpoints`` and ``watch``: what CI reads."""

    MET = 0
    """every goal met"""
    MISSED = 1
    """at least one goal missed: the model is not good enough"""
    BROKEN = 2
    """the suite could not judge: bad data, model, card, phrase or option"""

    @classmethod
    def of(cls, statuses: Iterable[Status]) -> ExitCode:
        """2 if anything is broken, else 1 if anything missed, else 0."""
        seen = set(statuses)
        if Status.BROKEN in seen:
            return cls.BROKEN
        return cls.MISSED if Status.MISSED in seen else cls.MET


class Unit(Enum):
    """What a measured figure is, which decides how a goal's number reads against it.

    ``count``: a count of a sample ("found 742 of 1,000"); the goal may be a count or a rate.
    ``rate``: a proportion that is only ever a rate (recall, precision, accuracy): a bare number is a
    fraction (1 means 100%) and more than 1 is refused.
    ``score``: a figure in [0, 1] that is not a proportion (mAP, F1); read as a rate.
    ``number``: an unbounded figure (a mean counting error); a plain number, never a percentage.
    ``points``: a change of a rate, in percentage points (a baseline comparison).
    """

    COUNT = "count"
    RATE = "rate"
    SCORE = "score"
    NUMBER = "number"
    POINTS = "points"


def percent(rate: float) -> str:
    """A rate as the report shows every rate: ``74.2%``."""
    return f"{rate * 100:.1f}%"


def format_value(value: float | None, unit: Unit) -> str:
    """A measured value by the one rounding rule: ``742``, ``74.2%``, ``0.853``, ``0.47``, ``+1.5 points``.

    Example:
        >>> format_value(742, Unit.COUNT), format_value(0.7421, Unit.RATE), format_value(0.85312, Unit.SCORE)
        ('742', '74.2%', '0.853')
    """
    if value is None:
        return "-"
    if unit is Unit.COUNT:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit is Unit.RATE:
        return percent(value)
    if unit is Unit.POINTS:
        return f"{value * 100:+.1f} points"
    return f"{value:.3f}" if unit is Unit.SCORE else f"{value:.2f}"


def _level_text(level: float) -> str:
    return f"{level * 100:g}%"


@dataclass(frozen=True)
class Goal:
    """What the tester asked for: ``at least 800``, optionally ``with 95% confidence`` (or 90%, 99%).

    Attributes:
        comparison: at least, at most, ...
        quantity: the goal's number as written.
        confidence: the confidence level in (0, 1) when the goal states one, else None.
    """

    comparison: Comparison
    quantity: Quantity
    confidence: float | None = None

    def __str__(self) -> str:
        suffix = f" with {_level_text(self.confidence)} confidence" if self.confidence else ""
        return f"{self.comparison.value} {self.quantity}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data, read back by ``from_dict``."""
        quantity = self.quantity
        return {"comparison": self.comparison.value, "bar": quantity.value, "bar_is_rate": quantity.is_rate,
                "bar_sample": quantity.sample, "bar_text": quantity.text, "confidence": self.confidence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Goal:
        """The goal ``to_dict`` wrote."""
        quantity = Quantity(float(data["bar"]), bool(data["bar_is_rate"]), data.get("bar_sample"),
                            str(data["bar_text"]))
        confidence = data.get("confidence")
        return cls(Comparison(data["comparison"]), quantity, None if confidence is None else float(confidence))


@dataclass(frozen=True)
class Measurement:
    """A measured figure.

    Either a proportion (``count`` of ``total``, with its Wilson interval) or a plain figure such as
    mAP (``count`` None) measured on ``total`` items.

    Attributes:
        figure: the figure's name in tables and the trend: ``found``, ``recall``, ``box mAP@.50``.
        label: how the sentence begins, e.g. ``recall: found`` (may be empty).
        noun: what was counted, e.g. ``balloons`` or ``images without balloons``.
        value: the rate ``count / total`` or the figure; None when undefined (empty sample).
        count: successes for a proportion, else None.
        total: sample size.
        interval: the Wilson interval of a proportion (at ``interval.level``), else None.
        unit: what the figure is (how a goal's number reads against it).
        sample_of_outputs: the sample is the model's own outputs (detections, reports), so an empty
            sample is the model's doing (missed), not the data's (broken).
    """

    figure: str
    label: str
    noun: str
    value: float | None
    count: int | None
    total: int
    interval: Interval | None
    unit: Unit
    sample_of_outputs: bool = False

    @classmethod
    def proportion(
        cls, figure: str, count: int, total: int, noun: str, *, label: str | None = None, unit: Unit = Unit.COUNT,
        sample_of_outputs: bool = False,
    ) -> Measurement:
        """``count`` of ``total`` items, e.g. ``Measurement.proportion("found", 742, 1000, "balloons")``."""
        value = count / total if total else None
        return cls(figure, figure if label is None else label, noun, value, count, total,
                   wilson_interval(count, total), unit, sample_of_outputs)

    @classmethod
    def score(cls, figure: str, value: float | None, total: int, noun: str, *, unit: Unit = Unit.SCORE) -> Measurement:
        """A figure that is not a proportion, e.g. ``Measurement.score("box mAP@.50", 0.91, 1000, "images")``."""
        return cls(figure, figure, noun, value, None, total, None, unit)

    def at_level(self, level: float) -> Measurement:
        """The same proportion with its Wilson interval at another confidence level."""
        if self.count is None or not self.total or (self.interval and self.interval.level == level):
            return self
        z = NormalDist().inv_cdf(0.5 + level / 2)
        interval = wilson_interval(self.count, self.total, z)
        return replace(self, interval=None if interval is None else replace(interval, level=level))

    def __str__(self) -> str:
        if self.count is None:
            shown = "undefined" if self.value is None else format_value(self.value, self.unit)
            return f"{self.label} {shown} on {self.total:,} {self.noun}".lstrip()
        text = f"{self.label} {self.count:,} of {self.total:,} {self.noun}".lstrip()
        if self.value is None:
            return f"{text} (no sample)"
        level = self.interval.level if self.interval else DEFAULT_LEVEL
        return f"{text} ({percent(self.value)}, {_level_text(level)} CI {self.interval})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data, read back by ``from_dict``."""
        interval = None if self.interval is None else {**self.interval.to_dict(), "level": self.interval.level}
        return {"figure": self.figure, "label": self.label, "noun": self.noun, "value": self.value,
                "count": self.count, "sample": self.total, "interval": interval, "unit": self.unit.value,
                "sample_of_outputs": self.sample_of_outputs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """The measurement ``to_dict`` wrote."""
        raw = data.get("interval")
        interval = None if raw is None else Interval(float(raw["low"]), float(raw["high"]), float(raw["level"]))
        value, count = data.get("value"), data.get("count")
        return cls(str(data["figure"]), str(data["label"]), str(data["noun"]), None if value is None else float(value),
                   None if count is None else int(count), int(data["sample"]), interval, Unit(data["unit"]),
                   bool(data.get("sample_of_outputs", False)))


@dataclass(frozen=True)
class Verdict:
    """A goal held against a measurement: its status, by how much, and the sentence a product owner reads.

    Attributes:
        goal: what was asked.
        measurement: what was measured.
        status: met or missed (a goal that cannot be judged raises instead: broken).
        margin: how far past the bar (positive) or short of it (negative), in the figure's unit; None
            when the goal could not be held against a value.
        message: the one sentence: measured value, sample, interval, goal and margin.
    """

    goal: Goal
    measurement: Measurement
    status: Status
    margin: float | None
    message: str

    @property
    def met(self) -> bool:
        """True when the goal is met."""
        return self.status is Status.MET

    @property
    def margin_unit(self) -> Unit:
        """The unit the margin is in: a count goal on a count, else the figure's own (a rate for a rate goal)."""
        unit = self.measurement.unit
        if unit is Unit.COUNT and self.goal.quantity.is_rate:
            return Unit.RATE
        return unit

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Plain data for summary.json and the trend: the record's fields, read back by ``from_dict``."""
        return {"goal": str(self.goal), **self.goal.to_dict(), **self.measurement.to_dict(),
                "status": self.status.value, "margin": self.margin, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The verdict ``to_dict`` wrote (from summary.json)."""
        margin = data.get("margin")
        return cls(Goal.from_dict(data), Measurement.from_dict(data), Status(data["status"]),
                   None if margin is None else float(margin), str(data["message"]))


def judge(goal: Goal, measurement: Measurement) -> Verdict:
    """Hold ``measurement`` against ``goal``.

    A goal's number reads by the figure's unit: for a rate figure a bare ``1`` is 100% and ``2`` is
    refused; for a count it is a count. A goal that cannot be met on the sample (``at least 1,001``
    of 1,000) or that cannot be judged (an empty sample of the data) is refused with a
    ``GoalPhraseError`` (broken), never reported as missed. ``with 90% confidence`` compares the
    bound of the interval at that level on the goal's side instead of the point estimate.

    Example:
        >>> from visionspec.goals.quantities import parse_quantity
        >>> goal = Goal(Comparison.AT_LEAST, parse_quantity("800"))
        >>> str(judge(goal, Measurement.proportion("found", 742, 1000, "balloons")))
        'found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least 800; short by 58'
    """
    if goal.confidence is not None:
        measurement = measurement.at_level(goal.confidence)
    on_counts = _reads_as_count(goal.quantity, measurement)
    bar = goal.quantity.value
    _check_attainable(goal, measurement, bar, on_counts)
    if measurement.value is None:
        if not measurement.sample_of_outputs:
            raise GoalPhraseError(f"{measurement}: there is nothing in scope to judge the goal \"{goal}\" on; "
                                  "fix: choose a data set or slice that has them")
        message = f"{measurement}; goal: {goal}; missed: the model gave nothing to judge"
        return Verdict(goal, measurement, Status.MISSED, None, message)
    measured = _compared_value(goal, measurement, on_counts)
    met = goal.comparison.holds(measured, bar)
    margin = measured - bar if goal.comparison.wants_more else bar - measured
    unit = Unit.COUNT if on_counts else Unit.RATE if measurement.unit is Unit.COUNT else measurement.unit
    message = f"{measurement}; goal: {goal}; {_margin_text(margin, met, unit, measured < bar)}"
    return Verdict(goal, measurement, Status.MET if met else Status.MISSED, margin, message)


def _reads_as_count(quantity: Quantity, measurement: Measurement) -> bool:
    """Whether the goal's number is a count here; refuses numbers the figure cannot take."""
    unit = measurement.unit
    if quantity.sample is not None and quantity.sample != measurement.total:
        raise GoalPhraseError(
            f'the goal "{quantity.text}" states a sample of {quantity.sample:,} but there are '
            f"{measurement.total:,} {measurement.noun}; state the goal as a count or a rate"
        )
    if unit is Unit.NUMBER:
        if quantity.in_percent:
            raise GoalPhraseError(f'{measurement.figure} is a number, not a rate: write "{quantity.text}" as 0.5 or 2')
        return False
    if quantity.is_rate:
        return False
    if unit is Unit.COUNT and measurement.count is not None:
        return True
    if quantity.sample is None and quantity.value <= 1:
        return False  # a rate written as a bare number: 1 means 100%
    raise GoalPhraseError(
        f'{measurement.figure} is a rate between 0 and 1 (0% to 100%), so "{quantity.text}" cannot be a goal for it; '
        "write it as 0.92 or 92%"
    )


def _check_attainable(goal: Goal, measurement: Measurement, bar: float, on_counts: bool) -> None:
    """Refuse a goal that no model could meet on this sample: it is a broken test, not a worse model."""
    if on_counts:
        highest, what = float(measurement.total), f"there are {measurement.total:,} {measurement.noun}"
    elif measurement.unit in (Unit.RATE, Unit.SCORE, Unit.COUNT):
        highest, what = 1.0, f"{measurement.figure} is at most 100%"
    else:
        highest, what = float("inf"), ""
    comparison = goal.comparison
    impossible = (
        (comparison is Comparison.AT_LEAST and bar > highest)
        or (comparison is Comparison.MORE_THAN and bar >= highest)
        or (comparison is Comparison.EXACTLY and bar > highest)
        or (comparison is Comparison.FEWER_THAN and bar <= 0 and measurement.unit is not Unit.POINTS)
    )
    if impossible:
        reason = what if bar > 0 else "nothing is below 0"
        raise GoalPhraseError(f'the goal "{goal}" cannot be met: {reason}; fix the goal\'s number')


def _compared_value(goal: Goal, measurement: Measurement, on_counts: bool) -> float:
    """The point estimate, or with a confidence level the interval's bound on the goal's side."""
    assert measurement.value is not None
    if goal.confidence is None or measurement.interval is None:
        return float(measurement.count) if on_counts and measurement.count is not None else measurement.value
    bound = measurement.interval.low if goal.comparison.wants_more else measurement.interval.high
    return bound * measurement.total if on_counts else bound


def margin_amount(margin: float, unit: Unit) -> str:
    """The size of a margin by the one rounding rule: ``58``, ``5.8 points``, ``0.062``, ``0.13``."""
    size = abs(margin)
    if unit in (Unit.RATE, Unit.POINTS):  # a rate's margin is a difference of rates: points, unsigned
        return f"{size * 100:.1f} points"
    return format_value(size, unit)


def _margin_text(margin: float, met: bool, unit: Unit, below: bool) -> str:
    amount = margin_amount(margin, unit)
    if met:
        return f"met with {amount} to spare" if margin else "met exactly"
    return f"short by {amount}" if below else f"over by {amount}"
