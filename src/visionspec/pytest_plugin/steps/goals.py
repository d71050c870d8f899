"""Steps that state goals: each measures, judges, attaches its evidence and records its verdict.

Every goal of a scenario is judged, even after one is missed; the scenario fails at its end with every
missed goal's sentence. A goal that cannot be judged (unknown colour, a sample that does not match, a
figure the scope cannot give) is broken.
"""

from __future__ import annotations

import pytest
from pytest_bdd import then

from visionspec.errors import GoalPhraseError, VisionSpecError
from visionspec.evaluation import DetectionResult
from visionspec.goals import Comparison, Goal, Quantity, judge, parse_quantity
from visionspec.pipeline import AnnotatedResult, ChainResult, attribute_of_classes, run_chain
from visionspec.pytest_plugin.outcomes import assert_goal
from visionspec.pytest_plugin.steps._phrases import NUMBER, QUANTITY, phrase
from visionspec.report import attach
from visionspec.runtime.session import ModelSession
from visionspec.scope import Scope
from visionspec.workbench import Workbench


def _named_scope(scope: Scope, things: str) -> tuple[Scope, set[str]]:
    """``balloons`` or ``red balloons``: the class is the last word, the words before narrow it.

    Returns the scope and the attributes the goal's own words name (not those of the scenario's slice).
    """
    *adjectives, noun = things.split()
    category = scope.dataset.category_id(scope.class_name(noun))
    named = scope if scope.category_ids == (category,) else scope.of_class(noun)
    words_alone = Scope.whole(scope.dataset).of_class(noun)
    attributes: set[str] = set()
    for word in adjectives:
        named = named.narrowed_by_word(word)
        attributes |= {attribute for attribute, _ in words_alone.narrowed_by_word(word).hidden}
    return named, attributes


def _chain_attribute(scope: Scope, named: set[str], request: pytest.FixtureRequest) -> ModelSession | None:
    """The colour model when the goal's words name a value of the attribute it predicts (a colour), else None."""
    if not named:
        return None
    try:
        colour_model: ModelSession = request.getfixturevalue("colour_model")
    except VisionSpecError:
        if all(set(scope.dataset.spec.attributes[a]) <= {"yes", "no"} for a in named):
            return None  # occluded, truncated: no classifier predicts those
        raise
    attribute = attribute_of_classes(dict(scope.dataset.spec.attributes), colour_model.card.classes,
                                     str(colour_model.path))
    return colour_model if attribute in named else None


@then(
    phrase("{subject:Subject} should find {comparison:Comparison} {quantity:Quantity} {things:Objects}"
           "{confidence:Confidence}"),
    converters=QUANTITY,
)
def should_find(
    comparison: Comparison,
    quantity: Quantity,
    things: str,
    confidence: float | None,
    detection: DetectionResult,
    detected_colours: ChainResult | None,
    workbench: Workbench,
    request: pytest.FixtureRequest,
) -> None:
    """Objects found, of those in scope. A goal that names a colour judges the chain: found by the detector
    AND called that colour by the colour model (the candidate one when the scenario names none).

    Example: Then it should find at least 800 balloons
    """
    goal = Goal(comparison, quantity, confidence)
    scope, named = _named_scope(detection.scope, things.removeprefix("of the ").removeprefix("of "))
    colour_model = _chain_attribute(scope, named, request)
    if colour_model is not None:
        chain = detected_colours or run_chain(detection, colour_model, workbench)
        on_scope = chain.on_scope(scope)
        attach.chain_evidence(on_scope)
        assert_goal(request, judge(goal, on_scope.found()))
        return
    result = detection.on_scope(scope)
    attach.detection_evidence(result)
    assert_goal(request, judge(goal, result.found()))


@then(
    phrase("{comparison:Comparison} {quantity:Quantity} of the reported {things:Objects} are not {others:Objects}"),
    converters=QUANTITY,
)
def reported_are_not(
    comparison: Comparison,
    quantity: Quantity,
    things: str,
    others: str,
    detection: DetectionResult,
    detected_colours: ChainResult | None,
    colour_model: ModelSession,
    workbench: Workbench,
    request: pytest.FixtureRequest,
) -> None:
    """Reported objects of a colour (the chain's output) that are not objects of that colour.

    Example: Then at most 10 of the reported red balloons are not red balloons
    """
    if things.lower() != others.lower():
        raise GoalPhraseError(f'"the reported {things} are not {others}": name the same objects twice')
    chain = detected_colours or run_chain(detection, colour_model, workbench)
    value = things.split()[0]
    known = {name.lower(): name for name in colour_model.card.classes}
    if value.lower() not in known:
        raise GoalPhraseError(f'"{value}" is not one of the colour model\'s classes: {", ".join(known.values())}')
    attach.reported_evidence(chain, known[value.lower()])
    assert_goal(request, judge(Goal(comparison, quantity), chain.wrong_reports(known[value.lower()], things.lower())))


@then(
    phrase("{comparison:Comparison} {quantity:Quantity} of the {images:ImagesNoun} contain a detection"
           "{confidence:Confidence}"),
    converters=QUANTITY,
)
def images_contain_a_detection(
    comparison: Comparison,
    quantity: Quantity,
    images: str,
    confidence: float | None,
    detection: DetectionResult,
    request: pytest.FixtureRequest,
) -> None:
    """Images with at least one detection at the confidence threshold, of the images in scope.

    Example: Then at most 1% of the images without balloons contain a detection
    """
    written = " ".join(images.lower().replace("pictures", "images").split())
    if written != detection.scope.images_noun:
        raise GoalPhraseError(
            f'the goal is about "{images}" but the scenario judges "{detection.scope.images_noun}"; '
            f'narrow the scope first, e.g. "Given only the {images}"'
        )
    attach.detection_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity, confidence), detection.images_with_detection()))


