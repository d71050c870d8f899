"""``visionspec init``: scaffold a team's visionspec project in the current folder.

Writes ``features/`` with one example goal, ``models/`` and ``datasets/`` (each with a README saying what
goes there) and the config: ``[tool.visionspec]`` appended to an existing ``pyproject.toml``, else a new
``visionspec.toml``. Nothing that exists is overwritten. Prints the next three commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from visionspec.errors import VisionSpecError
from visionspec.goals.verdict import ExitCode
from visionspec.project import CONFIG_FILE, PYPROJECT, find_project

EXAMPLE_FEATURE = """\
@example @story:GOAL-1
Feature: The detector finds what matters
  One goal to start from: replace the data set id, the class and the bar with yours.
  `visionspec steps` lists every phrase a goal can use.

  Scenario: Most objects are found
    Given data set "my-images"
    When the detector ingests the images
    Then the recall should be at least 0.9
"""

CONFIG = """\
features = ["features"]       # feature files or folders `visionspec run` judges
models = "models"             # <name>/model.yaml + <name>/checkpoints/*.onnx
datasets = "datasets"         # data set folders, one a data set id
results = "allure-results"    # Allure results, summary.json
report = "allure-report"      # the HTML report
detector = ""                 # the candidate detector: a model name in models/ or an ONNX file (default: the only one)
colour_model = ""             # the candidate classifier, likewise
tags = []                     # extra tags to declare (tags need no declaration otherwise)
backend = "local"             # inference backend: local | ray
tracker_url = ""              # a @story:ID tag's link, e.g. "https://tracker.example/browse/{}"
"""

READMES = {
    "models": "One folder a model: <name>/model.yaml (its card: `visionspec cards` is the reference, "
              "`visionspec card init MODEL.onnx` proposes one) and <name>/checkpoints/*.onnx; the newest "
              "checkpoint of the only detector is the candidate.\n",
    "datasets": "One folder a data set, named by its id: dataset.yaml, annotations.json (COCO) and images/. "
                "`visionspec datasets import --format coco|yolo|voc SRC ID` makes one from your files.\n",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("init", help="scaffold a visionspec project in the current folder")
    parser.set_defaults(handler=run)


def _write_new(path: Path, text: str, written: list[str]) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(str(path))


def run(args: argparse.Namespace) -> int:
    here = Path.cwd()
    existing = find_project(here)
    if existing.source is not None and existing.root == here:
        raise VisionSpecError(f"{existing.source}: this folder is already a visionspec project; "
                              "fix: edit that config, or run `visionspec init` in another folder")
    written: list[str] = []
    pyproject = here / PYPROJECT
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text.rstrip("\n") + "\n\n[tool.visionspec]\n" + CONFIG, encoding="utf-8")
        written.append(f"{pyproject} ([tool.visionspec])")
    else:
        _write_new(here / CONFIG_FILE, CONFIG, written)
    _write_new(here / "features" / "example.feature", EXAMPLE_FEATURE, written)
    for folder, readme in READMES.items():
        _write_new(here / folder / "README.md", readme, written)
    print("visionspec: wrote " + ", ".join(written))
    print("next:\n"
          "  visionspec datasets import --format coco ANNOTATIONS.json my-images   # your pictures and their boxes\n"
          "  visionspec card init MODEL.onnx --out models/my-detector/model.yaml   # then copy MODEL.onnx to "
          "models/my-detector/checkpoints/\n"
          "  visionspec run                                                      # judge features/ against them")
    return ExitCode.MET
