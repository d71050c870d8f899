"""The one building block both networks share.

Written out rather than taken from torchvision (``torchvision.ops.misc.Conv2dNormActivation`` is the same
three layers): importing ``torchvision.ops`` pulls in torch's compiler stack and costs about 7 s at every
start of a training run or a test.
"""

from __future__ import annotations

from torch import nn


def conv_bn_relu(channels_in: int, channels_out: int, *, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """A same-padded convolution without bias, batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )
