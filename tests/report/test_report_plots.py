"""Plots: valid PNGs of the stated size, and refusals of inputs that do not fit together."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from visionspec.report.plots import PrCurve, TrendSeries, confusion_matrix_plot, pr_curve_plot, trend_plot


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole file: a truncated PNG fails here
    assert image.format == "PNG"
    return image


def test_pr_curve_is_a_640_by_480_png() -> None:
    recall = np.linspace(0.0, 0.9, 20)
    curves = [PrCurve("balloon", recall, 1 - recall**3, 0.81, (0.8, 0.49), "score ≥ 0.50"),
              PrCurve("red", recall, 1 - recall**2)]

    picture = pr_curve_plot(curves, title="Detector")

    assert (picture.media_type, picture.extension) == ("image/png", "png")
    assert _png(picture.data).size == (picture.width, picture.height) == (640, 480)


def test_pr_curve_without_curves_still_draws() -> None:
    assert _png(pr_curve_plot([]).data).size == (640, 480)


def test_confusion_matrix_draws_any_shape() -> None:
    labels = ["red", "blue", "yellow"]
    counts = np.array([[9, 1, 0, 2], [0, 7, 0, 0], [1, 0, 5, 1]])

    picture = confusion_matrix_plot(counts, labels, [*labels, "not found"], title="Chain")

    image = _png(picture.data)
    assert image.size == (picture.width, picture.height)
    assert picture.height > 300


def test_confusion_matrix_refuses_labels_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match=r"counts has shape \(2, 2\) for 3 rows and 2 columns"):
        confusion_matrix_plot(np.eye(2, dtype=np.int64), ["a", "b", "c"], ["a", "b"])


def test_trend_has_one_panel_a_goal_laid_out_in_rows() -> None:
    checkpoints = [f"epoch-{n:02d}" for n in range(1, 6)]
    series = [
        TrendSeries("found at least 800 balloons", [600, 700, None, 810, 850], 800, [False, False, None, True, True]),
        TrendSeries("recall at least 80%", [0.6, 0.7, 0.75, 0.81, 0.85], 0.8, as_percent=True),
        TrendSeries("mAP", [0.2, 0.3, 0.35, 0.4, 0.45], None),
        TrendSeries("false alarms at most 1%", [0.05, 0.03, 0.02, 0.01, 0.005], 0.01, as_percent=True),
    ]

    one_row = trend_plot(checkpoints, series[:3])
    two_rows = trend_plot(checkpoints, series)

    assert (one_row.width, one_row.height) == (1380, 380)
    assert (two_rows.width, two_rows.height) == (1380, 720)
    _png(two_rows.data)


def test_trend_refuses_a_goal_with_the_wrong_number_of_values() -> None:
    with pytest.raises(ValueError, match="goal 'recall' has 2 values for 3 checkpoints"):
        trend_plot(["a", "b", "c"], [TrendSeries("recall", [0.1, 0.2], 0.5)])
