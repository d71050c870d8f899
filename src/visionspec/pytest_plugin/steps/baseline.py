"""Steps that judge the candidate detector against a baseline: the previous checkpoint or a named one.

Both detectors are matched on the same pictures with the same rules; each goal attaches the flip lists
(newly missed, newly found, new false alarms) as contact sheets and states their counts in its sentence.
"""

from __future__ import annotations

from pathlib import Path

import allure
import pytest
from parse import with_pattern
from pytest_bdd import given, then

from visionspec.baseline import (
    BaselineComparison,
    improvement_verdict,
    parse_points,
    per_value_verdicts,
    recall_change_table,
    recall_drop_verdict,
)
from visionspec.checkpoints import previous_checkpoint
from visionspec.errors import GoalPhraseError, ModelError
from visionspec.evaluation import DetectionResult
from visionspec.goals.verdict import DEFAULT_LEVEL
from visionspec.pytest_plugin.outcomes import assert_goal
from visionspec.pytest_plugin.steps._phrases import Phrase, phrase
from visionspec.report.evidence import contact_sheet
from visionspec.report.tables import key_value_table
from visionspec.runtime.card import Task
from visionspec.runtime.session import ModelSession, open_model
from visionspec.workbench import Workbench

# The attribute named on each tile of the flip lists, when the data set declares it.
_CAPTION_ATTRIBUTE = "colour"
# Set on a scenario once its flip lists are attached: a second baseline goal does not repeat them.
_FLIPS_ATTACHED = pytest.StashKey[bool]()


@with_pattern(r"\S+? points?|\S+? ?%")
def _points(text: str) -> str:
    """1 point | 2 points | 0.5 points | 1% (percentage points of recall)"""
    return text  # converted inside the step, so a bad number is a broken step, not "not found"


def _confident(confidence: float | None) -> bool:
    """Baseline goals judge the paired difference's 95% interval; another level would be a different question."""
    if confidence not in (None, DEFAULT_LEVEL):
        raise GoalPhraseError(f"a baseline goal is judged at 95% confidence only, not {confidence:.0%}; "
                              'write "with 95% confidence" or leave it out')
    return confidence is not None


def _phrase(pattern: str) -> Phrase:
    return phrase(pattern, {"Points": _points})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("visionspec").addoption(
        "--baseline",
        metavar="ONNX",
        help='the detector "the previous checkpoint" means (default: the one before the candidate in its folder)',
    )


@pytest.fixture
def baseline_detector() -> ModelSession:
    """A baseline goal needs a baseline (for example "Given the previous checkpoint as the baseline")."""
    raise pytest.UsageError(
        'this scenario compares with a baseline but names none: add "Given the previous checkpoint as the baseline"'
    )


@pytest.fixture
def baseline_comparison(
    detection: DetectionResult, baseline_detector: ModelSession, workbench: Workbench
) -> BaselineComparison:
    """The candidate's result and the baseline's on the same scope and thresholds (baseline inference cached)."""
    return BaselineComparison.against(
        detection,
        workbench.detections(baseline_detector, detection.scope.source),
        baseline_name=str(baseline_detector.path),
    )


@pytest.fixture(scope="session")
def baseline_models() -> dict[Path, ModelSession]:
    """Baseline detectors opened so far, by file: kept apart from the workbench's models under test, so the
    report's environment names the candidate, not the baseline, as the detector."""
    return {}


def _opened_baseline(models: dict[Path, ModelSession], workbench: Workbench, path: Path) -> ModelSession:
    resolved = path.resolve()
    if resolved not in models:
        models[resolved] = open_model(resolved, device=workbench.device, threads=workbench.threads)
    model = models[resolved]
    if model.card.task is not Task.DETECTION:
        raise ModelError(
            f"{path}: a baseline detector must be a detection model, but its card says task {model.card.task.value}; "
            "fix: name a detector checkpoint"
        )
    return model


@given(_phrase('the baseline detector "{checkpoint:Checkpoint}"'), target_fixture="baseline_detector")
def named_baseline_detector(
    checkpoint: str, workbench: Workbench, baseline_models: dict[Path, ModelSession]
) -> ModelSession:
    """The detector the candidate is compared with, object by object.

    Example: Given the baseline detector "models/balloon-detector/checkpoints/epoch-16.onnx"
    """
    return _opened_baseline(baseline_models, workbench, Path(checkpoint))


