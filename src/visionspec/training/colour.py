"""The balloon colour model: a small convolutional classifier of balloon crops into colours."""

from __future__ import annotations

from torch import Tensor, nn

from visionspec.training.layers import conv_bn_relu


class ColourClassifier(nn.Module):
    """Four 3x3 conv layers (the first with stride 2), two 2x poolings, global average pooling, a linear layer.

    About 95k weights and 5.5M multiply-adds a 32x32 crop (a net with full-resolution first layers trained
    six times slower on CPU for no gain on colours). Averaging over the whole crop makes the verdict rest
    on the balloon's body and on the bit of background in the crop's corners, which carries the scene's
    colour cast.

    Example:
        >>> import torch
        >>> ColourClassifier(classes=8).eval()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 8])
    """

    def __init__(self, classes: int, widths: tuple[int, int, int, int] = (24, 48, 64, 96)) -> None:
        super().__init__()
        first, second, third, fourth = widths
        self.features = nn.Sequential(
            conv_bn_relu(3, first, stride=2),
            conv_bn_relu(first, second),
            nn.MaxPool2d(2),
            conv_bn_relu(second, third),
            nn.MaxPool2d(2),
            conv_bn_relu(third, fourth),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classify = nn.Linear(fourth, classes)

    def forward(self, crops: Tensor) -> Tensor:
        """(N, C) logits of (N, 3, H, W) normalised crops."""
        logits: Tensor = self.classify(self.features(crops))
        return logits
