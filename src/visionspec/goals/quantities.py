"""Quantities and comparisons as people write them in a goal.

Accepted quantities: ``800``, ``1,000``, ``1_000`` (counts); ``80%``, ``80 %``, ``0.8`` (rates);
``80 of the 100`` / ``80 of 100`` (a count out of a stated sample). Anything else is a
:class:`~visionspec.errors.GoalPhraseError` that quotes the text and lists these forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from visionspec.errors import GoalPhraseError

ACCEPTED_FORMS = '800, 1,000, 1_000 (a count); 80%, 80 %, 0.8 (a rate); "80 of the 100" (a count of a sample)'

_INTEGER = r"\d{1,3}(?:,\d{3})+|\d+(?:_\d{3})*"
_COUNT_RE = re.compile(rf"^(?P<count>{_INTEGER})$")
_PERCENT_RE = re.compile(r"^(?P<percent>\d+(?:\.\d+)?)\s?%$")
_FRACTION_RE = re.compile(r"^(?P<fraction>0?\.\d+|0|1(?:\.0+)?)$")
_OF_RE = re.compile(rf"^(?P<count>{_INTEGER}) of (?:the )?(?P<total>{_INTEGER})$")


class Comparison(Enum):
    """How a measured value is held against a goal."""

    AT_LEAST = "at least"
    AT_MOST = "at most"
    MORE_THAN = "more than"
    FEWER_THAN = "fewer than"
    EXACTLY = "exactly"

    def holds(self, measured: float, goal: float) -> bool:
        """True when ``measured`` satisfies this comparison against ``goal``."""
        if self is Comparison.AT_LEAST:
            return measured >= goal
        if self is Comparison.AT_MOST:
            return measured <= goal
        if self is Comparison.MORE_THAN:
            return measured > goal
        if self is Comparison.FEWER_THAN:
            return measured < goal
        return measured == goal

    @property
    def wants_more(self) -> bool:
        """True for lower bounds (at least, more than): the goal is met by being high."""
        return self in (Comparison.AT_LEAST, Comparison.MORE_THAN)


_COMPARISON_WORDS = {c.value: c for c in Comparison} | {
    "less than": Comparison.FEWER_THAN,
    "no more than": Comparison.AT_MOST,
    "no fewer than": Comparison.AT_LEAST,
}


def parse_comparison(text: str) -> Comparison:
    """Parse ``at least``, ``at most``, ``more than``, ``fewer than`` / ``less than``, ``exactly``."""
    key = " ".join(text.lower().split())
    try:
        return _COMPARISON_WORDS[key]
    except KeyError:
        accepted = ", ".join(f'"{word}"' for word in _COMPARISON_WORDS)
        raise GoalPhraseError(f'"{text}" is not a comparison; accepted: {accepted}') from None


@dataclass(frozen=True)
class Quantity:
    """A goal's number: a count (``800``), a rate (``0.8``, ``80%``) or a count of a stated sample.

    Attributes:
        value: the count, or the rate in [0, 1].
        is_rate: True for a rate, False for a count.
        sample: the stated sample size in ``80 of the 100``, else None.
        text: what the tester wrote.
    """

    value: float
    is_rate: bool
    sample: int | None
    text: str

    def as_rate(self) -> float:
        """The value as a rate in [0, 1]; a count such as ``1`` is accepted only as 0 or 1.

        Raises:
            GoalPhraseError: the quantity is a count.
        """
        if self.is_rate or (self.sample is None and self.value in (0, 1)):
            return float(self.value)
        raise GoalPhraseError(f'"{self.text}" is not a rate; write it as 50% or 0.5')

    @property
    def in_percent(self) -> bool:
        """True when the tester wrote the rate as a percentage (``80%``), not a fraction (``0.8``)."""
        return self.is_rate and "%" in self.text

    def __str__(self) -> str:
        if self.in_percent:
            return _percent(self.value)
        if self.is_rate:
            return f"{self.value:g}"
        if self.sample is not None:
            return f"{int(self.value):,} of {self.sample:,}"
        return f"{int(self.value):,}"


def _percent(rate: float) -> str:
    """80% / 0.5% / 99.25%: as few decimals as the value needs."""
    return f"{rate * 100:.4g}%"


def _integer(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def parse_quantity(text: str) -> Quantity:
    """Parse a goal's quantity as people write it.

    Example:
        >>> parse_quantity("1,000").value, parse_quantity("80 %").value
        (1000, 0.8)
    """
    cleaned = " ".join(text.strip().split())
    if match := _COUNT_RE.match(cleaned):
        return Quantity(_integer(match["count"]), is_rate=False, sample=None, text=text)
    if match := _PERCENT_RE.match(cleaned):
        percent = float(match["percent"])
        if percent > 100:
            raise GoalPhraseError(f'"{text}" is more than 100%: a rate is between 0% and 100%')
        return Quantity(percent / 100, is_rate=True, sample=None, text=text)
    if match := _FRACTION_RE.match(cleaned):
        return Quantity(float(match["fraction"]), is_rate=True, sample=None, text=text)
    if match := _OF_RE.match(cleaned):
        return Quantity(_integer(match["count"]), is_rate=False, sample=_integer(match["total"]), text=text)
    raise GoalPhraseError(f'"{text}" is not a quantity; accepted forms: {ACCEPTED_FORMS}')


_FIGURE_RE = re.compile(r"^(?P<figure>\d+(?:\.\d+)?|\.\d+)$")


def parse_figure(text: str) -> Quantity:
    """Parse a figure that is neither a count nor a rate, such as a mean error: ``0.5``, ``1.25``, ``2``."""
    cleaned = text.strip()
    if match := _FIGURE_RE.match(cleaned):
        return Quantity(float(match["figure"]), is_rate=True, sample=None, text=text)
    raise GoalPhraseError(f'"{text}" is not a number; write it as 0.5, 1.25 or 2')


def parse_count(text: str) -> int:
    """Parse a plain count (``800``, ``1,000``, ``1_000``); rates are refused."""
    quantity = parse_quantity(text)
    if quantity.is_rate or quantity.sample is not None:
        raise GoalPhraseError(f'"{text}" is not a count; write a whole number such as 800, 1,000 or 1_000')
    return int(quantity.value)