@given(_phrase("the previous checkpoint as the baseline"), target_fixture="baseline_detector")
def previous_checkpoint_as_baseline(
    detector: ModelSession,
    workbench: Workbench,
    baseline_models: dict[Path, ModelSession],
    pytestconfig: pytest.Config,
) -> ModelSession:
    """`--baseline`, else the detector's checkpoint before the candidate in its folder; none: skipped.

    Example: Given the previous checkpoint as the baseline
    """
    given_path = pytestconfig.getoption("baseline")
    path = Path(given_path) if given_path else previous_checkpoint(detector.path)
    if path is None:
        pytest.skip(
            f"no previous checkpoint: {detector.path.name} is the first in {detector.path.parent}; "
            "pass --baseline ONNX to compare it with another"
        )
    return _opened_baseline(baseline_models, workbench, path)


def _attach_html(page: str, name: str) -> None:
    allure.attach(page, name=name, attachment_type=allure.attachment_type.HTML)


def _attach_flips(comparison: BaselineComparison, request: pytest.FixtureRequest) -> None:
    """The flip counts as a table and each non-empty flip list as a contact sheet, once a scenario."""
    if request.node.stash.get(_FLIPS_ATTACHED, False):
        return
    request.node.stash[_FLIPS_ATTACHED] = True
    page = key_value_table(
        {"baseline": comparison.baseline_name, **comparison.flips().to_dict()},
        caption="Against the baseline, object by object",
    )
    _attach_html(page, "flips")
    declared = comparison.candidate.scope.dataset.spec.attributes
    attribute = _CAPTION_ATTRIBUTE if _CAPTION_ATTRIBUTE in declared else None
    for tiles in comparison.flip_tiles(attribute=attribute):
        if tiles.total:
            sheet = contact_sheet(tiles)
            allure.attach(sheet.data, name=tiles.title.partition(" (")[0].lower(),
                          attachment_type=sheet.media_type, extension=sheet.extension)


@then(
    _phrase("the recall should not drop by more than {drop:Points} against the baseline{confidence:Confidence}"),
    converters={"drop": parse_points},
)
def recall_should_not_drop(
    drop: float, confidence: float | None, baseline_comparison: BaselineComparison, request: pytest.FixtureRequest
) -> None:
    """Recall of the candidate minus the baseline's, on the same objects (paired; 95% interval shown).

    Example: Then the recall should not drop by more than 1 point against the baseline
    """
    _attach_flips(baseline_comparison, request)
    noun = baseline_comparison.candidate.scope.noun
    change = baseline_comparison.recall_change()
    verdict = recall_drop_verdict(change, noun, drop, confident=_confident(confidence))
    _attach_html(recall_change_table({noun: change}, [verdict]), "recall change")
    assert_goal(request, verdict)


@then(
    _phrase(
        "no {attribute:Attribute} should lose more than {drop:Points} of recall against the baseline"
        "{confidence:Confidence}"
    ),
    converters={"drop": parse_points},
)
def no_value_should_lose_recall(
    attribute: str,
    drop: float,
    confidence: float | None,
    baseline_comparison: BaselineComparison,
    request: pytest.FixtureRequest,
) -> None:
    """The recall change for each value of an attribute (one verdict a colour), on the same objects.

    Example: Then no colour should lose more than 2 points of recall against the baseline
    """
    _attach_flips(baseline_comparison, request)
    changes = baseline_comparison.recall_change_by(attribute)
    noun = baseline_comparison.candidate.scope.noun
    verdicts = per_value_verdicts(changes, noun, drop, confident=_confident(confidence))
    _attach_html(recall_change_table({f"{value} {noun}": change for value, change in changes.items()}, verdicts),
                 f"recall change by {attribute}")
    assert_goal(request, *verdicts)


@then(_phrase("the box {figure:MapFigure} should improve on the baseline"))
def map_should_improve(figure: str, baseline_comparison: BaselineComparison, request: pytest.FixtureRequest) -> None:
    """Box mAP of the candidate strictly above the baseline's on the same pictures.

    Example: Then the box mAP@.50 should improve on the baseline
    """
    _attach_flips(baseline_comparison, request)
    at_50 = figure.lower() == "map@.50"
    candidate = baseline_comparison.candidate.mean_average_precision(at_50=at_50)
    baseline = baseline_comparison.baseline.mean_average_precision(at_50=at_50)
    verdict = improvement_verdict(
        f"box {figure}", candidate.value, baseline.value, candidate.total, candidate.noun, baseline_comparison.flips()
    )
    assert_goal(request, verdict)
