"""What an ONNX file declares about a tensor, and what a card expects of it."""

from __future__ import annotations

from dataclasses import dataclass

Dim = int | str | None
"""A declared dimension: a size, a symbolic name, or unknown."""

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}

FLOATS = ("float32", "float64", "float16")
"""Element types accepted where a real number is expected."""

INTEGERS_OR_FLOATS = ("int64", "int32", "float32", "float64")
"""Element types accepted for class labels."""


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as the ONNX file declares it.

    Attributes:
        name: tensor name.
        shape: declared dimensions (int, symbolic name, or None).
        dtype: NumPy-style element type name (``float32``), or onnxruntime's own string for other types.
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str

    @classmethod
    def from_ort(cls, node: object) -> TensorInfo:
        """From an onnxruntime ``NodeArg`` (``name``, ``shape``, ``type``)."""
        ort_type = str(getattr(node, "type", ""))
        shape = getattr(node, "shape", None) or ()
        return cls(
            name=str(getattr(node, "name", "")),
            shape=tuple(dim if isinstance(dim, int | str) else None for dim in shape),
            dtype=_ORT_TYPES.get(ort_type, ort_type),
        )

    def describe(self) -> str:
        """``float32 [batch, 3, 256, 256]``."""
        return f"{self.dtype} [{', '.join('?' if dim is None else str(dim) for dim in self.shape)}]"


@dataclass(frozen=True)
class TensorExpectation:
    """What a card expects of one tensor.

    Attributes:
        role: the tensor's role (``images``, ``boxes``, ``scores``, ``labels``, ``output``).
        name: the tensor name, or None for "the file's first tensor".
        dims: expected dimensions: an int must match a static declared size; a letter (``B``, ``K``, ``N``)
            is free but must agree across the tensors that share it.
        dtypes: accepted element types.
    """

    role: str
    name: str | None
    dims: tuple[int | str, ...]
    dtypes: tuple[str, ...]

    def describe(self) -> str:
        """``float32 [B, K, 4]``."""
        return f"{' or '.join(self.dtypes)} [{', '.join(str(dim) for dim in self.dims)}]"
