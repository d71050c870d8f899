"""Metrics: COCO evaluation that agrees with pycocotools, counts at a threshold, image-level and
classification figures, each rate with a Wilson 95% interval. Results are frozen dataclasses with
``None`` where a figure is undefined.
"""

from __future__ import annotations

from visionspec.metrics.classification import ClassificationAccumulator, classification_metrics
from visionspec.metrics.coco import average_precision, average_recall, evaluate_coco
from visionspec.metrics.images import counting_errors, image_figures
from visionspec.metrics.intervals import Z95, f1_score, proportion, ratio, wilson_interval
from visionspec.metrics.iou import box_iou
from visionspec.metrics.results import (
    Area,
    ClassCounts,
    ClassificationMetrics,
    ClassScores,
    CocoEvaluation,
    CocoSummary,
    CountingErrors,
    DetectionOutcome,
    ImageFigures,
    Interval,
    Proportion,
    ThresholdCounts,
    ThresholdMatches,
)
from visionspec.metrics.threshold import count_matches, counts_at, match_at

__all__ = [
    "Z95",
    "Area",
    "ClassCounts",
    "ClassScores",
    "ClassificationAccumulator",
    "ClassificationMetrics",
    "CocoEvaluation",
    "CocoSummary",
    "CountingErrors",
    "DetectionOutcome",
    "ImageFigures",
    "Interval",
    "Proportion",
    "ThresholdCounts",
    "ThresholdMatches",
    "average_precision",
    "average_recall",
    "box_iou",
    "classification_metrics",
    "count_matches",
    "counting_errors",
    "counts_at",
    "evaluate_coco",
    "f1_score",
    "image_figures",
    "match_at",
    "proportion",
    "ratio",
    "wilson_interval",
]
