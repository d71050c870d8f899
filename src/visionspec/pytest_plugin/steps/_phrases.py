"""The phrase parser of the step library and the typed pieces of phrases (each documented for the catalogue).

A phrase matches as testers write it: in any case, with or without double quotes around any part
(``Given data set "12345"``, ``Given "data set 12345"``, ``Then it should find at least "800 balloons"``),
with any run of spaces. Comparisons and confidence levels are closed sets matched by their own patterns.
Quantities are captured loosely and converted inside the step (``converters=``), so that a number that
does not parse makes the step *broken* with a message quoting it, instead of "step not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import parse as base_parse
from parse import with_pattern
from pytest_bdd.parsers import StepParser

from visionspec.goals import Comparison, parse_comparison, parse_quantity
from visionspec.goals.quantities import parse_figure


@with_pattern(r"at least|at most|more than|fewer than|less than|exactly|no more than|no fewer than")
def _comparison(text: str) -> Comparison:
    """at least | at most | more than | fewer than (less than) | exactly | no more than | no fewer than"""
    return parse_comparison(text)


@with_pattern(r"(?: with \d{1,2}(?:\.\d+)? ?% confidence)?")
def _confidence(text: str) -> float | None:
    """optional: " with 95% confidence" (or 90%, 99%, ...) judges the interval's bound at that level"""
    match = re.search(r"(\d{1,2}(?:\.\d+)?) ?%", text)
    return float(match[1]) / 100 if match else None


@with_pattern(r".+?")
def _dataset_id(text: str) -> str:
    """the id of a data set: a folder under datasets/ with its dataset.yaml (`visionspec datasets list`)"""
    return text


@with_pattern(r".+?\.onnx")
def _checkpoint(text: str) -> str:
    """the path of an ONNX checkpoint with its model card, relative to the project folder"""
    return text


@with_pattern(r"[\w-]+")
def _things(text: str) -> str:
    """a class of the data set, in the plural: balloons (any case)"""
    return text


@with_pattern(r"[\w-]+(?: [\w-]+)*?")
def _objects(text: str) -> str:
    """a class of the data set, optionally after words that narrow it: balloons, red balloons, small balloons"""
    return text


@with_pattern(r"[\w-]+")
def _kind(text: str) -> str:
    """a value the data set declares for one of its attributes (red, occluded, truncated) or a size: small
    (area below 32² pixels), medium, large (above 96²), as COCO defines them"""
    return text


@with_pattern(r"[\w-]+")
def _attribute(text: str) -> str:
    """an attribute the data set declares for its objects, e.g. colour, size, occluded"""
    return text


@with_pattern(r"[\w-]+")
def _value(text: str) -> str:
    """one of the values the data set declares for that attribute (or that the colour model knows), e.g. red"""
    return text


@with_pattern(r"images?|pictures?")
def _pictures(text: str) -> str:
    """image(s) | picture(s)"""
    return text


@with_pattern(r"(?:the )?(?:images|pictures)(?: from the data set| of the data set)?")
def _ingested(text: str) -> str:
    """the images | the pictures | images from the data set | pictures of the data set"""
    return text


@with_pattern(r"detector|model")
def _detector_word(text: str) -> str:
    """detector | model"""
    return text


@with_pattern(r"it|the model|the detector|the chain|the pipeline|the product")
def _subject(text: str) -> str:
    """it | the model | the detector | the chain | the pipeline | the product"""
    return text


@with_pattern(r"(?:images|pictures)(?: with(?:out)? [\w-]+)?")
def _images_noun(text: str) -> str:
    """the images of the scenario: images, or images without balloons after "Given only the images without
    balloons" (pictures reads as images)"""
    return text


@with_pattern(r"\S+?(?: ?%)?(?: of (?:the )?[\d,_]+)?")
def _quantity(text: str) -> str:
    """800 | 1,000 | 1_000 (a count); 80% | 80 % | 0.8 (a rate: for a rate figure a bare number is a fraction,
    1 means 100%); 80 of the 100 (a count of a stated sample)"""
    return text  # converted inside the step (QUANTITY), so a bad number is a broken step, not "not found"


@with_pattern(r"\S+?")
def _number(text: str) -> str:
    """0.5 | 1.25 | 2 (a plain number, not a percentage)"""
    return text


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
    "DatasetId": _dataset_id,
    "Checkpoint": _checkpoint,
    "Quantity": _quantity,
    "Number": _number,
    "Things": _things,
    "Objects": _objects,
    "Kind": _kind,
    "Attribute": _attribute,
    "Value": _value,
    "Pictures": _pictures,
    "Ingested": _ingested,
    "DetectorWord": _detector_word,
    "Subject": _subject,
    "ImagesNoun": _images_noun,
    "DetectionFigure": _detection_figure,
    "MapFigure": _map_figure,
    "ClassFigure": _class_figure,
}
QUANTITY: dict[str, Callable[[str], object]] = {"quantity": parse_quantity}
NUMBER: dict[str, Callable[[str], object]] = {"number": parse_figure}


def normalised(text: str) -> str:
    """The text without double quotes and with single spaces: how phrases are matched."""
    return " ".join(text.replace('"', " ").split())


class Phrase(StepParser):
    """A ``parse`` pattern matched quote-, case- and space-insensitively, with the shared types."""

    def __init__(self, name: str, extra_types: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        self.types = {**TYPES, **(extra_types or {})}
        self.parser = base_parse.compile(normalised(name), extra_types=self.types, case_sensitive=False)

    def parse_arguments(self, name: str) -> dict[str, Any] | None:
        result = self.parser.parse(normalised(name))
        return None if result is None else dict(result.named)

    def is_matching(self, name: str) -> bool:
        try:
            return self.parser.parse(normalised(name)) is not None
        except ValueError:
            return False

    def spans(self, name: str) -> dict[str, str]:
        """The text the tester wrote for each parameter (empty optional parts left out)."""
        text = normalised(name)
        result = self.parser.parse(text)
        if result is None:
            return {}
        return {key: text[start:end] for key, (start, end) in result.spans.items() if end > start}

    def forms(self) -> tuple[tuple[str, str], ...]:
        """(parameter, accepted forms) of each parameter, from the docstrings of its type."""
        found = []
        for parameter, type_name in re.findall(r"{(\w+):(\w+)}", self.name):
            doc = getattr(self.types.get(type_name), "__doc__", None)
            if doc:
                found.append((parameter, " ".join(doc.split())))
        return tuple(found)


def phrase(pattern: str, extra_types: dict[str, Any] | None = None) -> Phrase:
    """A step pattern with the shared types: ``{comparison:Comparison}``, ``{confidence:Confidence}``."""
    return Phrase(pattern, extra_types)
