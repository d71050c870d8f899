"""The typed pieces of phrases shared by the step modules (pytest-bdd ``parse`` types).

Comparisons and confidence suffixes are closed sets, matched by their own patterns. Quantities are
captured loosely and converted inside the step (``converters=``), so that a number that does not
parse makes the step *broken* with a message quoting it, instead of "step not found".
"""

from __future__ import annotations

from typing import Any

from parse import with_pattern
from pytest_bdd import parsers

from visionspec.goals import Comparison, parse_comparison, parse_quantity


@with_pattern(r"at least|at most|more than|fewer than|less than|exactly|no more than|no fewer than")
def _comparison(text: str) -> Comparison:
    """at least | at most | more than | fewer than (less than) | exactly"""
    return parse_comparison(text)


@with_pattern(r"(?: with 95% confidence)?")
def _confidence(text: str) -> bool:
    """optional: " with 95% confidence" judges the interval's bound instead of the estimate"""
    return bool(text)


@with_pattern(r"[^\"]+?")
def _text(text: str) -> str:
    return text


@with_pattern(r"[\w-]+")
def _word(text: str) -> str:
    return text


@with_pattern(r"\S+?(?: ?%)?(?: of (?:the )?[\d,_]+)?")
def _quantity(text: str) -> str:
    """800 | 1,000 | 1_000 (a count); 80% | 80 % | 0.8 (a rate); 80 of the 100 (a count of a sample)"""
    return text  # converted inside the step (QUANTITY), so a bad number is a broken step, not "not found"


@with_pattern(r"recall|precision|F1")
def _detection_figure(text: str) -> str:
    """recall | precision | F1"""
    return text


@with_pattern(r"mAP@\.50|mAP@\[\.50:\.95\]")
def _map_figure(text: str) -> str:
    """mAP@.50 | mAP@[.50:.95]"""
    return text


@with_pattern(r"recall|precision")
def _class_figure(text: str) -> str:
    """recall | precision"""
    return text


TYPES: dict[str, Any] = {
    "Comparison": _comparison,
    "Confidence": _confidence,
    "Text": _text,
    "Quantity": _quantity,
    "Word": _word,
    "DetectionFigure": _detection_figure,
    "MapFigure": _map_figure,
    "ClassFigure": _class_figure,
}
QUANTITY = {"quantity": parse_quantity}


def phrase(pattern: str) -> parsers.parse:
    """A step pattern with the shared types: ``{comparison:Comparison}``, ``{confident:Confidence}``."""
    return parsers.parse(pattern, extra_types=TYPES)
