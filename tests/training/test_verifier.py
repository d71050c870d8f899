"""The detector's second stage: where its crops come from, how candidates are labelled, how it rescores."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionspec.runtime.card import InputSpec  # noqa: E402
from visionspec.runtime.preprocess import ImageTransform  # noqa: E402
from visionspec.training.candidates import mine_crops  # noqa: E402
from visionspec.training.data import PlacedImages  # noqa: E402
from visionspec.training.detector import BalloonDetector, DetectorShape  # noqa: E402
from visionspec.training.verifier import CROP_DROP, CROP_EXTENT, sample_crops  # noqa: E402

pytestmark = pytest.mark.train

SPEC = InputSpec(name="images", height=64, width=64)


def _ramps(height: int = 64, width: int = 64) -> torch.Tensor:
    """One picture whose channel 0 holds each pixel's x, channel 1 its y (channel 2 zero)."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                            indexing="ij")
    return torch.stack([xs, ys, torch.zeros_like(xs)]).unsqueeze(0)


def test_a_crop_is_a_square_around_the_box_moved_down_towards_the_string() -> None:
    box = [20.0, 10.0, 30.0, 30.0]  # 10 wide, 20 high: the square's side is 1.8 x 20 = 36 px

    crop = sample_crops(_ramps(), torch.tensor([[box]]), size=8)[0]

    side = CROP_EXTENT * 20
    centre_x, centre_y = 25.0, 20.0 + CROP_DROP * 20
    steps = (np.arange(8) + 0.5) / 8 - 0.5
    # bilinear sampling of a ramp reads back the position (pixel i's centre lies at i + 0.5)
    np.testing.assert_allclose(crop[0, 3].numpy(), centre_x + side * steps - 0.5, atol=1e-4)
    np.testing.assert_allclose(crop[1, :, 3].numpy(), centre_y + side * steps - 0.5, atol=1e-4)


def test_crops_come_picture_by_picture_box_by_box_and_are_zero_past_the_edge() -> None:
    pictures = torch.stack([torch.full((3, 32, 32), 1.0), torch.full((3, 32, 32), 2.0)])
    boxes = torch.tensor([[[4.0, 4, 12, 12], [10, 10, 20, 20], [14, 14, 18, 18]]] * 2)
    corner = torch.tensor([[[-30.0, -30, -20, -20]]])

    crops = sample_crops(pictures, boxes, size=4)

    assert tuple(crops.shape) == (6, 3, 4, 4)
    assert crops[:3].eq(1.0).all() and crops[3:].eq(2.0).all()
    assert sample_crops(pictures[:1], corner, size=4).eq(0.0).all()


class _Candidates(BalloonDetector):
    """A detector whose first stage answers with fixed candidates."""

    def __init__(self, boxes: list[list[float]], scores: list[float]) -> None:
        super().__init__(DetectorShape(height=64, width=64, max_detections=len(scores)))
        self.fixed = torch.tensor([boxes]), torch.tensor([scores]), torch.zeros(1, len(scores), dtype=torch.int64)

    def candidates(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.fixed


def test_mining_labels_candidates_by_overlap_and_adds_the_objects() -> None:
    balloon = [10.0, 10.0, 30.0, 34.0]
    picture = PlacedImages(np.zeros((1, 64, 64, 3), np.uint8), (np.array([balloon]),), (np.array([0]),),
                           (ImageTransform(64, 64, 1.0, 1.0),), np.arange(1))
    detector = _Candidates(
        [balloon, [40.0, 40, 60, 60], [14.0, 10, 34, 34], [0.0, 40, 20, 60]],
        # found (IoU 1), false alarm (IoU 0), loose (IoU 0.67: a balloon), too weak to mine
        [0.9, 0.5, 0.3, 0.1],
    )

    crops = mine_crops(detector, picture, SPEC, seed=0)

    assert crops.mined == 3
    assert crops.labels.tolist() == [1.0, 0.0, 1.0, 1.0]  # the three mined, then the jittered object
    assert crops.negatives == 1
    assert tuple(crops.crops.shape) == (4, 3, 32, 32)


def test_mining_leaves_out_candidates_neither_found_nor_false() -> None:
    balloon = [10.0, 10.0, 30.0, 30.0]
    picture = PlacedImages(np.zeros((1, 64, 64, 3), np.uint8), (np.array([balloon]),), (np.array([0]),),
                           (ImageTransform(64, 64, 1.0, 1.0),), np.arange(1))
    half_over = [20.0, 10.0, 40.0, 30.0]  # IoU 1/3: neither a balloon nor a false alarm

    crops = mine_crops(_Candidates([half_over], [0.8]), picture, SPEC, seed=0)

    assert (crops.mined, crops.labels.tolist()) == (0, [1.0])


def test_the_verifying_graph_multiplies_scores_by_the_verifier_and_sorts_again() -> None:
    torch.manual_seed(0)
    detector = BalloonDetector(DetectorShape(height=64, width=64, max_detections=6)).eval()
    pictures = torch.rand(2, 3, 64, 64)

    with torch.no_grad():
        boxes, scores, _ = detector.candidates(pictures)
        probabilities = detector.verifier.probabilities(pictures, boxes)
        detector.verifying = True
        verified_boxes, verified_scores, _ = detector(pictures)

    expected, order = torch.sort(scores * probabilities, dim=1, descending=True)
    torch.testing.assert_close(verified_scores, expected)
    torch.testing.assert_close(verified_boxes, boxes.gather(1, order.unsqueeze(2).expand(-1, -1, 4)))
