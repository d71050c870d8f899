"""Goals as testers write them: quantities, comparisons and the verdict sentence."""

from __future__ import annotations

from visionspec.goals.quantities import (
    Comparison,
    Quantity,
    parse_comparison,
    parse_count,
    parse_figure,
    parse_quantity,
)
from visionspec.goals.verdict import Goal, Measurement, Verdict, judge

__all__ = [
    "Comparison",
    "Goal",
    "Measurement",
    "Quantity",
    "Verdict",
    "judge",
    "parse_comparison",
    "parse_count",
    "parse_figure",
    "parse_quantity",
]
