"""Opening an image file as the RGB picture every model and metric in visionspec sees.

What ``open_image`` does with each kind of input:

- EXIF orientation is applied (the picture is turned the way a viewer shows it), then the tag is dropped.
- Grayscale (``L``, ``1``), palette (``P``), ``CMYK``, ``YCbCr`` and other modes become RGB by Pillow's
  own conversion.
- Transparency (``RGBA``, ``LA``, ``PA``, a palette with a transparent colour) is composited onto
  white, as a viewer shows it on a page; simply dropping alpha would expose whatever colour the
  transparent pixels happen to store (often black).
- 16-bit grayscale (``I;16`` family, and ``I`` which Pillow uses for some 16-bit files) is scaled to
  8 bits as ``round(v * 255 / 65535)``; Pillow's own conversion would clip everything above 255 to
  white. ``F`` (float) is taken as 0..255 and clipped.

Every failure is a ``DatasetError`` naming the file and the fix. The function is thread-safe; the
inference pipeline calls it from worker threads.
"""

from __future__ import annotations

import struct
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visionspec.errors import DatasetError

_WHITE = (255, 255, 255)
_ORIENTATION = 0x0112  # the EXIF tag
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
# ``warnings.catch_warnings`` swaps process-wide state, so concurrent uses must not interleave. Only the
# header parse runs under the lock; decoding, the slow part, runs in parallel.
_WARNINGS_LOCK = threading.Lock()


def open_image(path: Path) -> Image.Image:
    """Open ``path`` as a fully decoded RGB image, upright according to its EXIF orientation.

    Args:
        path: the image file.

    Returns:
        A new ``RGB`` image, detached from the file.

    Raises:
        DatasetError: the file is missing, not an image, truncated or corrupt, or larger than
            Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).

    Example:
        >>> picture = open_image(Path("datasets/12345/images/000001.jpg"))  # doctest: +SKIP
        >>> picture.mode
        'RGB'
    """
    image = _open(path)
    try:
        try:
            image.load()
            # Transposing copies the picture; skip it for the usual upright file.
            orientation = image.getexif().get(_ORIENTATION, 1)
            upright = image if orientation in (1, None) else ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
            raise DatasetError(_corrupt(path, err)) from err
        return to_rgb(upright)
    finally:
        image.close()


def _open(path: Path) -> Image.Image:
    """Identify the file (header only), with the decompression-bomb warning turned into an error."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except FileNotFoundError as err:
        raise DatasetError(f"{path}: image file not found; fix: restore the file, or rebuild or re-import "
                           "the data set") from err
    except IsADirectoryError as err:
        raise DatasetError(f"{path}: is a folder, not an image file; fix: point file_name at the image") from err
    except UnidentifiedImageError as err:
        raise DatasetError(f"{path}: not an image file Pillow can read; fix: replace it with a JPEG or PNG "
                           "image, or remove it from the annotations") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DatasetError(
            f"{path}: the image is larger than Pillow's decompression-bomb limit of {Image.MAX_IMAGE_PIXELS} "
            f"pixels ({err}); fix: downscale the image, or raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted"
        ) from err
    except PermissionError as err:
        raise DatasetError(f"{path}: cannot be read ({err}); fix: check the file's permissions") from err
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:  # a header cut short or garbled
        raise DatasetError(_corrupt(path, err)) from err


def _corrupt(path: Path, err: BaseException) -> str:
    """The message for a truncated or corrupt image."""
    return (f"{path}: the image is truncated or corrupt ({err}); fix: replace the file, or rebuild or re-import the "
            "data set")


def to_rgb(image: Image.Image) -> Image.Image:
    """A new RGB copy of an already loaded ``image`` (the rules of the module docstring)."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.int64)
        scaled = (np.clip(values, 0, 65535) * 255 + 32767) // 65535
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if mode == "F":
        values = np.clip(np.rint(np.asarray(image)), 0, 255)
        return Image.fromarray(values.astype(np.uint8)).convert("RGB")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
