"""`visionspec demo`'s last part: it serves the newest checkpoints on 127.0.0.1, judges features/service through
the service and stops it (here on the tiny world, in a child process as the demo runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
httpx = pytest.importorskip("httpx")

from tests.service.world import write_distinct_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FEATURE = """Feature: What users get
  Background:
    Given data set "tiny"
    And the analysis service

  Scenario: The service is the model we tested
    Then the service should agree with the candidate detector on at least 99% of the pictures

  Scenario: Users get the balloons
    When the detector ingests the images
    Then it should find at least 8 balloons
"""
JUDGE = """
import sys
from pathlib import Path
from visionspec.cli.demo import judge_service
from visionspec.datasets.registry import DatasetRegistry
sys.exit(judge_service(DatasetRegistry(Path("datasets")), Path("models"), Path("results"), None, ()))
"""


def test_the_demo_judges_the_service_it_starts_and_stops_it(tmp_path: Path) -> None:
    write_distinct_project(tmp_path)
    (tmp_path / "features" / "service").mkdir(parents=True)
    (tmp_path / "features" / "service" / "users.feature").write_text(FEATURE, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VISIONSPEC_THREADS": "1", "VISIONSPEC_CACHE": str(tmp_path / "c"),
           "PYTHONPATH": str(ROOT)}
    env.pop("VISIONSPEC_SERVICE_URL", None)

    done = subprocess.run([sys.executable, "-c", JUDGE], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "the analysis service: http://127.0.0.1:" in done.stdout
    summary = json.loads((tmp_path / "results" / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary)
    assert "the service agreed with the candidate detector on 20 of 20 images" in text
    assert "found 8 of 10 balloons" in text
    environment = (tmp_path / "results" / "environment.properties").read_text(encoding="utf-8")
    url = next(line.split("=", 1)[1] for line in environment.splitlines() if line.startswith("Analysis\\ service="))
    with pytest.raises(httpx.TransportError):  # stopped
        httpx.get(f"{url.replace(chr(92), '')}/v1/health", timeout=2)
