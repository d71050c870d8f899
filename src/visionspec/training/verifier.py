"""The detector's second stage: a small classifier that looks again at each candidate box, balloon or not.

The heatmap scores a cell from features at stride 4; red balls, apples and low suns of a balloon's size
score as high as a small or half-hidden balloon. The verifier cuts each candidate out of the input
picture itself, scale-normalised (a square around the box, ``CROP_EXTENT`` times its longer side, moved
down a little so the knot and the top of the string are in view), and decides from those pixels. The
detector's final score is the heatmap's score times the verifier's probability.

``sample_crops`` cuts the crops with ``grid_sample``, one sampling grid per picture holding all its
candidates stacked, so the same function runs in training (torch) and inside the exported graph (ONNX
``GridSample``), and the verifier trains on exactly the pixels it is given at inference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the conventional name)
from torch import Tensor, nn

from visionspec.training.layers import conv_bn_relu

CROP_PIXELS = 32
"""Side of a verifier crop, in pixels."""

CROP_EXTENT = 1.8
"""Side of the square cut around a box, as a multiple of the box's longer side."""

CROP_DROP = 0.15
"""The square's centre lies this share of the box height below the box's centre (knot and string)."""


def sample_crops(images: Tensor, boxes: Tensor, *, size: int = CROP_PIXELS) -> Tensor:
    """Cut a square crop around every box, resampled bilinearly to ``size`` x ``size`` (zeros past the edge).

    Args:
        images: (N, 3, H, W) normalised input.
        boxes: (N, K, 4) xyxy in input pixels.
        size: crop side in pixels.

    Returns:
        (N * K, 3, size, size) crops, picture by picture, box by box.

    Example:
        >>> crops = sample_crops(torch.zeros(2, 3, 64, 64), torch.tensor([[[8.0, 8, 24, 30]] * 3] * 2))
        >>> tuple(crops.shape)
        (6, 3, 32, 32)
    """
    height, width = images.shape[2], images.shape[3]
    boxes_per_image = boxes.shape[1]
    side = torch.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]) * CROP_EXTENT
    centre_x = (boxes[..., 0] + boxes[..., 2]) / 2
    centre_y = (boxes[..., 1] + boxes[..., 3]) / 2 + CROP_DROP * (boxes[..., 3] - boxes[..., 1])
    steps = (torch.arange(size, dtype=images.dtype) + 0.5) / size - 0.5  # pixel centres across the crop
    # normalised coordinates (align_corners=False): input pixel x maps to 2x / W - 1
    xs = (centre_x.unsqueeze(2) + side.unsqueeze(2) * steps) * (2.0 / width) - 1.0  # (N, K, size)
    ys = (centre_y.unsqueeze(2) + side.unsqueeze(2) * steps) * (2.0 / height) - 1.0
    grid = torch.stack(
        [xs.unsqueeze(2).expand(-1, -1, size, -1), ys.unsqueeze(3).expand(-1, -1, -1, size)], dim=4
    )  # (N, K, size rows, size columns, xy)
    stacked = F.grid_sample(images, grid.reshape(-1, boxes_per_image * size, size, 2), mode="bilinear",
                            padding_mode="zeros", align_corners=False)  # (N, 3, K * size, size)
    crops = stacked.reshape(-1, 3, boxes_per_image, size, size).transpose(1, 2)
    return crops.reshape(-1, 3, size, size)


class CropVerifier(nn.Module):
    """Four 3x3 conv layers with 2x poolings between, global average pooling, one logit (balloon or not).

    47k weights and about 3M multiply-adds a 32x32 crop: verifying the 32 candidates of a picture adds
    about 30% to the detector's inference time (``bench/bench_stages.py``).

    Example:
        >>> CropVerifier().eval()(torch.zeros(5, 3, 32, 32)).shape
        torch.Size([5])
    """

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 48, 64)) -> None:
        super().__init__()
        first, second, third, fourth = widths
        self.features = nn.Sequential(
            conv_bn_relu(3, first),
            nn.MaxPool2d(2),
            conv_bn_relu(first, second),
            nn.MaxPool2d(2),
            conv_bn_relu(second, third),
            nn.MaxPool2d(2),
            conv_bn_relu(third, fourth),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.logit = nn.Linear(fourth, 1)

    def forward(self, crops: Tensor) -> Tensor:
        """(M,) logits of (M, 3, H, W) crops: above 0 says balloon."""
        logits: Tensor = self.logit(self.features(crops)).squeeze(1)
        return logits

    def probabilities(self, images: Tensor, boxes: Tensor) -> Tensor:
        """(N, K) probability that each of the (N, K, 4) xyxy boxes holds a balloon."""
        return torch.sigmoid(self(sample_crops(images, boxes))).reshape(boxes.shape[0], boxes.shape[1])
