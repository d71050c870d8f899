"""The building blocks of the two networks.

Written out rather than taken from torchvision (``torchvision.ops.misc.Conv2dNormActivation`` is the same
three layers): importing ``torchvision.ops`` pulls in torch's compiler stack and costs about 7 s at every
start of a training run or a test.
"""

from __future__ import annotations

import torch.nn.functional as F  # noqa: N812 (the conventional name)
from torch import Tensor, nn


def conv_bn_relu(channels_in: int, channels_out: int, *, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """A same-padded convolution without bias, batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class Residual(nn.Module):
    """Two 3x3 convolutions with batch norm, added to the input, then ReLU (ResNet's basic block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.first = conv_bn_relu(channels, channels)
        self.second = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, features: Tensor) -> Tensor:
        """Same shape out as in."""
        return F.relu(features + self.second(self.first(features)))
