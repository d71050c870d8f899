"""The whole reporting stack for real: a pytest-bdd run with evidence attached, then Allure 2 makes both reports.

Needs Java, and either Allure already in .tools/allure or npm to install it (skipped otherwise).
Two runs stand for two checkpoints, so history must carry from the first report to the second.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from visionspec.report.allure_cli import ALLURE_VERSION, DEFAULT_TOOLS_DIR, generate, installed_version
from visionspec.report.allure_files import (
    ModelFile,
    RunEnvironment,
    write_categories,
    write_environment,
    write_executor,
)

PROJECT = Path(__file__).resolve().parents[2]
TOOLS = PROJECT / DEFAULT_TOOLS_DIR

FEATURE = """\
Feature: Balloon detector
  Rule: balloon shapes
    Scenario: The detector finds most balloons
      Given the scene
      Then it should find at least 3 balloons

    Scenario: The detector finds every balloon
      Given the scene
      Then it should find at least 5 balloons

  Rule: data
    Scenario: A broken data set cannot be judged
      Given a data set whose images are missing
      Then it should find at least 1 balloons

    Scenario: A typo in a step
      Given the scene
      Then it shuold find at least 1 balloons
"""

STEPS = '''\
from __future__ import annotations

from pathlib import Path

import allure
import numpy as np
import report_scenes as scenes
from pytest_bdd import given, parsers, scenarios, then

from visionspec.errors import DatasetError
from visionspec.report.evidence import contact_sheet, false_alarm_tiles, miss_tiles
from visionspec.report.plots import PrCurve, confusion_matrix_plot, pr_curve_plot
from visionspec.report.tables import Badge, key_value_table

scenarios("balloons.feature")
FOUND = 4


def attach(picture, name):
    allure.attach(picture.data, name=name, attachment_type=picture.media_type, extension=picture.extension)


@given("the scene", target_fixture="images")
def scene():
    return scenes.write_images(Path("images"))


@given("a data set whose images are missing", target_fixture="images")
def missing():
    raise DatasetError("datasets/12345/images/000017.jpg: image file not found; fix: rebuild the data set")


@then(parsers.parse("it should find at least {minimum:d} balloons"))
def find_at_least(images, minimum):
    truth, found = scenes.annotations(), scenes.detections()
    met = FOUND >= minimum
    figures = {"found": FOUND, "of": 5, "verdict": Badge("met" if met else "missed", "good" if met else "bad")}
    allure.attach(key_value_table(figures), name="figures", attachment_type=allure.attachment_type.HTML)
    missed = np.array([False] * FOUND + [True] * (5 - FOUND))
    attach(contact_sheet(miss_tiles(truth, missed, found, images.__getitem__)), "missed balloons")
    attach(contact_sheet(false_alarm_tiles(found, np.array([0, 0, 1, 1, 1], bool), truth, images.__getitem__)),
           "false alarms")
    recall = np.linspace(0, 0.9, 10)
    attach(pr_curve_plot([PrCurve("balloon", recall, 1 - recall**2)]), "precision-recall curve")
    attach(confusion_matrix_plot(np.eye(2, dtype=np.int64), ["red", "blue"], ["red", "blue"]), "colours")
    assert met, f"found {FOUND} of 5 balloons (80.0%, 95% CI 37.6-96.4%); goal: at least {minimum}; short by 1"
'''


@pytest.fixture(scope="module")
def allure_tools() -> Path:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("needs Java to run Allure")
    if installed_version(TOOLS) != ALLURE_VERSION and shutil.which("npm") is None:
        pytest.skip(f"Allure {ALLURE_VERSION} is not in {TOOLS} and npm is missing to install it")
    return TOOLS


def _run_checkpoint(project: Path, results: Path, checkpoint: str, order: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:visionspec.pytest_plugin",
         f"--alluredir={results}", "test_steps.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    environment = RunEnvironment(
        models=(ModelFile("detector", Path(f"models/balloon-detector/checkpoints/{checkpoint}.onnx"), "ab" * 32),),
        datasets={"12345": "cd" * 32}, provider="CPUExecutionProvider", extra={"Note": "a=b: #1 ≥ naïve"},
    )
    write_environment(results, environment)
    write_executor(results, checkpoint, order)
    write_categories(results)
    return completed


def _embedded_test_cases(single_file: Path) -> list[dict[str, Any]]:
    """The test cases a single-file report carries (base64 JSON, one a test case)."""
    text = single_file.read_text(encoding="utf-8")
    found = re.findall(r"data/test-cases/[0-9a-f]+\.json'\s*,\s*'([A-Za-z0-9+/=]+)'", text)
    return [json.loads(base64.b64decode(blob)) for blob in found]


def _attachment_types(case: dict[str, Any]) -> list[str]:
    steps = case["testStage"]["steps"]
    return [attachment["type"] for step in steps for attachment in step.get("attachments", [])]


@pytest.mark.slow
def test_two_checkpoints_make_both_reports_with_evidence_categories_and_history(
    tmp_path: Path, allure_tools: Path
) -> None:
    (tmp_path / "balloons.feature").write_text(FEATURE, encoding="utf-8")
    (tmp_path / "test_steps.py").write_text(STEPS, encoding="utf-8")
    out = tmp_path / "report"

    first = _run_checkpoint(tmp_path, tmp_path / "results-1", "epoch-01", 1)
    generate(tmp_path / "results-1", out, tools_dir=allure_tools)
    second = _run_checkpoint(tmp_path, tmp_path / "results-2", "epoch-02", 2)
    single_file = generate(tmp_path / "results-2", out, tools_dir=allure_tools)

    assert first.returncode == second.returncode == 1, second.stdout[-2000:]
    widgets = out / "site" / "widgets"
    categories = json.loads((widgets / "categories.json").read_text(encoding="utf-8"))
    assert {item["name"]: item["statistic"]["total"] for item in categories["items"]} == {
        "Goal missed": 1, "Broken: data set": 1, "Broken: step": 1}
    environment = json.loads((widgets / "environment.json").read_text(encoding="utf-8"))
    assert {"name": "Note", "values": ["a=b: #1 ≥ naïve"]} in environment
    assert {"name": "Detector", "values": ["models/balloon-detector/checkpoints/epoch-02.onnx"]} in environment
    executors = json.loads((widgets / "executors.json").read_text(encoding="utf-8"))
    assert executors[0]["buildName"] == "epoch-02"
    trend = json.loads((out / "site" / "history" / "history-trend.json").read_text(encoding="utf-8"))
    assert [(point["buildOrder"], point["reportName"]) for point in trend] == [(2, "epoch-02"), (1, "epoch-01")]

    assert single_file == out / "visionspec-report.html"
    cases = {case["name"]: case for case in _embedded_test_cases(single_file)}
    assert {name: case["status"] for name, case in cases.items()} == {
        "The detector finds most balloons": "passed",
        "The detector finds every balloon": "failed",
        "A broken data set cannot be judged": "broken",
        "A typo in a step": "broken",
    }
    failed = cases["The detector finds every balloon"]
    assert failed["statusMessage"].startswith(
        "AssertionError: found 4 of 5 balloons (80.0%, 95% CI 37.6-96.4%); goal: at least 5; short by 1")
    assert _attachment_types(failed) == ["text/html", "image/jpeg", "image/jpeg", "image/png", "image/png"]
