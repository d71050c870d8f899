"""``open_image``: every image kind decodes to the right RGB pixels; every bad file is a clear DatasetError."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from datasets_testkit import make_image
from PIL import Image

from visionspec.datasets import open_image
from visionspec.errors import DatasetError


def _jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "images" / "gone.jpg"
    with pytest.raises(DatasetError, match=r"gone.jpg: image file not found; fix: restore the file"):
        open_image(path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"notes.jpg: not an image file Pillow can read; fix: replace it"):
        open_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(_jpeg_bytes()[:400])
    with pytest.raises(DatasetError, match=r"cut.jpg: the image is truncated or corrupt \(.*\); fix: replace the file"):
        open_image(path)


def test_truncated_png(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DatasetError, match=r"cut.png: the image is truncated or corrupt"):
        open_image(path)


def test_corrupt_jpeg_header(tmp_path: Path) -> None:
    data = bytearray(_jpeg_bytes())
    data[2:60] = b"\x00" * 58  # keep the JPEG signature, destroy the segments after it
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"corrupt.jpg: (not an image file|the image is truncated or corrupt)"):
        open_image(path)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").mkdir()
    with pytest.raises(DatasetError, match=r"a.jpg: is a folder, not an image file"):
        open_image(tmp_path / "a.jpg")


def test_over_the_bomb_warning_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_IMAGE_PIXELS Pillow only warns; visionspec refuses."""
    path = make_image(tmp_path / "big.png", (100, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6_000)  # 10,000 pixels: over the limit, under twice it
    with pytest.raises(DatasetError, match=r"big.png: the image is larger than Pillow's decompression-bomb limit "
                                           r"of 6000 pixels .*fix: downscale the image"):
        open_image(path)


def test_over_the_bomb_error_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_image(tmp_path / "huge.png", (100, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    with pytest.raises(DatasetError, match=r"huge.png: the image is larger than Pillow's decompression-bomb limit"):
        open_image(path)


def test_bomb_check_leaves_warning_filters_alone(tmp_path: Path) -> None:
    import warnings

    before = list(warnings.filters)
    open_image(make_image(tmp_path / "a.png"))
    assert warnings.filters == before


def test_rgb_png_pixels(tmp_path: Path) -> None:
    image = open_image(make_image(tmp_path / "a.png", (5, 4), (10, 20, 30)))
    assert image.mode == "RGB" and image.size == (5, 4)
    assert image.getpixel((4, 3)) == (10, 20, 30)


def test_grayscale(tmp_path: Path) -> None:
    path = tmp_path / "gray.png"
    Image.fromarray(np.array([[0, 77], [200, 255]], dtype=np.uint8), mode="L").save(path)
    image = open_image(path)
    assert image.mode == "RGB"
    assert np.asarray(image).tolist() == [[[0, 0, 0], [77, 77, 77]], [[200, 200, 200], [255, 255, 255]]]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    pixels = np.array([[[255, 0, 0, 255], [0, 0, 0, 0], [0, 0, 255, 128]]], dtype=np.uint8)
    Image.fromarray(pixels, mode="RGBA").save(path)
    values = np.asarray(open_image(path)).tolist()[0]
    assert values[0] == [255, 0, 0]  # opaque: unchanged
    assert values[1] == [255, 255, 255]  # transparent black shows as white, not black
    assert values[2][2] == 255 and 125 <= values[2][0] <= 128  # half blue over white


def test_palette(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 128, 255] + [0] * 762)
    image.putdata([1, 0])
    image.save(path)
    assert np.asarray(open_image(path)).tolist() == [[[0, 128, 255], [255, 0, 0]]]


def test_palette_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette-t.png"
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    image.putdata([0, 1])
    image.save(path, transparency=0)
    assert np.asarray(open_image(path)).tolist() == [[[255, 255, 255], [0, 200, 0]]]


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    values = np.array([[0, 257, 32_896, 65_535]], dtype=np.uint16)
    Image.fromarray(values).save(path)  # a 16-bit grayscale PNG
    assert Image.open(path).mode.startswith("I")
    image = open_image(path)
    assert np.asarray(image)[0, :, 0].tolist() == [0, 1, 128, 255]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(path, quality=100)
    red, green, blue = open_image(path).getpixel((1, 1))  # type: ignore[misc]
    assert red > 240 and green < 15 and blue < 15


def test_exif_rotated_image_is_upright(tmp_path: Path) -> None:
    """Orientation 6: the stored picture is turned 90° clockwise for display."""
    stored = np.zeros((2, 3, 3), dtype=np.uint8)  # 3 wide, 2 high as stored
    stored[0, 0] = (255, 0, 0)  # red in the stored top-left corner
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.png"
    image.save(path, exif=exif)
    upright = open_image(path)
    assert upright.size == (2, 3)  # width and height swapped
    assert upright.getpixel((1, 0)) == (255, 0, 0)  # stored top-left is now top-right
    assert upright.getexif().get(0x0112) is None


def test_thread_safe(tmp_path: Path) -> None:
    paths = [make_image(tmp_path / f"{i}.png", (8, 8), (i, 2 * i, 3 * i)) for i in range(40)]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"junk")

    def colour_or_error(path: Path) -> object:
        try:
            return open_image(path).getpixel((0, 0))
        except DatasetError as err:
            return type(err)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(colour_or_error, [*paths, bad] * 3))
    assert results[:40] == [(i, 2 * i, 3 * i) for i in range(40)]
    assert results[40] is DatasetError and results == results[:41] * 3
