"""Preprocessing: an RGB picture to a model input tensor, and model-input boxes back to picture pixels.

Coordinates are continuous pixel edges: ``x = 0`` is the left edge of the first column and ``x = width`` the
right edge of the last, so a stretch maps ``x`` to ``x * input_width / width`` exactly, the same convention
as Pillow's (and torchvision's) bilinear resize with ``align_corners=False``.

Letterbox keeps the aspect ratio: the picture is scaled by ``min(W / w, H / h)``, rounded to whole pixels
per axis, and pasted centred on a canvas of ``pad_value`` (the offsets are whole pixels, the left/top one
rounded down), as YOLO exports expect.

Native (``resize: native``) keeps every picture at its own size: it is placed at the top left of a canvas of
``pad_value`` whose sides are rounded up to the card's ``multiple`` (fully convolutional models), so the
tensor's size varies from picture to picture and boxes map back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from visionspec.runtime.card import ChannelOrder, InputDType, InputSpec, Layout, ResizeMode


@dataclass(frozen=True)
class ImageTransform:
    """How one picture was placed in the model input: ``input = original * scale + pad`` per axis.

    Attributes:
        width: picture width in pixels.
        height: picture height in pixels.
        scale_x: input pixels per picture pixel, horizontally.
        scale_y: input pixels per picture pixel, vertically.
        pad_x: left padding in input pixels.
        pad_y: top padding in input pixels.
    """

    width: int
    height: int
    scale_x: float
    scale_y: float
    pad_x: int = 0
    pad_y: int = 0

    def to_input(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map (N, 4) xyxy boxes from picture pixels to model-input pixels."""
        return boxes * self._scales() + self._offsets()

    def to_original(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map (N, 4) xyxy boxes from model-input pixels to picture pixels (not clipped)."""
        return (boxes - self._offsets()) / self._scales()

    def clip(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Clip (N, 4) xyxy boxes in picture pixels to the picture."""
        limits = np.array([self.width, self.height, self.width, self.height], dtype=np.float64)
        return np.clip(boxes, 0.0, limits)

    def _scales(self) -> NDArray[np.float64]:
        """Per-coordinate scale of an xyxy box."""
        return np.array([self.scale_x, self.scale_y, self.scale_x, self.scale_y], dtype=np.float64)

    def _offsets(self) -> NDArray[np.float64]:
        """Per-coordinate offset of an xyxy box."""
        return np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], dtype=np.float64)


class Preprocessor:
    """Turns RGB pictures into one image's slice of the model input, as the card says.

    Thread-safe (no mutable state): the inference pipeline calls it on worker threads.

    Example:
        >>> spec = InputSpec(name="images", height=64, width=96)
        >>> array, transform = Preprocessor(spec)(Image.new("RGB", (48, 64)))
        >>> array.shape, array.dtype.name, transform.scale_x, transform.scale_y
        ((3, 64, 96), 'float32', 2.0, 1.0)
    """

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        # (pixel * scale - mean) / std == pixel * gain + bias, one fused multiply-add per element
        std = np.array(spec.std, dtype=np.float64)
        self._gain = (spec.scale / std).astype(np.float32)
        self._bias = (-np.array(spec.mean, dtype=np.float64) / std).astype(np.float32)
        self._unit_gain = bool(np.all(self._gain == 1.0))
        self._zero_bias = bool(np.all(self._bias == 0.0))

    def shape_for(self, width: int, height: int) -> tuple[int, int, int]:
        """Shape of the input slice (no batch axis) of a ``width`` x ``height`` picture."""
        target_w, target_h = self.input_size(width, height)
        return (3, target_h, target_w) if self.spec.layout is Layout.NCHW else (target_h, target_w, 3)

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """The model input's (width, height) for a ``width`` x ``height`` picture."""
        if self.spec.height is None or self.spec.width is None:  # resize native
            multiple = self.spec.multiple
            return -(-width // multiple) * multiple, -(-height // multiple) * multiple
        return self.spec.width, self.spec.height

    @property
    def dtype(self) -> type[np.float32] | type[np.uint8]:
        """Element type of the input tensor."""
        return np.uint8 if self.spec.dtype is InputDType.UINT8 else np.float32

    def transform_for(self, width: int, height: int) -> ImageTransform:
        """The placement of a ``width`` x ``height`` picture in the model input."""
        target_w, target_h = self.input_size(width, height)
        if self.spec.resize is ResizeMode.NATIVE:
            return ImageTransform(width, height, 1.0, 1.0)
        if self.spec.resize is ResizeMode.STRETCH:
            return ImageTransform(width, height, target_w / width, target_h / height)
        ratio = min(target_w / width, target_h / height)
        new_w = min(target_w, max(1, round(width * ratio)))
        new_h = min(target_h, max(1, round(height * ratio)))
        return ImageTransform(width, height, new_w / width, new_h / height, (target_w - new_w) // 2,
                              (target_h - new_h) // 2)

    def __call__(self, image: Image.Image) -> tuple[NDArray[np.float32] | NDArray[np.uint8], ImageTransform]:
        """Resize, reorder and normalise one RGB picture.

        Returns:
            The image's slice of the input tensor (``shape``, ``dtype``) and its transform.
        """
        transform = self.transform_for(image.width, image.height)
        pixels = self._placed_pixels(image, transform)
        if self.spec.channel_order is ChannelOrder.BGR:
            pixels = pixels[..., ::-1]
        if self.spec.dtype is InputDType.UINT8:
            ordered = pixels.transpose(2, 0, 1) if self.spec.layout is Layout.NCHW else pixels
            return np.ascontiguousarray(ordered), transform
        if self.spec.layout is Layout.NHWC:
            values = pixels.astype(np.float32)
            if not self._unit_gain:
                values *= self._gain
            if not self._zero_bias:
                values += self._bias
            return values, transform
        # one channel at a time, straight into the contiguous CHW output: 4x cheaper than converting the
        # transposed view and normalising it in two more passes (measured: 0.35 vs 1.4 ms at 256 x 256)
        planes = np.empty((3, *pixels.shape[:2]), dtype=np.float32)
        for channel in range(3):
            plane = planes[channel]
            np.multiply(pixels[..., channel], self._gain[channel], out=plane, dtype=np.float32)
            if not self._zero_bias:  # the common 0..1 input (scale 1/255, mean 0, std 1) needs one pass only
                np.add(plane, self._bias[channel], out=plane)
        return planes, transform

    def _placed_pixels(self, image: Image.Image, transform: ImageTransform) -> NDArray[np.uint8]:
        """(H, W, 3) uint8 pixels of the picture placed in the input frame."""
        target = self.input_size(image.width, image.height)
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size == target:
            return np.asarray(image)
        if self.spec.resize is ResizeMode.STRETCH:
            return np.asarray(image.resize(target, Image.Resampling.BILINEAR))
        new_size = (round(transform.scale_x * image.width), round(transform.scale_y * image.height))
        canvas = np.full((target[1], target[0], 3), self.spec.pad_value, dtype=np.uint8)
        resized = np.asarray(image if new_size == image.size else image.resize(new_size, Image.Resampling.BILINEAR))
        top, left = transform.pad_y, transform.pad_x
        canvas[top : top + new_size[1], left : left + new_size[0]] = resized
        return canvas
