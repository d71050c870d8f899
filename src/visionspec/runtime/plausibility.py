"""A card that is wrong in a way the boxes show is broken, not a worse model.

Read under the wrong ``box_format`` (``xyxy`` on centre-size values) many boxes have a negative width or
height; read under the wrong ``coordinates`` (``normalized`` on pixel values) nearly all of them fall
outside the picture. Neither happens with a correct card, however weak the model, so ``BoxPlausibility``
raises a ``ModelCardError`` naming the card, the key to fix and what was seen, instead of letting goals judge
the model on nonsense. Only boxes that count are looked at: not padding, score above zero and the floor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from visionspec.errors import ModelCardError
from visionspec.runtime.card import Coordinates, ModelCard

NEGATIVE_TOLERANCE = 0.5
"""Model-input pixels a side may be negative by before the box is impossible (rounding of tiny boxes)."""

OUTSIDE_SHARE = 0.9
"""Share of the boxes entirely outside their pictures from which the card, not the model, is wrong."""


class BoxPlausibility:
    """Watches the boxes of one inference pass; ``add`` per image, ``finish`` at the end.

    Example:
        >>> check = BoxPlausibility(card)  # doctest: +SKIP
        >>> check.add(boxes, picture, image="a.jpg (id 1)")  # raises on a box of negative size  # doctest: +SKIP
        >>> check.finish()  # raises when nearly every box lay outside its picture  # doctest: +SKIP
    """

    def __init__(self, card: ModelCard) -> None:
        self._card = card
        self._boxes = 0
        self._outside = 0
        self._example = ""

    def add(self, boxes: NDArray[np.float64], picture: NDArray[np.float64], image: str) -> None:
        """One image's counting boxes.

        Args:
            boxes: (K, 4) xyxy in model-input pixels, as the adapter decoded them.
            picture: (4,) xyxy of the picture within the model input.
            image: the image, for the message.

        Raises:
            ModelCardError: a box has a negative width or height.
        """
        finite = boxes[np.isfinite(boxes).all(axis=1)]
        sides = finite[:, 2:] - finite[:, :2]
        negative = (sides < -NEGATIVE_TOLERANCE).any(axis=1)
        if negative.any():
            raise self._error(f"{int(negative.sum())} of {len(finite)} boxes of image {image} have a negative width "
                              f"or height, e.g. {_box(finite[negative][0])} (x1, y1, x2, y2 in model-input pixels)",
                              negative=True)
        sized = finite[(sides > 0).all(axis=1)]
        outside = ((sized[:, 0] >= picture[2]) | (sized[:, 1] >= picture[3]) | (sized[:, 2] <= picture[0])
                   | (sized[:, 3] <= picture[1]))
        self._boxes += len(sized)
        self._outside += int(outside.sum())
        if outside.any() and not self._example:
            self._example = (f"e.g. {_box(sized[outside][0])} for image {image}, whose picture spans "
                             f"{_box(picture)} of the model input")

    def finish(self) -> None:
        """Raise ``ModelCardError`` when nearly all boxes of the pass lay entirely outside their pictures."""
        if self._boxes and self._outside >= OUTSIDE_SHARE * self._boxes:
            raise self._error(f"{self._outside} of {self._boxes} boxes lie entirely outside their pictures "
                              f"({self._example})", negative=False)

    def _error(self, seen: str, *, negative: bool) -> ModelCardError:
        """The message: the card, what was seen, the keys to fix."""
        output = self._card.output
        sources = " + ".join(self._card.sources) or f"the card of {self._card.name}"
        declared = {name: value for name, value in output.to_dict().items() if name in output.adapter.box_keys}
        if negative and output.box_format is not None:
            fix = f"output.box_format (declared {output.box_format.value!r}; accepted: xyxy, xywh, cxcywh)"
        elif not negative and output.coordinates is Coordinates.NORMALIZED:
            fix = "output.coordinates (declared 'normalized': the values look like pixels, try input_pixels)"
        else:
            fix = ", ".join(f"output.{name} (declared {value!r})" for name, value in declared.items())
        return ModelCardError(f"{sources}: the model's outputs do not fit the card (adapter {output.kind!r}): "
                              f"{seen}; this is a wrong card, not a weak model; fix: {fix}")


def _box(values: NDArray[np.float64]) -> str:
    """``[12, 8, 8, 8]`` with at most one decimal."""
    return "[" + ", ".join(f"{value:.1f}".removesuffix(".0") for value in values.tolist()) + "]"
