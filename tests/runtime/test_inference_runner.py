"""The batched runner: batch sizes (dynamic, static with padding), worker threads, bounded memory, NaN and
bad class indices named by image, class mapping by name, progress on terminals only."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from runtime_models import ModelPlan, bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.errors import DatasetError, InferenceError, ModelCardError
from visionspec.runtime import BatchSettings, Device, ModelSession, ProgressLine, detect, open_model, predict
from visionspec.runtime.pool import ordered_map

LEVELS = [1, 30, 60, 90, 120, 150, 180, 210, 240, 255, 20]  # scores level / 255: all above the floor


def detector(tmp_path: Path, plan: ModelPlan | None = None, **card: object) -> ModelSession:
    write_card(tmp_path, detector_card(**card))
    plan = plan or bsl_plan([[0, 0, 24, 16]], [0.0], [0], score_coefficient=1.0)
    return open_model(build_model(plan, tmp_path / "model.onnx"), device=Device.CPU, threads=1)


@pytest.mark.parametrize("settings", [BatchSettings(1, 0), BatchSettings(4, 0), BatchSettings(4, 2),
                                      BatchSettings(16, 3)])
def test_every_image_gets_its_own_output_whatever_the_batching(tmp_path: Path, settings: BatchSettings) -> None:
    session = detector(tmp_path)
    dataset = picture_dataset(tmp_path / "pictures", [(48 + i, 32 + 2 * i) for i in range(len(LEVELS))], LEVELS)
    found = detect(session, dataset, settings=settings)
    assert found.image_ids.tolist() == list(range(100, 100 + len(LEVELS)))
    np.testing.assert_allclose(found.scores, np.array(LEVELS) / 255, atol=1e-4)  # float32 mean
    assert found.boxes[:, 2:].tolist() == [[(48 + i) / 2, (32 + 2 * i) / 2] for i in range(len(LEVELS))]


@pytest.mark.parametrize(("threshold", "kept"), [(0.5, [102, 103]), (0.0002, [101, 102, 103])])
def test_detections_below_the_cards_candidate_floor_are_not_stored(tmp_path: Path, threshold: float,
                                                                   kept: list[int]) -> None:
    # score = brightness / 10: 0, 0.00039, 0.0012, 0.078; the floor is 0.001, or the card's threshold if lower
    session = detector(tmp_path, bsl_plan([[0, 0, 24, 16]], [0.0], [0], score_coefficient=0.1),
                       score_threshold=threshold)
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * 4, [0, 1, 3, 200])
    found = detect(session, dataset, settings=BatchSettings(2, 0))
    assert found.image_ids.tolist() == kept
    assert (found.scores >= min(0.001, threshold)).all()


def test_a_static_batch_pads_the_last_batch(tmp_path: Path) -> None:
    session = detector(tmp_path, bsl_plan([[0, 0, 24, 16]], [0.0], [0], batch=4, score_coefficient=1.0))
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * len(LEVELS), LEVELS)
    found = detect(session, dataset, settings=BatchSettings(batch_size=16, workers=1))
    assert len(found) == len(LEVELS)  # 4 + 4 + 3: the padding row is dropped
    np.testing.assert_allclose(found.scores, np.array(LEVELS) / 255, atol=1e-4)  # float32 mean


def test_nan_output_names_the_image(tmp_path: Path) -> None:
    plan = bsl_plan([[0, 0, 24, 16]], [0.5], [0])
    plan.outputs[1].nan_below = 0.3  # dark pictures give NaN scores
    session = detector(tmp_path, plan)
    levels = [200, 220, 10, 240] + [250] * 40
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * len(levels), levels, ids=range(5, 5 + len(levels)))
    with pytest.raises(InferenceError) as caught:
        detect(session, dataset, settings=BatchSettings(batch_size=4, workers=2))
    assert str(caught.value) == (
        f"{session.path}: output 'scores' holds NaN or infinite values for image image-002.png (id 7); "
        "fix: check the model (export, weights) and the card's input normalisation"
    )
    # the decoding threads were stopped when the error left the runner, not left to the garbage collector
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("visionspec-prepare")]


def test_a_class_index_past_the_cards_classes_names_the_image(tmp_path: Path) -> None:
    session = detector(tmp_path, bsl_plan([[0, 0, 24, 16]], [0.5], [2]))
    with pytest.raises(InferenceError) as caught:
        detect(session, picture_dataset(tmp_path / "pictures", [(48, 32)], [9]), settings=BatchSettings(1, 0))
    assert str(caught.value) == (
        f"{session.path}: the model gave class index 2 for image image-000.png (id 100), but its card lists 2 "
        "class(es) (balloon, ball); fix: the card's classes (or output.label_offset)"
    )


def test_an_unreadable_picture_is_a_dataset_error(tmp_path: Path) -> None:
    session = detector(tmp_path)
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * 3, [1, 2, 3])
    dataset.image_path(1).write_bytes(b"not a picture")
    with pytest.raises(DatasetError, match=r"image-001\.png: not an image file"):
        detect(session, dataset, settings=BatchSettings(2, 2))


def test_predict_maps_classes_to_the_data_sets_category_ids_by_name(tmp_path: Path) -> None:
    plan = bsl_plan([[0, 0, 24, 16], [0, 0, 12, 8], [0, 0, 6, 4]], [0.9, 0.8, 0.7], [0, 1, 2])
    session = detector(tmp_path, plan, classes=["balloon", "kite", "ball"])
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)], [9], categories=[(3, "ball"), (11, "balloon")])
    detections = predict(session, dataset, settings=BatchSettings(1, 0))
    assert detections.category_ids.tolist() == [11, 3]  # "kite" is not in the data set: dropped
    np.testing.assert_allclose(detections.scores, [0.9, 0.7], atol=1e-6)
    unrelated = picture_dataset(tmp_path / "other", [(48, 32)], [9], categories=[(1, "person")])
    with pytest.raises(ModelCardError) as caught:
        predict(session, unrelated, settings=BatchSettings(1, 0))
    assert str(caught.value) == (
        f"{session.path}: none of the model's classes (balloon, kite, ball) is a class of the data set (person); "
        "fix: name the classes in the card as the data set does"
    )


def test_a_classifier_cannot_be_used_as_a_detector(tmp_path: Path) -> None:
    from runtime_models import OutputPlan

    write_card(tmp_path, {"name": "c", "task": "classification", "classes": ["a", "b"], "input": {"size": [8, 8]},
                          "output": {"adapter": "logits"}})
    plan = ModelPlan(input_shape=("batch", 3, 8, 8), outputs=[OutputPlan("logits", ("batch", 2), np.zeros(2))])
    session = open_model(build_model(plan, tmp_path / "m.onnx"), device=Device.CPU, threads=1)
    with pytest.raises(ModelCardError, match="a detection model is needed here"):
        detect(session, picture_dataset(tmp_path / "p", [(8, 8)], [0]))


def test_ordered_map_keeps_order_and_bounds_the_work_in_flight() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            started.append(item)
        time.sleep(0.001 * (item % 3))  # out-of-order completion
        return item * 10

    results = ordered_map(work, iter(range(1000)), workers=3, max_in_flight=5)
    first = [next(results) for _ in range(10)]
    assert first == [i * 10 for i in range(10)]
    with lock:
        assert len(started) <= 10 + 5  # consumed + in flight: never the whole input
    assert list(results) == [i * 10 for i in range(10, 1000)]


def test_ordered_map_reraises_the_first_error_in_order() -> None:
    def work(item: int) -> int:
        if item == 3:
            raise ValueError("bad item 3")
        return item

    results = ordered_map(work, range(10), workers=2, max_in_flight=4)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="bad item 3"):
        next(results)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_only_after_the_delay() -> None:
    clock = iter([0.0, 1.0, 2.5, 2.7, 3.2, 4.0])
    terminal = FakeTerminal()
    line = ProgressLine(terminal, "predict", clock=lambda: next(clock))
    line(10, 100)  # t=1.0: too early
    line(50, 100)  # t=2.5: shown
    line(55, 100)  # t=2.7: within 0.5 s of the last line
    line(80, 100)  # t=3.2: shown
    line(100, 100)  # t=4.0: the final line ends with a newline
    assert terminal.getvalue() == (
        "\rpredict: 50/100 (50%, 20/s, 2 s left)  "
        "\rpredict: 80/100 (80%, 25/s, 1 s left)  "
        "\rpredict: 100/100 (100%, 25/s)  \n"
    )
    piped = io.StringIO()
    ProgressLine(piped, "predict", clock=iter([0.0, 9.0]).__next__)(100, 100)
    assert piped.getvalue() == ""


def test_detect_reports_progress_per_batch(tmp_path: Path) -> None:
    session = detector(tmp_path)
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * 5, [1, 2, 3, 4, 5])
    calls: list[tuple[int, int]] = []
    detect(session, dataset, settings=BatchSettings(2, 1), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_empty_data_set(tmp_path: Path) -> None:
    session = detector(tmp_path)
    dataset = picture_dataset(tmp_path / "pictures", [], [])
    found = detect(session, dataset)
    assert len(found) == 0 and found.boxes.shape == (0, 4)
    assert len(predict(session, dataset)) == 0



@pytest.mark.parametrize(("batch", "expected"), [("batch", [4, 4, 3]), (4, [4, 4, 4]), (1, [1] * 11)])
def test_batch_shapes_fed_to_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int | str,
                                       expected: list[int]) -> None:
    session = detector(tmp_path, bsl_plan([[0, 0, 24, 16]], [0.0], [0], batch=batch, score_coefficient=1.0))
    fed: list[int] = []
    original = ModelSession.run

    def recording_run(self: ModelSession, tensor: np.ndarray, images: str) -> list[np.ndarray]:
        fed.append(tensor.shape[0])
        return original(self, tensor, images)

    monkeypatch.setattr(ModelSession, "run", recording_run)
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)] * len(LEVELS), LEVELS)
    found = detect(session, dataset, settings=BatchSettings(batch_size=4, workers=2))
    assert fed == expected  # a dynamic batch axis is never padded; a static one always is
    np.testing.assert_allclose(found.scores, np.array(LEVELS) / 255, atol=1e-4)
