"""The product's figures of a reference model on a data set, computed by the engine's metrics.

The same functions give the validation figures stored in every checkpoint during training and the
release figures on data set 12345 (``bench/reference_models.py``); they need no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.detections import Detections
from visionspec.metrics import evaluate_coco, proportion
from visionspec.metrics.classification import classification_metrics
from visionspec.metrics.images import image_figures
from visionspec.metrics.threshold import match_at

Figures = Mapping[str, float | None]

MATCH_IOU = 0.5
"""IoU a detection needs to find an object, in every product goal."""

# Object subsets with their own recall goal: (figure name, attribute, value).
_SUBSETS = (
    ("recall_small", "size", "small"),
    ("recall_occluded", "occluded", "yes"),
    ("recall_truncated", "truncated", "yes"),
)


def detector_figures(dataset: Dataset, detections: Detections, *, score: float) -> dict[str, float | None]:
    """A detector's figures on ``dataset``: AP50, and recall and false alarms at ``score``.

    Args:
        dataset: ground truth.
        detections: the detector's boxes on it, in its category ids.
        score: the card's score threshold.

    Returns:
        ``ap50`` (COCO, IoU 0.5); ``recall`` at ``score`` and IoU 0.5, also ``recall_small``,
        ``recall_occluded`` and ``recall_truncated`` where the data set declares the ``size``,
        ``occluded`` and ``truncated`` attributes (else None);
        ``false_alarm_images``: the share of pictures without objects that get a box at ``score``
        (None without such pictures).
    """
    annotations = dataset.annotations
    category_ids = [category.id for category in dataset.categories]
    coco = evaluate_coco(annotations, dataset.images.ids, category_ids, detections)
    matches = match_at(annotations, dataset.images.ids, category_ids, detections, score=score, iou=MATCH_IOU)
    counted = ~matches.ground_truth_ignored
    found = counted & ~matches.missed
    figures: dict[str, float | None] = {
        "ap50": coco.summary.ap50,
        "recall": _share(found, counted),
    }
    for name, attribute, value in _SUBSETS:
        if value in dataset.spec.attributes.get(attribute, ()):
            subset = counted & dataset.objects_where(**{attribute: value})
            figures[name] = _share(found, subset)
        else:
            figures[name] = None
    alarms = image_figures(annotations, dataset.images.ids, detections, score=score)
    figures["false_alarm_images"] = alarms.false_alarm_images.value
    return figures


def colour_figures(
    true_colours: Sequence[str] | NDArray[np.str_],
    predicted_colours: Sequence[str] | NDArray[np.str_],
    classes: Sequence[str],
    *,
    target: str = "red",
) -> dict[str, float | None]:
    """A colour model's figures on crops: accuracy, and how it treats the ``target`` colour.

    Args:
        true_colours: (N,) the true colour of each crop.
        predicted_colours: (N,) the model's colour of each crop.
        classes: the colours.
        target: the colour of the product's goal.

    Returns:
        ``accuracy``; ``<target>_recall``: the share of ``target`` crops called ``target``;
        ``non_<target>_called_<target>``: the share of other crops called ``target``.
    """
    metrics = classification_metrics(true_colours, predicted_colours, classes)
    truth = np.asarray(true_colours) == target
    called = np.asarray(predicted_colours) == target
    return {
        "accuracy": metrics.accuracy.value,
        f"{target}_recall": metrics.per_class[target].recall.value,
        f"non_{target}_called_{target}": _share(called, ~truth),
    }


def chain_figures(
    dataset: Dataset,
    detections: Detections,
    detection_colours: NDArray[np.str_],
    *,
    score: float,
    attribute: str = "colour",
    target: str = "red",
) -> dict[str, float | None]:
    """The chain's figures: the detector finds balloons at ``score``, the colour model names their colour.

    As in ``visionspec.pipeline``: an object of the ``target`` colour is found when a detection matches it
    (IoU 0.5, detections at ``score``) and the colour model calls that detection ``target``; a detection
    called ``target`` is a wrong report when it matches no object of that colour.

    Args:
        dataset: ground truth, with the ``attribute`` column.
        detections: the detector's boxes.
        detection_colours: (D,) the colour model's verdict on each detection (ignored below ``score``).
        score: the detector card's threshold.
        attribute: the object attribute the colour model predicts.
        target: the colour of the product's goal.

    Returns:
        ``<target>_found`` and ``<target>_objects`` (counts), ``<target>_wrong_reports`` (count).
    """
    annotations = dataset.annotations
    category_ids = [category.id for category in dataset.categories]
    matches = match_at(annotations, dataset.images.ids, category_ids, detections, score=score, iou=MATCH_IOU)
    truth = annotations.attributes[attribute]
    colours = np.asarray(detection_colours)
    # row -1 ("no match") picks the appended empty value
    found = (truth == target) & (np.append(colours, "")[matches.ground_truth_matched_by] == target)
    reported = (colours == target) & (detections.scores >= score)
    right = np.append(truth, "")[matches.detection_matched_to] == target
    return {
        f"{target}_found": float(found.sum()),
        f"{target}_objects": float((truth == target).sum()),
        f"{target}_wrong_reports": float((reported & ~right).sum()),
    }


def _share(hits: NDArray[np.bool_], among: NDArray[np.bool_]) -> float | None:
    """The share of ``among`` that are ``hits`` (None when ``among`` is empty)."""
    return proportion(int((hits & among).sum()), int(among.sum())).value
