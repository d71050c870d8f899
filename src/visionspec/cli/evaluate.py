"""``visionspec evaluate --ground-truth COCO.json --predictions RESULTS.json [--score S | --card CARD | --model ONNX]``.

The counts are taken at one score threshold: ``--score`` when given, else the model card's
``score_threshold`` (``--card``, or the card of ``--model``: the one the goals use), else 0.5; the
output says which (``score_source`` in ``--json``).

COCO box evaluation of a results file against an annotation file: the twelve COCO figures (the same
as pycocotools'), AP per class, and the counts at one score threshold and IoU. ``--json`` prints one
object: ``coco`` (the twelve figures, ``null`` where undefined), ``per_class`` (by category name:
``category_id``, ``AP``, ``AP50``, ``AP75``) and ``at_threshold`` (``score``, ``iou``, ``tp``, ``fp``,
``fn``, ``precision``, ``recall``, ``f1``, their intervals, and the same per class).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from visionspec.datasets.coco import CocoFile, read_coco
from visionspec.detections import Detections
from visionspec.goals.verdict import ExitCode
from visionspec.metrics.coco import average_precision, evaluate_coco
from visionspec.metrics.results import ClassCounts, CocoEvaluation, ThresholdCounts
from visionspec.metrics.threshold import counts_at

DEFAULT_SCORE = 0.5
DEFAULT_IOU = 0.5


def _finite(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _iou(text: str) -> float:
    """An argparse type: an IoU threshold in (0, 1]."""
    value = _finite(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"an IoU threshold is in (0, 1], got {text!r}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate", help="COCO evaluation of a results file (agrees with pycocotools), plus counts at a threshold"
    )
    parser.add_argument("--ground-truth", required=True, type=Path, metavar="COCO.json", help="the annotation file")
    parser.add_argument("--predictions", required=True, type=Path, metavar="RESULTS.json", help="a COCO results file")
    parser.add_argument("--score", type=_finite, metavar="S",
                        help=f"score threshold for the counts (default: the card's, else {DEFAULT_SCORE}); "
                        "mAP uses every detection")
    parser.add_argument("--card", type=Path, metavar="CARD", help="the model card whose score_threshold to use")
    parser.add_argument("--model", type=Path, metavar="ONNX",
                        help="the model that made the predictions: its card's score_threshold is used")
    parser.add_argument("--iou", type=_iou, default=DEFAULT_IOU, metavar="I",
                        help=f"IoU a detection needs to count as found, for the counts (default {DEFAULT_IOU})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.set_defaults(handler=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    """Evaluate and print."""
    coco = read_coco(args.ground_truth)
    category_ids = [category.id for category in coco.categories]
    detections = Detections.read_coco_results(args.predictions, image_ids=coco.images.ids, category_ids=category_ids)
    evaluation = evaluate_coco(coco.annotations, coco.images.ids, category_ids, detections)
    score, source = score_threshold(args.score, args.card, args.model)
    counts = counts_at(coco.annotations, coco.images.ids, category_ids, detections, score=score, iou=args.iou)
    report = evaluation_report(coco, evaluation, counts)
    report["at_threshold"]["score_source"] = source
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_text(coco, detections, evaluation, counts))
        print(f"score threshold {score:g}: {source}")
    return ExitCode.MET


def score_threshold(given: float | None, card: Path | None, model: Path | None) -> tuple[float, str]:
    """The score threshold of the counts and where it came from, in words.

    Raises:
        ModelCardError: the card cannot be read or is invalid.
    """
    if given is not None:
        return given, "given with --score"
    from visionspec.runtime.card import build_card, card_path_for, read_card_file

    path = card if card is not None else card_path_for(model) if model is not None else None
    if path is None:
        return DEFAULT_SCORE, f"the default {DEFAULT_SCORE:g} (give --card or --model to use the model card's)"
    threshold = build_card([(str(path), read_card_file(path))]).score_threshold
    return threshold, f"the model card's score_threshold ({path})"


def evaluation_report(coco: CocoFile, evaluation: CocoEvaluation, counts: ThresholdCounts) -> dict[str, Any]:
    """The ``--json`` object."""
    per_class = {
        category.name: {
            "category_id": category.id,
            "AP": evaluation.per_class[category.id],
            "AP50": average_precision(evaluation, category_id=category.id, iou=0.5),
            "AP75": average_precision(evaluation, category_id=category.id, iou=0.75),
        }
        for category in coco.categories
    }
    at_threshold = {
        "score": counts.score,
        "iou": counts.iou,
        **counts.overall.to_dict(),
        "per_class": {category.name: counts.per_class[category.id].to_dict() for category in coco.categories},
    }
    return {"coco": evaluation.summary.to_dict(), "per_class": per_class, "at_threshold": at_threshold}


def _number(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def _counts_row(name: str, ap: float | None, ap50: float | None, counts: ClassCounts) -> str:
    return (
        f"{name:<20} {_number(ap)} {_number(ap50)} {counts.tp:>7,} {counts.fp:>7,} {counts.fn:>7,} "
        f"{_number(counts.precision.value)} {_number(counts.recall.value)} {_number(counts.f1)}"
    )


def _text(coco: CocoFile, detections: Detections, evaluation: CocoEvaluation, counts: ThresholdCounts) -> str:
    """The readable tables."""
    summary = evaluation.summary.to_dict()
    lines = [
        f"{coco.source}: {len(coco.images):,} images, {len(coco.categories)} classes, {len(coco.annotations):,} "
        f"objects; {len(detections):,} detections",
        "",
        "COCO (IoU .50:.95 unless named; area all; 100 detections per image unless named)",
        *(f"  {name:<6} {_number(value)}" for name, value in summary.items()),
        "",
        f"per class; counts at score >= {counts.score:g} and IoU >= {counts.iou:g}",
        f"{'class':<20} {'AP':>6} {'AP50':>6} {'TP':>7} {'FP':>7} {'FN':>7} {'prec.':>6} {'recall':>6} {'F1':>6}",
    ]
    for category in coco.categories:
        ap50 = average_precision(evaluation, category_id=category.id, iou=0.5)
        lines.append(_counts_row(category.name, evaluation.per_class[category.id], ap50, counts.per_class[category.id]))
    lines.append(_counts_row("all", summary["AP"], summary["AP50"], counts.overall))
    overall = counts.overall
    lines += ["", f"precision {overall.precision}", f"recall    {overall.recall}"]
    return "\n".join(lines)
