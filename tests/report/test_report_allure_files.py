"""environment.properties, executor.json and categories.json as Allure reads them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import visionspec
from visionspec.report.allure_files import (
    CATEGORIES,
    ModelFile,
    RunEnvironment,
    checkpoint_number,
    environment_entries,
    executor_info,
    properties_text,
    software_versions,
    write_categories,
    write_environment,
    write_executor,
)

ALLURE_STATUSES = {"failed", "broken", "passed", "skipped", "unknown"}


def test_properties_escape_keys_values_and_non_ascii() -> None:
    text = properties_text({
        "Data set 12345 digest": "sha256:ab",
        "Note": " a=b #1 ! ≥ naïve\\path\nnext",
        "emoji": "🎈",
    })

    assert text == (
        "Data\\ set\\ 12345\\ digest=sha256\\:ab\n"
        "Note=\\ a\\=b \\#1 \\! \\u2265 na\\u00efve\\\\path\\nnext\n"
        "emoji=\\ud83c\\udf88\n"
    )
    assert text.isascii()


def test_environment_names_models_data_sets_provider_device_and_versions(tmp_path: Path) -> None:
    environment = RunEnvironment(
        models=(ModelFile("detector", Path("models/balloon-detector/checkpoints/epoch-10.onnx"), "a" * 64),
                ModelFile("colour model", Path("models/balloon-colour/checkpoints/epoch-03.onnx"), "b" * 64)),
        datasets={"12345": "c" * 64},
        provider="CUDAExecutionProvider",
        device="NVIDIA H200",
        extra={"Score threshold": "0.50"},
    )

    entries = environment_entries(environment)
    path = write_environment(tmp_path / "results", environment)

    assert list(entries) == [
        "Detector", "Colour model", "Execution provider", "Device", "Detector SHA-256", "Colour model SHA-256",
        "Data set 12345 digest", "Python", "onnxruntime", "NumPy", "Pillow", "visionspec", "Score threshold",
    ]
    assert entries["Detector"] == "models/balloon-detector/checkpoints/epoch-10.onnx"
    assert entries["Device"] == "NVIDIA H200"
    assert path == tmp_path / "results" / "environment.properties"
    assert "Execution\\ provider=CUDAExecutionProvider\n" in path.read_text(encoding="utf-8")


def test_software_versions_are_the_installed_ones() -> None:
    versions = software_versions()

    assert versions["NumPy"] == np.__version__
    assert versions["visionspec"] == visionspec.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["onnxruntime"])


def test_executor_names_the_checkpoint(tmp_path: Path) -> None:
    path = write_executor(tmp_path, "epoch-10", 10, report_url="../epoch-10/index.html")

    assert json.loads(path.read_text(encoding="utf-8")) == {
        "name": "visionspec", "type": "visionspec", "buildName": "epoch-10", "buildOrder": 10,
        "reportName": "epoch-10", "reportUrl": "../epoch-10/index.html",
    }
    assert "reportUrl" not in executor_info("epoch-01", 1)
    with pytest.raises(ValueError, match="build_order must be a non-negative integer, got -1"):
        executor_info("epoch-01", -1)


def test_checkpoint_number_reads_the_trailing_number() -> None:
    assert [checkpoint_number(n) for n in ("epoch-04.onnx", "epoch-10", "ckpt_7_final.onnx", "best.onnx")] == [
        4, 10, 7, None]


def test_categories_file_is_allure_schema(tmp_path: Path) -> None:
    path = write_categories(tmp_path)
    categories = json.loads(path.read_text(encoding="utf-8"))

    assert [c["name"] for c in categories] == [
        "Goal missed", "Broken: data set", "Broken: model", "Broken: step", "Broken: precondition not met",
        "Broken: other",
    ]
    for category in categories:
        assert set(category) <= {"name", "description", "matchedStatuses", "messageRegex", "traceRegex"}
        assert set(category["matchedStatuses"]) <= ALLURE_STATUSES


@pytest.mark.parametrize(
    ("status", "message", "category"),
    [
        ("failed", "AssertionError: found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least 800; "
                   "short by 58\nassert False", "Goal missed"),
        ("broken", "visionspec.errors.DatasetError: datasets/12345/images/000017.jpg: image file not found",
         "Broken: data set"),
        ("broken", "visionspec.errors.ModelCardError: models/x/model.yaml: unknown key 'sise'", "Broken: model"),
        ("broken", "visionspec.errors.ModelError: epoch-10.onnx: output 'boxes' missing", "Broken: model"),
        ("broken", "visionspec.errors.InferenceError: image 17: NaN in scores", "Broken: model"),
        ("broken", "visionspec.errors.DeviceError: --device cuda but CUDA is not available", "Broken: model"),
        ("broken", 'pytest_bdd.exceptions.StepDefinitionNotFoundError: no step matches "Then it shuold find"',
         "Broken: step"),
        ("broken", 'visionspec.errors.GoalPhraseError: "80 percents" is not a quantity', "Broken: step"),
        ("broken", "visionspec.errors.PreconditionError: 742 balloons identified, not 800 to 1,000",
         "Broken: precondition not met"),
        ("broken", "RuntimeError: something else", "Broken: other"),
        ("failed", "AssertionError: assert 1 == 2", None),
    ],
)
def test_each_outcome_lands_in_its_category(status: str, message: str, category: str | None) -> None:
    assert _first_category(status, message) == category


def _first_category(status: str, message: str) -> str | None:
    """Allure's rule: the first category whose statuses and (whole-message) regex match."""
    for candidate in CATEGORIES:
        if status not in candidate["matchedStatuses"]:
            continue
        regex = candidate.get("messageRegex")
        if regex is None or re.fullmatch(regex, message):
            return str(candidate["name"])
    return None


def test_environment_names_the_card_each_model_was_judged_with() -> None:
    card = "models/balloon-detector/model.yaml (found, over the ONNX metadata 'visionspec.card')"
    environment = RunEnvironment(
        models=(ModelFile("detector", Path("models/balloon-detector/checkpoints/epoch-10.onnx"), "a" * 64, card),
                ModelFile("colour model", Path("models/balloon-colour/checkpoints/epoch-03.onnx"), "b" * 64)),
        datasets={}, provider="CPUExecutionProvider")

    entries = environment_entries(environment)

    assert entries["Detector card"] == card
    assert "Colour model card" not in entries
    assert list(entries).index("Detector card") == list(entries).index("Colour model SHA-256") + 1


def test_model_paths_in_the_environment_are_relative_to_the_project(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    model = ModelFile("detector", tmp_path / "models" / "det" / "checkpoints" / "epoch-2.onnx", "ab",
                      f"{tmp_path}/models/det/model.yaml (found)")
    entries = environment_entries(RunEnvironment(models=(model,), datasets={}, provider="CPUExecutionProvider"))
    assert (entries["Detector"], entries["Detector card"]) == ("models/det/checkpoints/epoch-2.onnx",
                                                               "models/det/model.yaml (found)")
    outside = ModelFile("detector", Path("/elsewhere/x.onnx"), "ab")
    assert environment_entries(RunEnvironment(models=(outside,), datasets={}, provider="CPU"))["Detector"] == (
        "/elsewhere/x.onnx")
