"""What every output adapter is: one class owning its kind, task, card keys, output layout, batching and
input rules, registered by being defined.

A concrete adapter class sets ``kind`` (the card's ``output.adapter``), ``task``, ``settings`` (a frozen
``Settings`` dataclass: its fields are the card's ``output`` keys), ``layout`` (the outputs it expects, in
words, for the reference page) and implements ``expectations`` (what the file's outputs must declare) and
``decode`` (one batch of outputs to one result per image). ``batched`` and ``input_dims`` say how the model
is fed; ``check_card`` refuses input settings and key combinations it cannot work with. Defining the class registers
it; a class missing one of these, or reusing a kind, fails when its module is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.boxes import to_xyxy
from visionspec.runtime.card import BoxFormat, Coordinates, InputSpec, Layout, ModelCard, ResizeMode, Task
from visionspec.runtime.card_keys import Settings, key
from visionspec.runtime.tensors import TensorExpectation

_T = TypeVar("_T")
_S = TypeVar("_S", bound=Settings)

Fail = Callable[[str, str], Exception]
"""Builds the card error for a key path and a problem (it names the key's source)."""


@dataclass(frozen=True, eq=False)
class BoxOutput:
    """One image's boxes as the model gives them, decoded.

    Attributes:
        boxes: (K, 4) float64 xyxy in model-input pixels.
        scores: (K,) float64.
        class_indices: (K,) int64 indices into the card's classes; negative marks padding.
    """

    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]
    class_indices: NDArray[np.int64]


class OutputAdapter(Protocol[_T]):
    """Reads a model's outputs: ``output_names`` are fetched, ``decode`` turns them into one result per image."""

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output tensors to fetch, in the order ``decode`` takes them."""
        ...

    @property
    def batched(self) -> bool:
        """Whether the model takes a batch axis (else one image per run, no batch axis)."""
        ...

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[_T]:
        """One result per image of the batch."""
        ...


REGISTRY: dict[str, type[Adapter[Any, Any]]] = {}
"""Every adapter class by kind, in definition order (filled by ``Adapter.__init_subclass__``)."""

_REQUIRED = ("kind", "task", "settings", "layout")


class Adapter(Generic[_T, _S]):
    """Base of every output adapter; see the module docstring. ``abstract=True`` marks a shared base."""

    kind: ClassVar[str]
    task: ClassVar[Task]
    settings: ClassVar[type[Settings]]
    layout: ClassVar[str]
    batched: ClassVar[bool] = True
    box_keys: ClassVar[tuple[str, ...]] = ()
    """The ``output`` keys that decide the boxes' geometry, named when the boxes show the card is wrong."""

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        missing = [name for name in _REQUIRED if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"output adapter {cls.__qualname__} must set {', '.join(missing)}")
        if cls.kind in REGISTRY:
            raise TypeError(f"output adapter kind {cls.kind!r} is taken by {REGISTRY[cls.kind].__qualname__}")
        REGISTRY[cls.kind] = cls

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self.card = card
        self.output_names = output_names
        self.options: _S = cast(_S, card.output.settings)

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """What the file's outputs must declare, in the order ``decode`` takes them."""
        raise NotImplementedError

    @classmethod
    def input_dims(cls, card: ModelCard) -> tuple[int | str, ...]:
        """The image input's dimensions: a batch axis, then the card's layout (letters where sizes are free)."""
        spec = card.input
        height: int | str = spec.height if spec.height is not None else "H"
        width: int | str = spec.width if spec.width is not None else "W"
        return ("B", 3, height, width) if spec.layout is Layout.NCHW else ("B", height, width, 3)

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """Refuse card settings this adapter cannot work with: input rules, keys that must agree (default: none)."""

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[_T]:
        """One result per image of the batch."""
        raise NotImplementedError


def adapter_class(kind: str) -> type[Adapter[Any, Any]] | None:
    """The adapter class of a kind, or None."""
    return REGISTRY.get(kind)


# ---- shared pieces of the detection adapters -------------------------------------------------------------


class BoxKeys(Protocol):
    """Settings with a box format and a coordinate space."""

    @property
    def box_format(self) -> BoxFormat: ...

    @property
    def coordinates(self) -> Coordinates: ...


BOX_FORMAT = key("how a box is written: corners, corner and size, or centre and size")
"""The documentation of the ``box_format`` key."""

COORDINATES = key("box values in model-input pixels, or as fractions 0..1 of the input's width and height")
"""The documentation of the ``coordinates`` key."""


def to_input_pixels(boxes: NDArray[Any], options: BoxKeys, card: ModelCard) -> NDArray[np.float64]:
    """(N, 4) boxes in the card's format and coordinate space to xyxy model-input pixels."""
    xyxy = to_xyxy(boxes.reshape(-1, 4), options.box_format)
    if options.coordinates is Coordinates.NORMALIZED and card.input.height and card.input.width:
        size = card.input
        xyxy = xyxy * np.array([size.width, size.height, size.width, size.height], dtype=np.float64)
    return xyxy


def refuse_normalized_native(spec: InputSpec, settings: Settings, fail: Fail) -> None:
    """Normalized boxes need a fixed input size to scale by: refuse them with ``resize: native``."""
    if spec.resize is ResizeMode.NATIVE and getattr(settings, "coordinates", None) is Coordinates.NORMALIZED:
        raise fail("output.coordinates", "'output.coordinates: normalized' cannot be used with 'input.resize: "
                   "native' (each picture runs at its own size); fix: input_pixels, or a fixed input.size")


def labels_to_indices(values: NDArray[Any], offset: int) -> NDArray[np.int64]:
    """Label values (integers, or floats holding integers) to class indices."""
    indices: NDArray[np.int64] = np.rint(values).astype(np.int64) - offset
    return indices


class DetectionAdapter(Adapter[BoxOutput, _S], abstract=True):
    """Base of the detection adapters: ``decode`` gives one ``BoxOutput`` per image."""

    task: ClassVar[Task] = Task.DETECTION


class ClassificationAdapter(Adapter[NDArray[np.float64], _S], abstract=True):
    """Base of the classification adapters: ``decode`` gives (C,) probabilities per image."""

    task: ClassVar[Task] = Task.CLASSIFICATION

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """A classifier takes crops at one fixed size."""
        if spec.resize is ResizeMode.NATIVE:
            raise fail("input.resize", "'input.resize: native' cannot be used with a classifier (crops are "
                       "brought to one size); fix: stretch or letterbox, with input.size")
