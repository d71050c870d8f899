"""The ONNX file checked against its card before any image is read: input name, rank, static sizes, dtype;
output names, count and shapes as the card's adapter expects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from visionspec.errors import ModelError
from visionspec.runtime.adapters import expectations
from visionspec.runtime.card import Layout, ModelCard, ResizeMode
from visionspec.runtime.tensors import TensorExpectation, TensorInfo


@dataclass(frozen=True)
class Contract:
    """How to feed a model and which outputs to fetch, once the file and card agree.

    Attributes:
        input: the image input tensor as the file declares it.
        batch_size: the input's static batch size, or None when the batch axis is dynamic (or absent,
            for one-image models such as torchvision exports: see ``batched``).
        batched: whether the input has a batch axis.
        output_names: output tensors in the order the adapter reads them.
    """

    input: TensorInfo
    batch_size: int | None
    batched: bool
    output_names: tuple[str, ...]


def input_expectation(card: ModelCard) -> TensorExpectation:
    """What the card expects of the image input tensor."""
    spec = card.input
    return TensorExpectation("images", spec.name, card.output.adapter.input_dims(card), (spec.dtype.value,))


def check_contract(
    card: ModelCard, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], *, model: str
) -> Contract:
    """Check the file's declared tensors against the card.

    Args:
        card: the validated card.
        inputs: the file's inputs.
        outputs: the file's outputs.
        model: the model file, for messages.

    Returns:
        The resolved feeding contract.

    Raises:
        ModelError: a mismatch; the message shows the card's expectation next to what the file declares.
    """
    checker = _Checker(card, model)
    expected_input = input_expectation(card)
    image_input = checker.resolve(expected_input, inputs, "input")
    extra = [tensor for tensor in inputs if tensor.name != image_input.name]
    if extra:
        raise checker.mismatch(f"the file has {len(inputs)} inputs; visionspec feeds only the image",
                               expected_input.describe(), _listing(inputs))
    checker.check(expected_input, image_input)
    if card.input.resize is ResizeMode.NATIVE:
        checker.check_free_size(expected_input, image_input)
    resolved = [(expected, checker.resolve(expected, outputs, "output")) for expected in expectations(card)]
    for expected, tensor in resolved:
        checker.check(expected, tensor)
    batched = card.output.adapter.batched
    static_batch = image_input.shape[0] if batched and isinstance(image_input.shape[0], int) else None
    return Contract(image_input, static_batch, batched, tuple(tensor.name for _, tensor in resolved))


class _Checker:
    """Matches expectations to declared tensors, remembering the sizes of shared letters (B, K, N)."""

    def __init__(self, card: ModelCard, model: str) -> None:
        self._card = card
        self._model = model
        self._letters: dict[str, tuple[int, str]] = {}

    def mismatch(self, subject: str, expected: str, declared: str) -> ModelError:
        """The one message shape for every mismatch; its first line (all the terminal and summary.json keep)
        names the file, the card and the fix."""
        sources = " + ".join(self._card.sources) or "its card"
        return ModelError(
            f"{self._model} does not match its model card ({sources}): {subject}; fix: correct the card, or "
            "re-export the model\n"
            f"  card expects:  {expected}\n"
            f"  file declares: {declared}"
        )

    def resolve(self, expected: TensorExpectation, declared: Sequence[TensorInfo], kind: str) -> TensorInfo:
        """The declared tensor playing ``expected.role``: by name, or the first one when unnamed."""
        if expected.name is None:
            if not declared:
                raise self.mismatch(f"the file has no {kind}s", f"{kind} {expected.describe()}", "none")
            return declared[0]
        for tensor in declared:
            if tensor.name == expected.name:
                return tensor
        key = "input.name" if kind == "input" else f"output.{expected.role}"
        raise self.mismatch(
            f"no {kind} named {expected.name!r} (card key {key})",
            f"{kind} {expected.name!r}: {expected.describe()}",
            f"{kind}s {_listing(declared)}",
        )

    def check(self, expected: TensorExpectation, tensor: TensorInfo) -> None:
        """Rank, dtype and static sizes of one tensor."""
        subject = f"{expected.role} tensor {tensor.name!r}"
        if tensor.dtype not in expected.dtypes or len(tensor.shape) != len(expected.dims):
            raise self.mismatch(subject, expected.describe(), tensor.describe())
        for axis, (want, have) in enumerate(zip(expected.dims, tensor.shape, strict=True)):
            if not isinstance(have, int) or have < 0:
                continue  # a dynamic axis accepts whatever the card needs
            if isinstance(want, int) and have != want:
                raise self.mismatch(f"{subject}, axis {axis}", expected.describe(), tensor.describe())
            if isinstance(want, str):
                self._check_letter(want, have, subject, expected, tensor)

    def check_free_size(self, expected: TensorExpectation, tensor: TensorInfo) -> None:
        """``resize: native`` feeds pictures at their own size: the file's height and width must be free."""
        layout = self._card.input.layout
        axes = (len(tensor.shape) - 2, len(tensor.shape) - 1) if layout is Layout.NCHW else (-3, -2)
        fixed = [tensor.shape[axis] for axis in axes if isinstance(tensor.shape[axis], int)]
        if fixed:
            raise self.mismatch(
                f"input tensor {tensor.name!r} has a fixed height and width, but input.resize is native "
                "(set input.placeholder_dims: true if they are placeholders, or give input.size)",
                expected.describe(), tensor.describe())

    def _check_letter(self, letter: str, size: int, subject: str, expected: TensorExpectation,
                      tensor: TensorInfo) -> None:
        """A letter shared by several tensors must have one size."""
        seen = self._letters.setdefault(letter, (size, tensor.name))
        if seen[0] != size:
            raise self.mismatch(
                f"{subject}: axis {letter} is {size} here but {seen[0]} in {seen[1]!r}",
                f"{expected.describe()} with one size for {letter}",
                tensor.describe(),
            )


def _listing(tensors: Sequence[TensorInfo]) -> str:
    """``'a' float32 [1, 3], 'b' int64 [1]``."""
    return ", ".join(f"{tensor.name!r} {tensor.describe()}" for tensor in tensors) or "none"
