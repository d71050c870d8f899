"""Freeing an ONNX file's placeholder dimensions (card ``input.placeholder_dims: true``).

Some exports declare fixed sizes that are only placeholders: CenterFace declares its input as
10 x 3 x 32 x 32 and runs on any batch and any multiple of 32. onnxruntime refuses inputs that differ from
declared fixed sizes, so the image input's batch, height and width, and every dimension of every output,
are rewritten as free (named) dimensions, and the intermediate shapes are dropped for onnxruntime to infer
again. Needs the ``onnx`` package (the run-only install does not have it).
"""

from __future__ import annotations

from visionspec.errors import ModelError


def free_placeholder_dims(data: bytes, input_name: str | None, *, channels_first: bool, model: str) -> bytes:
    """The model ``data`` with the image input's batch, height and width and all output dimensions free.

    Args:
        data: the ONNX file's bytes.
        input_name: the image input (None: the first input).
        channels_first: NCHW (else NHWC): which axes are height and width.
        model: the file, for messages.

    Raises:
        ModelError: ``onnx`` is not installed, or the input is not found or not of rank 4.
    """
    try:
        import onnx
    except ImportError as err:
        raise ModelError(f"{model}: the card sets input.placeholder_dims, which needs the onnx package: "
                         "pip install onnx") from err
    proto = onnx.load_from_string(data)
    graph = proto.graph
    initialisers = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initialisers]
    chosen = [value for value in inputs if input_name is None or value.name == input_name][:1]
    if not chosen or len(chosen[0].type.tensor_type.shape.dim) != 4:
        raise ModelError(f"{model}: input.placeholder_dims needs a rank-4 image input "
                         f"{'' if input_name is None else repr(input_name) + ' '}to free; the file's inputs are "
                         f"{[value.name for value in inputs]}")
    dims = chosen[0].type.tensor_type.shape.dim
    for axis, name in zip((0, 2, 3) if channels_first else (0, 1, 2), ("batch", "height", "width"), strict=True):
        dims[axis].dim_param = name  # setting dim_param clears dim_value (a oneof)
    for output in graph.output:
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                dim.dim_param = f"{output.name}_{axis}"
    del graph.value_info[:]
    return bytes(proto.SerializeToString())
