"""Steps that state goals: each measures, judges, attaches its evidence and asserts.

A missed goal fails (Allure "failed") with one sentence: goal, measured value, margin, sample size and
interval. A phrase that cannot be judged (unknown colour, sample that does not match) is broken.
"""

from __future__ import annotations

import pytest
from pytest_bdd import then

from steps._phrases import QUANTITY, phrase
from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult
from visionspec.goals import Comparison, Goal, Quantity, judge, parse_figure, parse_quantity
from visionspec.pipeline import AnnotatedResult, ChainResult
from visionspec.pytest_plugin import assert_goal
from visionspec.report import attach
from visionspec.scope import Scope


def _named_scope(detection: DetectionResult, things: str) -> Scope:
    """``balloons`` or ``red balloons``: the class is the last word, the words before narrow it."""
    *adjectives, noun = things.split()
    scope = detection.scope.of_class(noun) if noun != detection.scope.noun else detection.scope
    for word in adjectives:
        scope = scope.narrowed_by_word(word)
    return scope


@then(
    phrase("it should find {comparison:Comparison} {quantity:Quantity} {things:Text}{confident:Confidence}"),
    converters=QUANTITY,
)
def should_find(
    comparison: Comparison,
    quantity: Quantity,
    things: str,
    confident: bool,
    detection: DetectionResult,
    detected_colours: ChainResult | None,
    request: pytest.FixtureRequest,
) -> None:
    """Objects found, of those in scope; with the colour model run, found AND named correctly (the chain).

    Example: Then it should find at least 800 balloons
    """
    goal = Goal(comparison, quantity, confident)
    scope = _named_scope(detection, things.removeprefix("of the "))
    if detected_colours is not None:
        chain = ChainResult(
            DetectionResult(scope, detection.detections, detection.thresholds),
            detected_colours.labels,
            detected_colours.confidences,
            detected_colours.attribute,
        )
        attach.chain_evidence(chain)
        assert_goal(request, judge(goal, chain.found()))
        return
    result = DetectionResult(scope, detection.detections, detection.thresholds)
    attach.detection_evidence(result)
    assert_goal(request, judge(goal, result.found()))


@then(
    phrase("{comparison:Comparison} {quantity:Quantity} of the reported {things:Text} are not {others:Text}"),
    converters=QUANTITY,
)
def reported_are_not(
    comparison: Comparison,
    quantity: Quantity,
    things: str,
    others: str,
    detected_colours: ChainResult | None,
    request: pytest.FixtureRequest,
) -> None:
    """Reported objects of a colour (the chain's output) that are not objects of that colour.

    Example: Then at most 10 of the reported red balloons are not red balloons
    """
    if things != others:
        raise GoalPhraseError(f'"the reported {things} are not {others}": name the same objects twice')
    if detected_colours is None:
        raise GoalPhraseError(
            'this goal judges the chain: add "When the colour model classifies the detected balloons"'
        )
    value = things.split()[0]
    attach.reported_evidence(detected_colours, value)
    assert_goal(request, judge(Goal(comparison, quantity), detected_colours.wrong_reports(value, things)))


@then(
    phrase("{comparison:Comparison} {quantity:Quantity} of the {images:Text} contain a detection"), converters=QUANTITY
)
def images_contain_a_detection(
    comparison: Comparison, quantity: Quantity, images: str, detection: DetectionResult, request: pytest.FixtureRequest
) -> None:
    """Images with at least one detection at the confidence threshold, of the images in scope.

    Example: Then at most 1% of the images without balloons contain a detection
    """
    if images != detection.scope.images_noun:
        raise GoalPhraseError(
            f'the goal is about "{images}" but the scenario judges "{detection.scope.images_noun}"; '
            f'narrow the scope first, e.g. "Given only the {images}"'
        )
    attach.detection_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity), detection.images_with_detection()))


_DETECTION_FIGURES = {
    "recall": DetectionResult.recall,
    "precision": DetectionResult.precision,
    "F1": DetectionResult.f1,
}


