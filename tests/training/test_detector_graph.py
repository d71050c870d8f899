"""The detector's in-graph decode and its CenterNet targets and loss, on hand-made heads."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionspec.training.centres import centre_loss, encode_targets  # noqa: E402
from visionspec.training.detector import BalloonDetector, DetectorShape, decode, suppress_overlaps  # noqa: E402

pytestmark = pytest.mark.train


def _heads(grid: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Heads of one image: a background of -10 logits, zero log sizes and offsets."""
    return torch.full((1, 1, grid, grid), -10.0), torch.zeros(1, 2, grid, grid), torch.zeros(1, 2, grid, grid)


def test_decode_turns_a_peak_into_a_box_in_input_pixels() -> None:
    heat, sizes, offsets = _heads()
    heat[0, 0, 2, 5] = 2.0
    sizes[0, :, 2, 5] = torch.tensor([math.log(3.0), math.log(2.0)])  # 3 x 2 cells = 12 x 8 px
    offsets[0, :, 2, 5] = torch.tensor([0.5, 0.25])

    boxes, scores, labels = decode(heat, sizes, offsets, input_size=(32, 32), max_detections=3)

    # centre ((5 + 0.5) * 4, (2 + 0.25) * 4) = (22, 9)
    assert boxes[0, 0].tolist() == pytest.approx([16.0, 5.0, 28.0, 13.0])
    assert scores[0, 0].item() == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert labels.dtype == torch.int64
    assert labels[0].tolist() == [0, 0, 0]
    assert tuple(boxes.shape) == (1, 3, 4)


def test_decode_keeps_only_local_maxima() -> None:
    heat, sizes, offsets = _heads()
    heat[0, 0, 6, 1] = 0.5
    heat[0, 0, 6, 2] = 0.4  # beside a higher cell: not a peak

    _, scores, _ = decode(heat, sizes, offsets, input_size=(32, 32), max_detections=2)

    assert scores[0, 0].item() == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert scores[0, 1].item() < 1e-4  # the next slot is a background cell, not the 0.4 neighbour


def test_decode_clips_boxes_to_the_input_and_labels_by_class_channel() -> None:
    heat = torch.full((1, 2, 8, 8), -10.0)
    sizes, offsets = torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8)
    heat[0, 1, 0, 0] = 3.0  # class 1, top-left cell
    sizes[0, :, 0, 0] = math.log(4.0)  # 16 x 16 px centred at (0, 0)

    boxes, _, labels = decode(heat, sizes, offsets, input_size=(32, 32), max_detections=1)

    assert boxes[0, 0].tolist() == [0.0, 0.0, 8.0, 8.0]
    assert labels[0, 0].item() == 1


def test_weaker_overlapping_boxes_of_a_class_are_dropped() -> None:
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [0.0, 0.0, 10.0, 10.0],
                           [20.0, 20.0, 30.0, 30.0]]])
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6]])
    labels = torch.tensor([[0, 0, 1, 0]])

    kept_boxes, kept_scores, kept_labels = suppress_overlaps(boxes, scores, labels, iou_threshold=0.6)

    # slot 1 overlaps slot 0 (same class) by IoU 9/11; slot 2 is another class; slot 3 overlaps nothing
    assert kept_scores.tolist() == [[pytest.approx(0.9), pytest.approx(0.7), pytest.approx(0.6), 0.0]]
    assert kept_labels.tolist() == [[0, 1, 0, 0]]
    assert kept_boxes[0, 3].tolist() == [1.0, 0.0, 11.0, 10.0]
    assert suppress_overlaps(boxes, scores, labels, iou_threshold=0.85)[1].tolist()[0][3] == pytest.approx(0.6)


def test_detector_outputs_fixed_k_boxes_per_image() -> None:
    model = BalloonDetector(DetectorShape(height=64, width=96, max_detections=7)).eval()
    with torch.no_grad():
        boxes, scores, labels = model(torch.rand(3, 3, 64, 96))
    assert tuple(boxes.shape) == (3, 7, 4)
    assert tuple(scores.shape) == (3, 7)
    assert tuple(labels.shape) == (3, 7)
    assert bool((scores[:, :-1] >= scores[:, 1:]).all())
    assert float(boxes[..., 2].max()) <= 96.0
    assert float(boxes[..., 3].max()) <= 64.0


