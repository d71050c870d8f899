"""The reference models through `visionspec serve` on balloons-smoke: the verdicts of the ONNX path (issue 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
pytest.importorskip("httpx")

from tests.service.server import serving
from tests.service.test_service_goals import goal_lines

from visionspec.datasets.registry import DatasetRegistry
from visionspec.datasets.synthetic import build

ROOT = Path(__file__).resolve().parents[2]
GOALS = """
  Scenario: Users get the balloons
    When the detector ingests the images
    Then the recall should be at least 0.9
    And the precision should be at least 0.9

  Scenario: Users rarely get a balloon where there is none
    Given only the images without balloons
    When the detector ingests the images
    Then at most 5% of the images without balloons contain a detection

  Scenario: Red balloons are reported as red
    When the detector ingests the images
    Then at most 2 of the reported red balloons are not red balloons
    And it should find at least 3 red balloons
"""


@pytest.mark.slow
def test_balloons_smoke_through_the_service_gets_the_onnx_verdicts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    datasets = pytester.path / "datasets"
    (datasets / "balloons-smoke").mkdir(parents=True)
    shutil.copy(ROOT / "datasets" / "balloons-smoke" / "dataset.yaml", datasets / "balloons-smoke")
    registry = DatasetRegistry(datasets)
    build(registry.spec("balloons-smoke"), registry.folder("balloons-smoke"), workers=1)
    shutil.copytree(ROOT / "models", pytester.path / "models")
    (pytester.path / "features").mkdir()
    lines = {}
    with serving(pytester.path) as server:
        for name, model in (("onnx", "And the candidate detector"),
                            ("service", f'And the analysis service at "{server.url}"')):
            feature = f'Feature: Smoke\n  Background:\n    Given data set "balloons-smoke"\n    {model}\n{GOALS}'
            for old in (pytester.path / "features").glob("*.feature"):
                old.unlink()
            (pytester.path / "features" / f"{name}.feature").write_text(feature, encoding="utf-8")
            lines[name] = goal_lines(pytester.runpytest("features", "-p", "no:cacheprovider"))

    assert lines["service"] == lines["onnx"]
    assert len(lines["onnx"]) == 5 and all(line.startswith("MET") for line in lines["onnx"]), lines["onnx"]