@then(
    phrase("the {figure:DetectionFigure} should be {comparison:Comparison} {quantity:Quantity}{confident:Confidence}"),
    converters=QUANTITY,
)
def detection_figure(
    figure: str,
    comparison: Comparison,
    quantity: Quantity,
    confident: bool,
    detection: DetectionResult,
    request: pytest.FixtureRequest,
) -> None:
    """Recall, precision or F1 of the detector at the stated confidence and overlap.

    Example: Then the recall should be at least 0.92
    """
    attach.detection_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity, confident), _DETECTION_FIGURES[figure](detection)))


@then(phrase("the box {figure:MapFigure} should be {comparison:Comparison} {quantity:Quantity}"), converters=QUANTITY)
def mean_average_precision(
    figure: str, comparison: Comparison, quantity: Quantity, detection: DetectionResult, request: pytest.FixtureRequest
) -> None:
    """Box mAP at IoU 0.5 (`mAP@.50`) or averaged over IoU 0.50 to 0.95 (`mAP@[.50:.95]`), as COCO computes it.

    Example: Then the box mAP@.50 should be at least 0.85
    """
    attach.coco_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity), detection.mean_average_precision(at_50=figure == "mAP@.50")))


@then(
    phrase("the mean counting error per image should be {comparison:Comparison} {figure:Quantity}"),
    converters={"figure": parse_figure},
)
def mean_counting_error(
    comparison: Comparison, figure: Quantity, detection: DetectionResult, request: pytest.FixtureRequest
) -> None:
    """Mean absolute difference between the balloons counted and the balloons there, per image.

    Example: Then the mean counting error per image should be at most 0.5
    """
    attach.counting_evidence(detection)
    assert_goal(request, judge(Goal(comparison, figure), detection.mean_counting_error()))


@then(
    phrase("the colour accuracy should be {comparison:Comparison} {quantity:Quantity}{confident:Confidence}"),
    converters=QUANTITY,
)
def colour_accuracy(
    comparison: Comparison,
    quantity: Quantity,
    confident: bool,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Annotated balloons whose colour the colour model names correctly.

    Example: Then the colour accuracy should be at least 95%
    """
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity, confident), annotated_colours.accuracy()))


@then(
    phrase(
        "the colour {figure:ClassFigure} for {value:Word} should be {comparison:Comparison} {quantity:Quantity}"
        "{confident:Confidence}"
    ),
    converters=QUANTITY,
)
def colour_figure(
    figure: str,
    value: str,
    comparison: Comparison,
    quantity: Quantity,
    confident: bool,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Recall or precision of one colour (use a Scenario Outline for one row a colour).

    Example: Then the colour recall for red should be at least 95%
    """
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity, confident), annotated_colours.figure_for(figure, value)))


@then(
    phrase(
        "{comparison:Comparison} {quantity:Quantity} of the balloons that are not {value:Word} are called {called:Word}"
    ),
    converters=QUANTITY,
)
def called_among_others(
    comparison: Comparison,
    quantity: Quantity,
    value: str,
    called: str,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Balloons of other colours that the colour model calls this colour.

    Example: Then at most 3% of the balloons that are not red are called red
    """
    if value != called:
        raise GoalPhraseError(f'"not {value} ... called {called}": name the same colour twice')
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity), annotated_colours.called_among_others(value)))


@then(phrase("every colour should meet these bars:"))
def colour_bars(datatable: list[list[str]], annotated_colours: AnnotatedResult, request: pytest.FixtureRequest) -> None:
    """One row a colour, one column a figure (recall, precision); each cell is an "at least" bar.

    Example: Then every colour should meet these bars:
    """
    header, *rows = datatable
    if not header or header[0] != "colour" or not set(header[1:]) <= {"recall", "precision"}:
        raise GoalPhraseError(f"the table's header {header} must be: colour, then recall and/or precision")
    attach.colour_evidence(annotated_colours)
    verdicts = []
    for row in rows:
        value = row[0]
        for figure, cell in zip(header[1:], row[1:], strict=True):
            bar = Goal(Comparison.AT_LEAST, parse_quantity(cell))
            verdicts.append(judge(bar, annotated_colours.figure_for(figure, value)))
    assert_goal(request, *verdicts)
