"""The reference service's analysis of one uploaded picture: the same pass as judging the ONNX exports.

An upload is checked where it enters (``check_upload``): not empty, not larger than ``max_bytes``, a JPEG or
PNG by its content (not its name), at most ``max_pixels`` pixels by its header (a decompression bomb is
refused before it is decoded). It is then written to a temporary file and goes through visionspec's own
pass: ``open_image`` (EXIF, modes, 16-bit), the detector card's preprocessing and adapter and the score floor
(``run_detector``), the card's score threshold, then the colour model on the crops (``classify_crops``).
So the service answers, picture by picture, what ``visionspec run`` measures on the ONNX exports; a
difference between the two is a difference in the service.

Every problem with an upload is an ``UploadError`` carrying its HTTP status (400, 413, 415, 422).
"""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

import visionspec
from visionspec.datasets.tables import Category, ImageTable, frozen_array
from visionspec.errors import DatasetError, UploadError
from visionspec.runtime.batching import BatchSettings
from visionspec.runtime.crops import classify_crops
from visionspec.runtime.inference import ModelDetections, run_detector
from visionspec.runtime.session import ModelSession

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""The largest upload accepted (20 MiB)."""
DEFAULT_MAX_PIXELS = 40_000_000
"""The most pixels a picture may have by its header (40 megapixels; a 10,000 x 4,000 picture)."""
ACCEPTED_FORMATS = ("JPEG", "PNG")
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png"}
# one picture a request, decoded on the request's own thread: no decoding threads of its own
_ONE_PICTURE = BatchSettings(batch_size=1, workers=0)


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may be.

    Attributes:
        max_bytes: the largest body accepted.
        max_pixels: the most pixels by the picture's header.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS


def check_upload(data: bytes, limits: UploadLimits) -> str:
    """The format (``JPEG`` or ``PNG``) of an acceptable upload, read from its header only.

    Raises:
        UploadError: empty (400), too large in bytes or pixels (413), not a JPEG or PNG (415), a header
            that cannot be read (422).

    Example:
        >>> check_upload(b"", UploadLimits())
        Traceback (most recent call last):
        ...
        visionspec.errors.UploadError: the upload is empty; fix: send a JPEG or PNG picture in the field "image"
    """
    if not data:
        raise UploadError(400, "empty_upload", 'the upload is empty; fix: send a JPEG or PNG picture in the field '
                                               '"image"')
    if len(data) > limits.max_bytes:
        raise UploadError(413, "too_large", f"the upload has {len(data):,} bytes, more than the {limits.max_bytes:,} "
                                            "accepted; fix: send a smaller picture")
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            picture_format, (width, height) = str(image.format), image.size
    except Image.DecompressionBombError as err:
        raise _too_many_pixels(str(err), limits) from err
    except UnidentifiedImageError as err:
        raise UploadError(415, "not_an_image", "the upload is not a JPEG or PNG picture; fix: send a JPEG or PNG") \
            from err
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
        raise UploadError(422, "corrupt_image", f"the picture's header cannot be read ({err}); fix: send a whole, "
                                                "uncorrupted JPEG or PNG") from err
    if width * height > limits.max_pixels:
        raise _too_many_pixels(f"{width} x {height} pixels", limits)
    return picture_format


def _too_many_pixels(detail: str, limits: UploadLimits) -> UploadError:
    return UploadError(413, "too_many_pixels", f"the picture is larger than the {limits.max_pixels:,} pixels accepted "
                                               f"({detail}); fix: downscale it")


@dataclass(frozen=True, eq=False)
class _Upload:
    """One uploaded picture as an ``ImageSource`` (what the crops need of a data set)."""

    path: Path
    images: ImageTable
    digest: str
    categories: tuple[Category, ...] = ()

    def image_path(self, row: int) -> Path:
        return self.path


class Analyser:
    """The detector then the colour model on one picture at a time; thread-safe.

    Args:
        detector: an opened detection model.
        colour_model: an opened classification model (the colour of each detected object).
        limits: what an upload may be.

    Raises:
        ModelCardError: the detector is not a detector, or the colour model not a classifier.
    """

    def __init__(self, detector: ModelSession, colour_model: ModelSession, limits: UploadLimits | None = None) -> None:
        self.detector = detector
        self.colour_model = colour_model
        self.limits = limits or UploadLimits()
        self._adapter = detector.detection_adapter()
        colour_model.classification_adapter()

    def models(self) -> dict[str, str]:
        """Role to the SHA-256 of the model file."""
        return {"detector": self.detector.sha256, "colour": self.colour_model.sha256}

    def version(self) -> dict[str, Any]:
        """The ``/v1/version`` answer."""
        return {
            "service": "visionspec",
            "version": visionspec.__version__,
            "model": self.models(),
            "classes": {"detector": list(self.detector.card.classes), "colour": list(self.colour_model.card.classes)},
            "score_threshold": self.detector.card.score_threshold,
        }

    def analyse(self, data: bytes, name: str = "upload") -> dict[str, Any]:
        """The ``/v1/analyse`` answer for one uploaded picture.

        Raises:
            UploadError: the upload is refused (``check_upload``) or cannot be decoded (422).
            InferenceError: a model failed (the service's fault: a 500).
        """
        picture_format = check_upload(data, self.limits)
        with tempfile.TemporaryDirectory(prefix="visionspec-upload-") as folder:
            path = Path(folder) / f"picture{_SUFFIX[picture_format]}"
            path.write_bytes(data)
            try:
                found = run_detector(self.detector, self._adapter, lambda row: path, np.zeros(1, np.int64), [name],
                                     settings=_ONE_PICTURE)
            except DatasetError as err:
                raise UploadError(422, "corrupt_image", f"the picture cannot be decoded: {_without_path(err, path)}; "
                                                        "fix: send a whole, uncorrupted JPEG or PNG") from err
            return {"items": self._items(found, path), "model": self.models()}

    def _items(self, found: ModelDetections, path: Path) -> list[dict[str, Any]]:
        """The detections at the card's score threshold, each with the colour model's call on its crop."""
        kept = found.scores >= self.detector.card.score_threshold
        if not kept.any():
            return []
        boxes = found.boxes[kept]
        with Image.open(path) as header:
            width, height = header.size
        table = ImageTable(frozen_array([0], np.int64), (path.name,), frozen_array([width], np.int64),
                           frozen_array([height], np.int64), ("",))
        upload = _Upload(path, table, hashlib.sha256(path.read_bytes()).hexdigest())
        colours = classify_crops(self.colour_model, upload, np.zeros(len(boxes), np.int64), boxes,
                                 settings=_ONE_PICTURE)
        confidences = colours.probabilities.max(axis=1) if len(colours) else np.zeros(0)
        return [
            {"box": [float(value) for value in box], "score": float(score), "label": found.classes[int(index)],
             "colour": colour, "colour_score": float(confidence)}
            for box, score, index, colour, confidence in zip(
                boxes, found.scores[kept], found.class_indices[kept], colours.labels, confidences, strict=True)
        ]


def _without_path(err: DatasetError, path: Path) -> str:
    """The decoder's message without the temporary file's name (the client never saw it)."""
    return str(err).replace(f"{path}: ", "").split("; fix:")[0]
