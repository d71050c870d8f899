"""Image-level figures and counting errors, on a hand-made set of images."""

from __future__ import annotations

import numpy as np
import pytest
from pycoco_reference import annotation_table

from visionspec.detections import Detections
from visionspec.errors import EvaluationError
from visionspec.metrics import counting_errors, image_figures

# Images 1-6. Objects: image 1 has two balloons (class 1), image 2 one balloon and one crowd region,
# image 3 one kite (class 2); images 4, 5, 6 have none.
GROUND_TRUTH = annotation_table(
    [10, 11, 12, 13, 14], [1, 1, 2, 2, 3], [1, 1, 1, 1, 2], np.ones((5, 4)) * 10, iscrowd=[0, 0, 0, 1, 0]
)
IMAGES = [1, 2, 3, 4, 5, 6]
# Detections: image 1 two balloons (0.9, 0.4), image 3 a balloon (0.8), image 4 a balloon (0.7) and a
# kite (0.9), image 5 a balloon (0.2).
DETECTIONS = Detections.build(
    [1, 1, 3, 4, 4, 5], [1, 1, 1, 1, 2, 1], np.ones((6, 4)) * 10, [0.9, 0.4, 0.8, 0.7, 0.9, 0.2]
)


def test_false_alarm_and_found_images_by_hand() -> None:
    figures = image_figures(GROUND_TRUTH, IMAGES, DETECTIONS, score=0.5)
    # Without objects: 4, 5, 6; with a detection >= 0.5: image 4.
    assert (figures.false_alarm_images.successes, figures.false_alarm_images.trials) == (1, 3)
    # With objects: 1, 2, 3; with a detection >= 0.5: 1 and 3.
    assert (figures.found_images.successes, figures.found_images.trials) == (2, 3)


def test_image_figures_for_one_class() -> None:
    figures = image_figures(GROUND_TRUTH, IMAGES, DETECTIONS, score=0.5, category_ids=[1])
    # Balloon-free: 3, 4, 5, 6; with a balloon detection >= 0.5: 3 and 4.
    assert (figures.false_alarm_images.successes, figures.false_alarm_images.trials) == (2, 4)
    assert (figures.found_images.successes, figures.found_images.trials) == (1, 2)


def test_counting_errors_by_hand() -> None:
    errors = counting_errors(GROUND_TRUTH, IMAGES, DETECTIONS, score=0.5, category_ids=[1])
    assert errors.image_ids.tolist() == IMAGES
    assert errors.true_counts.tolist() == [2, 1, 0, 0, 0, 0]  # the crowd region is not counted
    assert errors.predicted_counts.tolist() == [1, 0, 1, 1, 0, 0]
    assert errors.errors.tolist() == [-1, -1, 1, 1, 0, 0]
    assert errors.mean_absolute_error == pytest.approx(4 / 6)
    assert errors.mean_error == 0.0
    assert (errors.exact.successes, errors.exact.trials) == (2, 6)


def test_no_images_is_undefined() -> None:
    empty = annotation_table([], [], [], np.zeros((0, 4)))
    errors = counting_errors(empty, [], Detections.empty(), score=0.5)
    assert (errors.mean_absolute_error, errors.mean_error, errors.exact.value) == (None, None, None)
    figures = image_figures(empty, [], Detections.empty(), score=0.5)
    assert figures.false_alarm_images.value is None and figures.found_images.value is None


def test_detection_on_an_unknown_image_is_an_error() -> None:
    with pytest.raises(EvaluationError, match=r"^detection 0 lies on image 1, which is not one of the 1 images"):
        image_figures(annotation_table([], [], [], np.zeros((0, 4))), [9], DETECTIONS, score=0.5)