def test_mirror_averaging_answers_a_mirrored_picture_with_mirrored_boxes() -> None:
    torch.manual_seed(0)
    shape = DetectorShape(height=64, width=64, max_detections=5)
    picture = torch.rand(1, 3, 64, 64)
    mirrored_picture = torch.flip(picture, dims=[3])
    averaged, plain = BalloonDetector(shape).eval(), BalloonDetector(DetectorShape(64, 64, max_detections=5,
                                                                                   mirror_average=False)).eval()
    plain.load_state_dict(averaged.state_dict())

    with torch.no_grad():
        boxes, scores, _ = averaged(picture)
        mirrored_boxes, mirrored_scores, _ = averaged(mirrored_picture)
        plain_scores, plain_mirrored_scores = plain(picture)[1], plain(mirrored_picture)[1]

    assert torch.equal(scores, mirrored_scores)
    expected = torch.stack([64 - boxes[..., 2], boxes[..., 1], 64 - boxes[..., 0], boxes[..., 3]], dim=2)
    assert torch.allclose(mirrored_boxes, expected, atol=1e-4)
    assert not torch.equal(plain_scores, plain_mirrored_scores)  # a network alone is not mirror-symmetric


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({"height": 100}, "detector input 100x256 must be a multiple of 32 on both axes"),
        ({"height": 32, "width": 32, "max_detections": 65}, "max_detections 65 must be from 1 to the number"),
    ],
)
def test_detector_shape_rejects_impossible_sizes(shape: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DetectorShape(**shape)


def test_targets_put_a_unit_peak_on_the_centre_cell() -> None:
    boxes = [np.array([[8.0, 12.0, 24.0, 30.0]]), np.zeros((0, 4))]
    labels = [np.array([0]), np.zeros(0, dtype=np.int64)]

    targets = encode_targets(boxes, labels, grid=(16, 16), stride=4, num_classes=1)

    # centre (16, 21) px = (4, 5.25) cells; 4 x 4.5 cells
    assert targets.heatmap.shape == (2, 1, 16, 16)
    assert targets.heatmap[0, 0, 5, 4].item() == 1.0
    assert int(targets.heatmap.eq(1.0).sum()) == 1
    assert 0.0 < targets.heatmap[0, 0, 5, 5].item() < 1.0  # the bump spreads to neighbours
    assert targets.cells[0].tolist() == [5 * 16 + 4]
    assert targets.log_sizes[0, 0].tolist() == pytest.approx([math.log(4.0), math.log(4.5)])
    assert targets.offsets[0, 0].tolist() == pytest.approx([0.0, 0.25])
    assert targets.present.tolist() == [[1.0], [0.0]]
    assert float(targets.heatmap[1].sum()) == 0.0


def test_loss_is_small_for_the_right_heads_and_large_for_wrong_ones() -> None:
    boxes = [np.array([[8.0, 12.0, 24.0, 30.0]])]
    targets = encode_targets(boxes, [np.array([0])], grid=(16, 16), stride=4, num_classes=1)
    right_heat = torch.full((1, 1, 16, 16), -12.0)
    right_heat[0, 0, 5, 4] = 12.0
    sizes = torch.zeros(1, 2, 16, 16)
    sizes[0, :, 5, 4] = targets.log_sizes[0, 0]
    offsets = torch.zeros(1, 2, 16, 16)
    offsets[0, :, 5, 4] = targets.offsets[0, 0]

    right = centre_loss(right_heat, sizes, offsets, targets)
    wrong = centre_loss(-right_heat, torch.zeros(1, 2, 16, 16), torch.zeros(1, 2, 16, 16), targets)

    assert right.total.item() < 1e-3
    assert right.size == pytest.approx(0.0, abs=1e-7)
    assert right.offset == pytest.approx(0.0, abs=1e-7)
    assert wrong.heatmap > 10.0
    assert wrong.size == pytest.approx((math.log(4.0) + math.log(4.5)) / 2)
