"""Bad ONNX files and file-versus-card mismatches are ModelErrors with exact messages; CUDA that is not
really there is a DeviceError; session options are set deliberately."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.external_data_helper import set_external_data
from runtime_models import IR_VERSION, ModelPlan, OutputPlan, bsl_plan, build_model, detector_card, write_card

from visionspec.errors import DeviceError, ModelError
from visionspec.runtime import THREADS_ENV, Device, default_threads, open_model


@pytest.fixture
def good_model(tmp_path: Path) -> Path:
    write_card(tmp_path, detector_card())
    return build_model(bsl_plan([[0, 0, 8, 8], [8, 8, 16, 16]], [0.9, 0.1], [0, 1]), tmp_path / "model.onnx")


def model_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ModelError) as caught:
        open_model(path, device=Device.CPU, threads=1, **kwargs)
    return str(caught.value)


def test_a_good_model_opens_on_cpu_with_deliberate_options(good_model: Path) -> None:
    session = open_model(good_model, device=Device.CPU, threads=1)
    assert session.provider == "CPUExecutionProvider"
    assert session.threads == 1
    assert session.contract.input.name == "images"
    assert session.contract.batch_size is None  # dynamic batch axis
    assert session.contract.output_names == ("boxes", "scores", "labels")
    described = session.describe()
    assert described["provider"] == "CPUExecutionProvider"
    assert described["onnxruntime"] == ort.__version__
    assert len(described["sha256"]) == 64


def test_missing_file(tmp_path: Path) -> None:
    assert model_error(tmp_path / "nope.onnx") == (
        f"{tmp_path / 'nope.onnx'}: no such model file (check the path given as the model)"
    )


def test_a_text_file_named_onnx(tmp_path: Path) -> None:
    text = tmp_path / "model.onnx"
    text.write_text("this is not a model\n", encoding="utf-8")
    assert model_error(text) == (
        f"{text}: onnxruntime cannot load this model: not an ONNX model, or a truncated one (protobuf parsing "
        "failed); re-export or re-copy the file"
    )


def test_a_truncated_file(good_model: Path) -> None:
    content = good_model.read_bytes()
    good_model.write_bytes(content[: len(content) * 2 // 3])
    assert "not an ONNX model, or a truncated one (protobuf parsing failed)" in model_error(good_model)


def test_an_opset_the_runtime_lacks(tmp_path: Path) -> None:
    value = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Relu", ["images"], ["out"])], "g", [value],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3, 8, 8])])
    path = tmp_path / "future.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 99)], ir_version=IR_VERSION), path)
    message = model_error(path)
    assert message.startswith(f"{path}: onnxruntime cannot load this model: Opset 99 is under development; "
                              "Current official support for domain ai.onnx is till opset ")
    assert message.endswith(f"(onnxruntime {ort.__version__}): export with a supported opset/IR version")


def test_an_ir_version_the_runtime_lacks(tmp_path: Path) -> None:
    value = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Relu", ["images"], ["out"])], "g", [value],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "new-ir.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=99), path)
    assert "Unsupported model IR version: 99, max supported IR version: " in model_error(path)


def test_an_unknown_operator_is_a_model_error_without_cpp_noise(tmp_path: Path) -> None:
    value = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("NoSuchOp", ["images"], ["out"], domain="example.custom")], "g",
                              [value], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "custom.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                    helper.make_opsetid("example.custom", 1)], ir_version=IR_VERSION)
    onnx.save(model, path)
    message = model_error(path)
    assert message.startswith(f"{path}: onnxruntime cannot load this model: ")
    assert "NoSuchOp" in message and "[ONNXRuntimeError]" not in message and ".cc:" not in message


def mismatch(model: Path, subject: str, expected: str, declared: str) -> str:
    return (f"{model} does not match its model card ({model.parent / 'model.yaml'}): {subject}; fix: correct the "
            f"card, or re-export the model\n  card expects:  {expected}\n  file declares: {declared}")


def test_wrong_input_name(good_model: Path) -> None:
    write_card(good_model.parent, detector_card(input={"name": "pixels"}))
    assert model_error(good_model) == mismatch(
        good_model, "no input named 'pixels' (card key input.name)", "input 'pixels': float32 [B, 3, 32, 48]",
        "inputs 'images' float32 [batch, 3, 32, 48]")


def test_wrong_input_dtype(good_model: Path) -> None:
    write_card(good_model.parent, {**detector_card(), "input": {"name": "images", "size": [32, 48], "dtype": "uint8"}})
    assert model_error(good_model) == mismatch(
        good_model, "images tensor 'images'", "uint8 [B, 3, 32, 48]", "float32 [batch, 3, 32, 48]")


def test_wrong_input_rank(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    plan = bsl_plan([[0, 0, 8, 8]], [0.9], [0])
    plan.input_shape = ("batch", 32, 48)
    model = build_model(plan, tmp_path / "model.onnx")
    assert model_error(model) == mismatch(model, "images tensor 'images'", "float32 [B, 3, 32, 48]",
                                          "float32 [batch, 32, 48]")


def test_wrong_static_input_size_and_layout(good_model: Path) -> None:
    write_card(good_model.parent, detector_card(input={"size": [48, 32]}))
    assert model_error(good_model) == mismatch(good_model, "images tensor 'images', axis 2", "float32 [B, 3, 48, 32]",
                                               "float32 [batch, 3, 32, 48]")
    write_card(good_model.parent, detector_card(input={"layout": "NHWC"}))
    assert model_error(good_model) == mismatch(good_model, "images tensor 'images', axis 1", "float32 [B, 32, 48, 3]",
                                               "float32 [batch, 3, 32, 48]")


def test_wrong_output_shape(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    plan = bsl_plan([[0, 0, 8, 8]], [0.9], [0])
    plan.outputs[0] = OutputPlan("boxes", ("batch", 1, 5), np.zeros((1, 5)))
    model = build_model(plan, tmp_path / "model.onnx")
    assert model_error(model) == mismatch(model, "boxes tensor 'boxes', axis 2", "float32 or float64 or float16 "
                                          "[B, K, 4]", "float32 [batch, 1, 5]")


def test_outputs_disagreeing_on_k(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    plan = bsl_plan([[0, 0, 8, 8], [0, 0, 4, 4]], [0.9, 0.8], [0, 0])
    plan.outputs[1] = OutputPlan("scores", ("batch", 3), np.zeros(3))
    model = build_model(plan, tmp_path / "model.onnx")
    assert model_error(model) == mismatch(
        model, "scores tensor 'scores': axis K is 3 here but 2 in 'boxes'",
        "float32 or float64 or float16 [B, K] with one size for K", "float32 [batch, 3]")


def test_missing_output_and_wrong_count(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    plan = bsl_plan([[0, 0, 8, 8]], [0.9], [0])
    plan.outputs = plan.outputs[:2]
    model = build_model(plan, tmp_path / "model.onnx")
    assert model_error(model) == mismatch(
        model, "no output named 'labels' (card key output.labels)",
        "output 'labels': int64 or int32 or float32 or float64 [B, K]",
        "outputs 'boxes' float32 [batch, 1, 4], 'scores' float32 [batch, 1]")


def test_output_names_can_be_set_in_the_card(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card(output={"boxes": "det_boxes", "scores": "det_scores", "labels": "det_labels"}))
    plan = bsl_plan([[0, 0, 8, 8]], [0.9], [0])
    for output in plan.outputs:
        output.name = f"det_{output.name}"
    session = open_model(build_model(plan, tmp_path / "model.onnx"), device=Device.CPU, threads=1)
    assert session.contract.output_names == ("det_boxes", "det_scores", "det_labels")


def test_a_second_input_is_refused(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    path = build_model(bsl_plan([[0, 0, 8, 8]], [0.9], [0]), tmp_path / "model.onnx")
    model = onnx.load(path)
    model.graph.input.append(helper.make_tensor_value_info("sizes", TensorProto.INT64, ["batch", 2]))
    onnx.save(model, path)
    assert model_error(path) == mismatch(
        path, "the file has 2 inputs; visionspec feeds only the image", "float32 [B, 3, 32, 48]",
        "'images' float32 [batch, 3, 32, 48], 'sizes' int64 [batch, 2]")


def test_a_static_batch_is_recorded(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    model = build_model(bsl_plan([[0, 0, 8, 8]], [0.9], [0], batch=4), tmp_path / "model.onnx")
    assert open_model(model, device=Device.CPU, threads=1).contract.batch_size == 4


def test_cuda_requested_on_a_machine_without_it_is_a_device_error(good_model: Path) -> None:
    if ort.get_device() == "GPU" and _cuda_really_works(good_model):
        pytest.skip("CUDA works on this machine")
    with pytest.raises(DeviceError) as caught:
        open_model(good_model, device=Device.CUDA, threads=1)
    message = str(caught.value)
    assert message.startswith("CUDA was requested but ")
    assert message.endswith("use --device cpu or auto to run on CPU") or "has no CUDA provider" in message
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert message.startswith("CUDA was requested but onnxruntime is running on CPUExecutionProvider: ")


def test_auto_records_the_provider_it_got(good_model: Path) -> None:
    session = open_model(good_model, device=Device.AUTO, threads=1)
    assert session.provider in ort.get_available_providers()
    if not _cuda_really_works(good_model):
        assert session.provider == "CPUExecutionProvider"


def _cuda_really_works(model: Path) -> bool:
    options = ort.SessionOptions()
    options.log_severity_level = 4
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    return bool(ort.InferenceSession(str(model), options, providers=providers).get_providers()[0]
                == "CUDAExecutionProvider")


def test_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, good_model: Path) -> None:
    monkeypatch.setenv(THREADS_ENV, "3")
    assert default_threads() == 3
    assert open_model(good_model, device=Device.CPU).threads == 3
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ModelError, match=r"^VISIONSPEC_THREADS='many' is not a positive integer"):
        default_threads()
    monkeypatch.delenv(THREADS_ENV)
    assert default_threads() >= 1


def test_a_model_with_the_wrong_task_for_the_job(good_model: Path) -> None:
    from visionspec.errors import ModelCardError

    session = open_model(good_model, device=Device.CPU, threads=1)
    with pytest.raises(ModelCardError) as caught:
        session.classification_adapter()
    assert str(caught.value) == (f"{good_model}: a classification model is needed here, but its card "
                                 f"({good_model.parent / 'model.yaml'}) says task 'detection'")


def test_classifier_outputs_must_match_the_class_count(tmp_path: Path) -> None:
    write_card(tmp_path, {"name": "colour", "task": "classification", "classes": ["red", "blue", "green"],
                          "input": {"size": [8, 8]}, "output": {"adapter": "logits"}})
    plan = ModelPlan(input_shape=("batch", 3, 8, 8), outputs=[OutputPlan("logits", ("batch", 4), np.zeros(4))])
    model = build_model(plan, tmp_path / "model.onnx")
    assert model_error(model) == mismatch(model, "output tensor 'logits', axis 1", "float32 or float64 or float16 "
                                          "[B, 3]", "float32 [batch, 4]")


def test_a_model_swapped_while_it_is_opened_is_hashed_as_the_bytes_that_were_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_card(tmp_path, detector_card())
    model = build_model(bsl_plan([[0, 0, 8, 8]], [0.9], [0]), tmp_path / "model.onnx")
    loaded = model.read_bytes()
    other = build_model(bsl_plan([[4, 4, 12, 12]], [0.2], [0]), tmp_path / "other.onnx").read_bytes()
    real_session = ort.InferenceSession

    def swap_after_loading(source: Any, *args: Any, **kwargs: Any) -> ort.InferenceSession:
        session = real_session(source, *args, **kwargs)
        model.write_bytes(other)  # a training loop replaces the checkpoint right after onnxruntime read it
        return session

    monkeypatch.setattr(ort, "InferenceSession", swap_after_loading)
    session = open_model(model, device=Device.CPU, threads=1)
    assert session.sha256 == hashlib.sha256(loaded).hexdigest() != hashlib.sha256(other).hexdigest()
    scores = session.run(np.zeros((1, 3, 32, 48), np.float32), "a blank picture")[1]
    assert scores.ravel().tolist() == pytest.approx([0.9])  # the predictions are the hashed model's


def test_a_model_with_external_weights_beside_it_opens(tmp_path: Path) -> None:
    write_card(tmp_path, detector_card())
    model = build_model(bsl_plan([[0, 0, 8, 8]], [0.9], [0]), tmp_path / "model.onnx")
    proto = onnx.load(str(model))
    for tensor in proto.graph.initializer:
        if tensor.name.endswith(("_constant", "_coefficient")):  # weights; shapes and axes must stay inline
            set_external_data(tensor, "model.onnx.data")
    onnx.save_model(proto, str(model))
    assert (tmp_path / "model.onnx.data").stat().st_size > 0
    session = open_model(model, device=Device.CPU, threads=1)
    assert session.run(np.zeros((1, 3, 32, 48), np.float32), "a blank picture")[1].ravel().tolist() == [
        pytest.approx(0.9)
    ]