_DETECTION_FIGURES = {
    "recall": DetectionResult.recall,
    "precision": DetectionResult.precision,
    "f1": DetectionResult.f1,
}


@then(
    phrase("the {figure:DetectionFigure} should be {comparison:Comparison} {quantity:Quantity}"
           "{confidence:Confidence}"),
    converters=QUANTITY,
)
def detection_figure(
    figure: str,
    comparison: Comparison,
    quantity: Quantity,
    confidence: float | None,
    detection: DetectionResult,
    request: pytest.FixtureRequest,
) -> None:
    """Recall, precision or F1 of the detector on the scope at the stated confidence and overlap (a rate:
    0.92 or 92%; 1 means 100%).

    Example: Then the recall should be at least 0.92
    """
    measured = _DETECTION_FIGURES[figure.lower()](detection)
    attach.detection_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity, confidence), measured))


@then(phrase("the box {figure:MapFigure} should be {comparison:Comparison} {quantity:Quantity}"), converters=QUANTITY)
def mean_average_precision(
    figure: str, comparison: Comparison, quantity: Quantity, detection: DetectionResult, request: pytest.FixtureRequest
) -> None:
    """Box mAP at IoU 0.5 (`mAP@.50`) or averaged over IoU 0.50 to 0.95 (`mAP@[.50:.95]`), as COCO computes it,
    on the scope's classes and size.

    Example: Then the box mAP@.50 should be at least 0.85
    """
    measured = detection.mean_average_precision(at_50=figure.lower() == "map@.50")
    attach.coco_evidence(detection)
    assert_goal(request, judge(Goal(comparison, quantity), measured))


@then(
    phrase("the mean counting error per {pictures:Pictures} should be {comparison:Comparison} {number:Number}"),
    converters=NUMBER,
)
def mean_counting_error(
    comparison: Comparison, number: Quantity, detection: DetectionResult, request: pytest.FixtureRequest
) -> None:
    """Mean absolute difference between the objects counted and the objects there, per image.

    Example: Then the mean counting error per image should be at most 0.5
    """
    measured = detection.mean_counting_error()
    attach.counting_evidence(detection)
    assert_goal(request, judge(Goal(comparison, number), measured))


@then(
    phrase("the colour accuracy should be {comparison:Comparison} {quantity:Quantity}{confidence:Confidence}"),
    converters=QUANTITY,
)
def colour_accuracy(
    comparison: Comparison,
    quantity: Quantity,
    confidence: float | None,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Annotated objects whose colour the colour model names correctly (needs: When the colour model
    classifies the annotated balloons).

    Example: Then the colour accuracy should be at least 95%
    """
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity, confidence), annotated_colours.accuracy()))


@then(
    phrase(
        "the colour {figure:ClassFigure} for {value:Value} should be {comparison:Comparison} {quantity:Quantity}"
        "{confidence:Confidence}"
    ),
    converters=QUANTITY,
)
def colour_figure(
    figure: str,
    value: str,
    comparison: Comparison,
    quantity: Quantity,
    confidence: float | None,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Recall or precision of one colour (needs: When the colour model classifies the annotated balloons).

    Example: Then the colour recall for red should be at least 95%
    """
    measured = annotated_colours.figure_for(figure.lower(), value)
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity, confidence), measured))


@then(
    phrase(
        "{comparison:Comparison} {quantity:Quantity} of the {things:Things} that are not {value:Value} "
        "are called {called:Value}{confidence:Confidence}"
    ),
    converters=QUANTITY,
)
def called_among_others(
    comparison: Comparison,
    quantity: Quantity,
    things: str,
    value: str,
    called: str,
    confidence: float | None,
    annotated_colours: AnnotatedResult,
    request: pytest.FixtureRequest,
) -> None:
    """Objects of other colours that the colour model calls this colour (needs: When the colour model
    classifies the annotated balloons).

    Example: Then at most 3% of the balloons that are not red are called red
    """
    if value.lower() != called.lower():
        raise GoalPhraseError(f'"not {value} ... called {called}": name the same colour twice')
    measured = annotated_colours.called_among_others(value)
    attach.colour_evidence(annotated_colours)
    assert_goal(request, judge(Goal(comparison, quantity, confidence), measured))


@then(phrase("every colour should meet these bars:"))
def colour_bars(datatable: list[list[str]], annotated_colours: AnnotatedResult, request: pytest.FixtureRequest) -> None:
    """One row a colour, one column a figure (recall, precision); each cell is an "at least" bar.

    Example: Then every colour should meet these bars:
    Table:
        | colour | recall | precision |
        | red    | 0.95   | 0.90      |
        | blue   | 85%    | 85%       |
    """
    header, *rows = datatable
    columns = [cell.strip().lower() for cell in header]
    if not columns or columns[0] != "colour" or not set(columns[1:]) <= {"recall", "precision"} or not columns[1:]:
        raise GoalPhraseError(f"the table's header {header} must be: colour, then recall and/or precision")
    measured = []
    for row in rows:
        for figure, cell in zip(columns[1:], row[1:], strict=True):
            bar = Goal(Comparison.AT_LEAST, parse_quantity(cell))
            measured.append((bar, annotated_colours.figure_for(figure, row[0])))
    attach.colour_evidence(annotated_colours)
    assert_goal(request, *(judge(goal, measurement) for goal, measurement in measured))
