"""A team's own repository, end to end: a non-editable install, `visionspec init` in an empty folder outside
this repository, a COCO data set imported, a third-party-style detector (a YOLOv5-style export with its
card), a feature with a tag nobody declared, then `visionspec run` and plain `pytest` give the same verdicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from tests.runtime.runtime_models import ModelPlan, OutputPlan, build_model

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64

FEATURE = """\
@team-goal @story:FACE-7
Feature: Faces in the lobby camera
  Scenario: Every face is found
    Given data set "lobby"
    When the detector ingests the pictures
    Then it should find at least 4 faces
    And the mean counting error per picture should be at most 0.5

  Scenario: Few false alarms
    Given data set "lobby"
    And only the pictures without faces
    When the detector ingests the pictures
    Then at most 1 of the pictures without faces contain a detection
"""

CARD = {  # written from docs/model-card.md: a YOLOv5-style export, [B, N, 5 + C] with objectness
    "name": "face-detector", "task": "detection", "classes": ["face"],
    "input": {"name": "images", "size": [SIZE, SIZE]},
    "output": {"adapter": "yolo", "layout": "candidates_first", "objectness": True,
               "candidate_threshold": 0.05, "iou_threshold": 0.5},
    "score_threshold": 0.5,
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """visionspec built as a wheel and installed (not editable) into a folder of its own."""
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("visionspec-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def _visionspec(site: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VISIONSPEC_", "PYTEST_"))}
    env |= {"PYTHONPATH": str(site), "OMP_NUM_THREADS": "1", "VISIONSPEC_CACHE": str(folder / ".cache")}
    return subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _coco_source(folder: Path) -> Path:
    """Six 64 x 64 pictures; 0-3 hold one face at [8, 8, 16, 16], 4-5 none."""
    (folder / "pictures").mkdir(parents=True)
    images, annotations = [], []
    for row in range(6):
        Image.new("RGB", (SIZE, SIZE), (120, 120, 120)).save(folder / "pictures" / f"{row}.png")
        images.append({"id": row + 1, "file_name": f"pictures/{row}.png", "width": SIZE, "height": SIZE})
        if row < 4:
            annotations.append({"id": row + 1, "image_id": row + 1, "category_id": 1, "bbox": [8, 8, 16, 16],
                                "area": 256, "iscrowd": 0})
    coco = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "face"}]}
    path = folder / "annotations.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def _yolo_export(path: Path) -> Path:
    """Every picture: one candidate [cx, cy, w, h, objectness, face] = [16, 16, 16, 16, 0.9, 1.0]."""
    rows = np.array([[16, 16, 16, 16, 0.9, 1.0], [40, 40, 8, 8, 0.01, 1.0]], np.float32)
    plan = ModelPlan(input_shape=("batch", 3, SIZE, SIZE), outputs=[OutputPlan("output0", ("batch", 2, 6), rows)])
    return build_model(plan, path)


def test_a_team_project_outside_this_repository(installed: Path, tmp_path: Path) -> None:
    team = tmp_path / "team-repo"
    team.mkdir()
    init = _visionspec(installed, team, "-m", "visionspec", "init")
    assert init.returncode == 0, init.stderr
    assert (team / "visionspec.toml").is_file() and (team / "features" / "example.feature").is_file()
    assert "visionspec run" in init.stdout
    (team / "features" / "example.feature").unlink()
    (team / "features" / "lobby.feature").write_text(FEATURE, encoding="utf-8")

    source = _coco_source(tmp_path / "export")
    imported = _visionspec(installed, team, "-m", "visionspec", "datasets", "import", "--format", "coco",
                           str(source), "lobby")
    assert imported.returncode == 0, imported.stderr
    model = team / "models" / "face-detector"
    (model / "checkpoints").mkdir(parents=True)
    (model / "model.yaml").write_text(yaml.safe_dump(CARD, sort_keys=False), encoding="utf-8")
    _yolo_export(model / "checkpoints" / "v3.onnx")

    run = _visionspec(installed, team, "-m", "visionspec", "run")
    assert run.returncode == 1, run.stdout + run.stderr
    goals = [line for line in run.stdout.splitlines() if line.startswith(("MET", "MISSED", "BROKEN"))]
    assert goals == [
        "MET     Every face is found: found 4 of 4 faces (100.0%, 95% CI 51.0-100.0%); goal: at least 4; met exactly",
        "MET     Every face is found: mean counting error 0.33 on 6 images (faces counted); goal: at most 0.5; "
        "met with 0.17 to spare",
        "MISSED  Few false alarms: 2 of 2 images without faces contain a detection (100.0%, 95% CI 34.2-100.0%); "
        "goal: at most 1; over by 1",
    ]
    summary = json.loads((team / "allure-results" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"met": 1, "missed": 1, "broken": 0}

    plain = _visionspec(installed, team, "-m", "pytest", "features", "-p", "no:cacheprovider")
    assert plain.returncode == 1, plain.stdout
    assert [line for line in plain.stdout.splitlines() if line.startswith(("MET", "MISSED", "BROKEN"))] == goals
