"""Preprocessing (colour order, stretch/letterbox, normalisation, layout) and the inverse box mapping,
on non-square pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visionspec.runtime import ChannelOrder, ImageTransform, InputDType, InputSpec, Layout, Preprocessor, ResizeMode


def spec(**overrides: object) -> InputSpec:
    values: dict[str, object] = {"name": "images", "height": 60, "width": 80}
    values.update(overrides)
    return InputSpec(**values)  # type: ignore[arg-type]


def gradient(width: int, height: int) -> Image.Image:
    """Red rises left to right, green top to bottom, blue constant 50."""
    x = np.linspace(0, 255, width).round().astype(np.uint8)
    y = np.linspace(0, 255, height).round().astype(np.uint8)
    pixels = np.stack(np.broadcast_arrays(x[None, :], y[:, None], np.uint8(50)), axis=-1)
    return Image.fromarray(np.ascontiguousarray(pixels))


def test_stretch_maps_a_tall_picture_to_the_input_and_boxes_back_exactly() -> None:
    preprocessor = Preprocessor(spec(resize=ResizeMode.STRETCH))
    array, transform = preprocessor(gradient(30, 120))
    assert array.shape == (3, 60, 80) and array.dtype == np.float32
    assert transform == ImageTransform(width=30, height=120, scale_x=80 / 30, scale_y=0.5)
    boxes = np.array([[3.0, 10.0, 15.0, 100.0], [0.0, 0.0, 30.0, 120.0], [7.25, 33.5, 8.75, 34.0]])
    mapped = transform.to_input(boxes)
    assert mapped[1].tolist() == [0.0, 0.0, 80.0, 60.0]
    np.testing.assert_allclose(transform.to_original(mapped), boxes, rtol=0, atol=1e-12)


def test_letterbox_keeps_the_aspect_ratio_pads_centred_and_boxes_round_trip() -> None:
    preprocessor = Preprocessor(spec(resize=ResizeMode.LETTERBOX, pad_value=114, scale=1.0))
    picture = Image.new("RGB", (40, 10), (200, 10, 30))  # 4:1 in a 4:3 input: 80 x 20, 20 px bands above/below
    array, transform = preprocessor(picture)
    assert transform == ImageTransform(width=40, height=10, scale_x=2.0, scale_y=2.0, pad_x=0, pad_y=20)
    assert array.shape == (3, 60, 80)
    assert (array[:, :20, :] == 114).all() and (array[:, 40:, :] == 114).all()
    assert array[:, 20:40, :].reshape(3, -1).min(axis=1).tolist() == [200, 10, 30]
    boxes = np.array([[0.0, 0.0, 40.0, 10.0], [5.5, 2.25, 12.0, 9.0]])
    mapped = transform.to_input(boxes)
    assert mapped[0].tolist() == [0.0, 20.0, 80.0, 40.0]
    np.testing.assert_allclose(transform.to_original(mapped), boxes, rtol=0, atol=1e-12)


def test_letterbox_of_a_tall_picture_pads_left_and_right_with_whole_pixels() -> None:
    transform = Preprocessor(spec(resize=ResizeMode.LETTERBOX)).transform_for(width=33, height=100)
    # ratio min(80/33, 60/100) = 0.6: 20 x 60 (19.8 rounded), left pad (80 - 20) // 2 = 30
    assert (transform.pad_x, transform.pad_y) == (30, 0)
    assert transform.scale_x == 20 / 33 and transform.scale_y == 0.6
    boxes = np.array([[1.0, 2.0, 32.0, 99.0]])
    np.testing.assert_allclose(transform.to_original(transform.to_input(boxes)), boxes, rtol=0, atol=1e-12)


def test_clip_keeps_boxes_on_the_picture() -> None:
    transform = ImageTransform(width=40, height=10, scale_x=2.0, scale_y=2.0, pad_x=0, pad_y=20)
    in_padding = transform.to_original(np.array([[-4.0, 0.0, 90.0, 30.0]]))
    assert transform.clip(in_padding).tolist() == [[0.0, 0.0, 40.0, 5.0]]


def test_normalisation_per_channel_in_the_cards_channel_order() -> None:
    picture = Image.new("RGB", (80, 60), (255, 128, 0))
    rgb = Preprocessor(spec(scale=1 / 255, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0)))(picture)[0]
    assert rgb[:, 0, 0].tolist() == pytest.approx([1.0, (128 / 255 - 0.25) / 0.25, 0.0], abs=1e-6)
    bgr = Preprocessor(spec(channel_order=ChannelOrder.BGR, scale=1.0))(picture)[0]
    assert bgr[:, 0, 0].tolist() == [0.0, 128.0, 255.0]


def test_nhwc_and_uint8_inputs() -> None:
    picture = gradient(100, 50)
    nhwc = Preprocessor(spec(layout=Layout.NHWC))(picture)[0]
    nchw = Preprocessor(spec(layout=Layout.NCHW))(picture)[0]
    assert nhwc.shape == (60, 80, 3)
    np.testing.assert_array_equal(nhwc.transpose(2, 0, 1), nchw)
    raw = Preprocessor(spec(dtype=InputDType.UINT8, scale=1.0))(picture)[0]
    assert raw.dtype == np.uint8 and raw.shape == (3, 60, 80) and raw.flags.c_contiguous
    np.testing.assert_allclose(raw.astype(np.float32) / 255, nchw, atol=1e-6)


def test_a_picture_of_the_input_size_is_not_resampled() -> None:
    picture = gradient(80, 60)
    array = Preprocessor(spec(scale=1.0))(picture)[0]
    np.testing.assert_array_equal(array.transpose(1, 2, 0), np.asarray(picture).astype(np.float32))


def test_stretch_resamples_like_pillow_bilinear() -> None:
    picture = gradient(123, 45)
    array = Preprocessor(spec(scale=1.0))(picture)[0]
    expected = np.asarray(picture.resize((80, 60), Image.Resampling.BILINEAR)).astype(np.float32)
    np.testing.assert_array_equal(array.transpose(1, 2, 0), expected)
