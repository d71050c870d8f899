"""Detections: a model's boxes for a set of images, columnar and immutable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import frozen_array


@dataclass(frozen=True, eq=False)
class Detections:
    """Boxes found by a detector, one row a box, in original image pixels.

    Attributes:
        image_ids: (D,) int64.
        category_ids: (D,) int64 data set category ids.
        boxes: (D, 4) float64 ``x, y, width, height`` (COCO ``bbox``).
        scores: (D,) float64 confidence in [0, 1].
    """

    image_ids: NDArray[np.int64]
    category_ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])

    @classmethod
    def build(cls, image_ids: Any, category_ids: Any, boxes: Any, scores: Any) -> Detections:
        """Build from array-likes, copying them into read-only arrays."""
        return cls(
            image_ids=frozen_array(image_ids, np.int64),
            category_ids=frozen_array(category_ids, np.int64),
            boxes=frozen_array(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.float64),
            scores=frozen_array(scores, np.float64),
        )

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls.build([], [], np.zeros((0, 4)), [])

    def take(self, mask: NDArray[np.bool_]) -> Detections:
        """Return the rows where ``mask`` (D,) is true."""
        return Detections.build(self.image_ids[mask], self.category_ids[mask], self.boxes[mask], self.scores[mask])

    def above(self, score: float) -> Detections:
        """Return the detections whose score is at least ``score``."""
        return self.take(self.scores >= score)

    def to_coco_results(self) -> list[dict[str, Any]]:
        """The COCO results format: one ``{image_id, category_id, bbox, score}`` a box."""
        return [
            {"image_id": int(i), "category_id": int(c), "bbox": [float(v) for v in box], "score": float(s)}
            for i, c, box, s in zip(self.image_ids, self.category_ids, self.boxes, self.scores, strict=True)
        ]
