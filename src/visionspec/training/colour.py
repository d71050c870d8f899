"""The balloon colour model: a small convolutional classifier of balloon crops into colours."""

from __future__ import annotations

from torch import Tensor, nn

from visionspec.training.layers import conv_bn_relu


class ColourClassifier(nn.Module):
    """Five 3x3 conv layers with two 2x poolings, global average pooling and a linear layer: ~120k weights.

    Averaging over the whole crop makes the verdict rest on the balloon's body and on the bit of sky in
    the crop's corners, which carries the scene's colour cast.

    Example:
        >>> import torch
        >>> ColourClassifier(classes=8).eval()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 8])
    """

    def __init__(self, classes: int, widths: tuple[int, int, int] = (32, 64, 96)) -> None:
        super().__init__()
        first, second, third = widths
        self.features = nn.Sequential(
            conv_bn_relu(3, first),
            conv_bn_relu(first, first),
            nn.MaxPool2d(2),
            conv_bn_relu(first, second),
            conv_bn_relu(second, second),
            nn.MaxPool2d(2),
            conv_bn_relu(second, third),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classify = nn.Linear(third, classes)

    def forward(self, crops: Tensor) -> Tensor:
        """(N, C) logits of (N, 3, H, W) normalised crops."""
        logits: Tensor = self.classify(self.features(crops))
        return logits
