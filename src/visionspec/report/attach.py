"""Evidence attached to the running Allure step: figures tables, contact sheets and plots.

Each Then step calls one of these after measuring; they only draw what the result already holds.
Outside an Allure run (no ``--alluredir``) ``allure.attach`` does nothing, so they cost little there;
the pictures are still drawn, which is why sheets are capped. A picture is drawn once per content in a
run: the goals of one result (every colour bar of the colour model, precision and recall of one pass)
share their confusion matrix, PR curve and contact sheets.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import allure
import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.evaluation import DetectionResult
from visionspec.goals.verdict import Verdict, format_value, margin_amount
from visionspec.pipeline import DETECTOR_MISSED, FOUND, AnnotatedResult, ChainResult
from visionspec.report.evidence import TileSet, contact_sheet, false_alarm_tiles, mislabelled_tiles, miss_tiles
from visionspec.report.picture import Picture
from visionspec.report.tables import csv_table, html_table, key_value_table


def _picture(picture: Picture, name: str) -> None:
    allure.attach(picture.data, name=name, attachment_type=picture.media_type, extension=picture.extension)


_DRAWN: OrderedDict[bytes, Picture] = OrderedDict()
_DRAWN_LIMIT = 64  # pictures kept for reuse: bounded, so a long run's memory stays flat


def drawn(content: object, draw: Callable[[], Picture]) -> Picture:
    """``draw()``, or the picture already drawn for the same ``content`` (anything picklable it is drawn from)."""
    key = hashlib.sha256(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL)).digest()
    picture = _DRAWN.get(key)
    if picture is None:
        picture = _DRAWN[key] = draw()
        if len(_DRAWN) > _DRAWN_LIMIT:
            _DRAWN.popitem(last=False)
    _DRAWN.move_to_end(key)
    return picture


def _sheet(tiles: TileSet, name: str) -> None:
    """A contact sheet, only when there is something to show (reports stay small)."""
    if tiles.total:
        _picture(drawn(("sheet", tiles), lambda: contact_sheet(tiles)), name)


def _html(page: str, name: str) -> None:
    allure.attach(page, name=name, attachment_type=allure.attachment_type.HTML)


def attach_verdicts(verdicts: Sequence[Verdict]) -> None:
    """One row a judged goal: goal, measured, sample, interval, margin, met or missed (one rounding rule).

    Attached as CSV, which Allure 2 shows as a table that fits its rows; an HTML attachment is a frame
    of at least 480 pixels, mostly white for a one-row verdict.
    """
    rows = []
    for verdict in verdicts:
        measured = verdict.measurement
        interval = measured.interval
        rows.append(
            (
                str(verdict.goal),
                format_value(measured.value, measured.unit),
                measured.count,
                measured.total,
                f"{interval} ({interval.level * 100:g}%)" if interval else None,
                None if verdict.margin is None else margin_amount(verdict.margin, verdict.margin_unit),
                "met" if verdict.met else "MISSED",
            )
        )
    header = (verdicts[0].measurement.figure or "goal", "measured", "count", "sample", "interval", "margin", "verdict")
    allure.attach(csv_table(header, rows), name="verdict", attachment_type=allure.attachment_type.CSV)


def _image_path(dataset: Dataset) -> Callable[[int], Path]:
    """Image id to file, for the contact sheets."""
    rows = {int(image_id): row for row, image_id in enumerate(dataset.images.ids)}
    return lambda image_id: dataset.image_path(rows[image_id])


def detection_evidence(result: DetectionResult) -> None:
    """Figures at the thresholds, then the missed objects and the false alarms as contact sheets."""
    counts = result.counts
    found = result.found()
    _html(
        key_value_table(
            {
                "images": len(result.scope.dataset.images),
                f"{result.scope.noun} in scope": found.total,
                f"{result.scope.noun} found": found.count,
                "detections counted": counts.tp + counts.fp,
                "true positives": counts.tp,
                "false alarms": counts.fp,
                "missed": counts.fn,
                "precision": counts.precision.value,
                "recall": counts.recall.value,
                "thresholds": str(result.thresholds),
            },
            caption="Detector figures",
        ),
        "figures",
    )
    matches = result.matches
    image_path = _image_path(result.scope.dataset)
    kept = _kept(result)
    judged = result.detections.take(kept)
    misses = miss_tiles(
        matches.ground_truth, result.missed_objects, judged, image_path, title=f"Missed {result.scope.noun}"
    )
    _sheet(misses, "missed objects")
    alarms = false_alarm_tiles(
        judged, result.false_alarms[kept], matches.ground_truth, image_path, title="False alarms",
        class_names={category.id: category.name for category in result.scope.dataset.categories},
    )
    _sheet(alarms, "false alarms")


def _kept(result: DetectionResult) -> NDArray[np.bool_]:
    """(D,) the detections at or above the score threshold: the only ones drawn (the others do not count)."""
    return result.kept


def coco_evidence(result: DetectionResult) -> None:
    """The twelve COCO figures and the precision-recall curve at IoU 0.50."""
    from visionspec.report.plots import PrCurve, pr_curve_plot

    evaluation = result.coco
    _html(
        key_value_table(dict(evaluation.summary.to_dict()), caption="COCO box evaluation (pycocotools' figures)"),
        "COCO figures",
    )
    curves = []
    for k, category_id in enumerate(evaluation.category_ids):
        precision = evaluation.precision[0, :, k, 0, -1]  # IoU .50, area all, most detections
        if np.isnan(precision).all():
            continue
        name = next(c.name for c in result.scope.dataset.categories if c.id == category_id)
        overall = result.counts if len(result.scope.category_ids) == 1 else None
        point = None
        if overall is not None and overall.recall.value is not None and overall.precision.value is not None:
            point = (overall.recall.value, overall.precision.value)
        curves.append(
            PrCurve(
                name,
                evaluation.recall_thresholds,
                np.nan_to_num(precision),
                float(np.nanmean(precision)),
                point,
                f"confidence ≥ {result.thresholds.score:.2f}",
            )
        )
    _picture(drawn(("pr", curves), lambda: pr_curve_plot(curves, title="Precision-recall at IoU 0.50")), "PR curve")


def counting_evidence(result: DetectionResult) -> None:
    """Counted against true objects per image, summarised."""
    counting = result.counting
    _html(
        key_value_table(
            {
                "images": len(counting.image_ids),
                "objects there": int(counting.true_counts.sum()),
                "objects counted": int(counting.predicted_counts.sum()),
                "mean absolute error per image": counting.mean_absolute_error,
                "mean error per image (+ over-counts)": counting.mean_error,
                "images counted exactly": str(counting.exact),
            },
            caption="Counting",
        ),
        "counting",
    )


def chain_evidence(chain: ChainResult) -> None:
    """Who is to blame for each object not found: the detector or the colour model."""
    counted = chain.detection.counted_objects
    blame = Counter(chain.blame()[counted].tolist())
    rows = [(reason, count) for reason, count in blame.most_common()]
    _html(html_table(("outcome", chain.detection.scope.noun), rows, caption="Which model caused each miss"), "blame")
    missed = counted & (chain.blame() == DETECTOR_MISSED)
    result = chain.detection
    image_path = _image_path(result.scope.dataset)
    judged = result.detections.take(_kept(result))
    matches = result.matches
    _sheet(
        miss_tiles(
            matches.ground_truth, missed, judged, image_path, attribute=chain.attribute, title="Missed by the detector"
        ),
        "missed by the detector",
    )
    misread = counted & (chain.blame() != DETECTOR_MISSED) & (chain.blame() != FOUND)
    predicted = chain.predicted_for_objects
    truth = matches.ground_truth.attributes[chain.attribute]
    _sheet(
        mislabelled_tiles(
            matches.ground_truth,
            misread,
            list(truth),
            list(predicted),
            chain.confidence_for_objects,
            image_path,
            detections=judged,
            title="Found, but misnamed by the colour model",
        ),
        "misnamed",
    )


def reported_evidence(chain: ChainResult, value: str) -> None:
    """The reported objects of a colour that are something else, most confident first."""
    kept = _kept(chain.detection)
    matches = chain.detection.matches
    _sheet(
        false_alarm_tiles(
            matches.detections.take(kept),
            chain.wrongly_reported(value)[kept],
            matches.ground_truth,
            _image_path(chain.detection.scope.dataset),
            labels=list(chain.labels[kept]),
            title=f"Reported {value}, but not a {value} object",
            class_names={category.id: category.name for category in chain.detection.scope.dataset.categories},
            attribute=chain.attribute,
        ),
        "wrong reports",
    )


def colour_evidence(result: AnnotatedResult) -> None:
    """Per-colour figures, the confusion matrix and the misread balloons."""
    from visionspec.report.plots import confusion_matrix_plot

    metrics = result.metrics
    rows = [
        (label, scores.support, scores.recall.value, scores.precision.value, scores.f1)
        for label, scores in metrics.per_class.items()
    ]
    _html(
        html_table(
            ("colour", "balloons", "recall", "precision", "F1"),
            rows,
            caption=f"Colour model: accuracy {metrics.accuracy}",
        ),
        "per colour",
    )
    matrix = (metrics.confusion, metrics.classes)
    _picture(drawn(("confusion", matrix), lambda: confusion_matrix_plot(metrics.confusion, metrics.classes,
                                                                        metrics.classes)), "confusion matrix")
    annotations = result.scope.dataset.annotations.take(result.scope.objects)
    predicted = result.predicted_labels
    misread = predicted != result.true_labels
    confidence = result.predicted.probabilities.max(axis=1) if len(predicted) else np.zeros(0)
    _sheet(
        mislabelled_tiles(
            annotations,
            misread,
            list(result.true_labels),
            list(predicted),
            confidence,
            _image_path(result.scope.dataset),
            title="Misread colours",
        ),
        "misread colours",
    )
