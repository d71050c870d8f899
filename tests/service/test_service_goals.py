"""Goals judged through the real analysis service (a subprocess on 127.0.0.1) on the tiny world, no mocks.

The world (tests/steps/tiny_world.py): 10 balloons (5 red, 5 blue) on 20 pictures; the detector finds 8
and raises 2 false alarms; the colour model calls bright crops red. Through the service the verdicts must
be those of the ONNX path.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
pytest.importorskip("httpx")

from tests.service.server import Server, free_port, serving
from tests.service.world import write_distinct_project

from visionspec.runtime.session import file_sha256

GOALS = """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
    And the recall should be at least 90%
    And the precision should be at least 80%

  Scenario: Few false alarms
    Given only the images without balloons
    When the detector ingests the images
    Then at most 10% of the images without balloons contain a detection

  Scenario: Red balloons
    When the detector ingests the images
    Then it should find at least 5 of the 5 red balloons
    And it should find at least 1 of the 5 blue balloons
    And at most 4 of the reported red balloons are not red balloons
"""
EXPECTED = [
    "MET     Enough balloons are found: found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%); goal: at least 8; "
    "met exactly",
    "MISSED  Enough balloons are found: recall: found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%); goal: at least "
    "90%; short by 10.0 points",
]


def _background(service: str | None) -> str:
    model = f'    And the analysis service at "{service}"\n' if service else "    And the candidate detector\n"
    return f'Feature: Tiny balloons\n  Background:\n    Given data set "tiny"\n{model}'


def goal_lines(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "visionspec goals" in line)
    return [line for line in lines[start + 1:] if line.startswith(("MET", "MISSED", "BROKEN", "SKIPPED"))]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    write_distinct_project(pytester.path)
    return pytester


@pytest.fixture
def server(project: pytest.Pytester) -> Iterator[Server]:
    with serving(project.path) as running:
        yield running


def judge(project: pytest.Pytester, scenarios: str, service: str | None, *args: str) -> pytest.RunResult:
    # a new file name each run: pytest-bdd caches parsed features by path for the whole (outer) process
    features = project.path / "features"
    earlier = sorted(features.glob("*.feature"))
    for path in earlier:
        path.unlink()
    (features / f"goals-{len(list(project.path.glob('run-*')))}.feature").write_text(
        _background(service) + scenarios, encoding="utf-8")
    (project.path / f"run-{len(list(project.path.glob('run-*')))}").touch()
    return project.runpytest("features", "-p", "no:cacheprovider", *args)


def test_the_service_gets_the_verdicts_of_the_onnx_path(project: pytest.Pytester, server: Server) -> None:
    through_onnx = judge(project, GOALS, None)
    through_service = judge(project, GOALS, server.url)

    assert goal_lines(through_service) == goal_lines(through_onnx)
    assert goal_lines(through_service)[:2] == EXPECTED
    assert len(goal_lines(through_service)) == 7
    assert through_service.ret == through_onnx.ret == 1
    assert server.analyse_requests() == 20  # each picture once, for every scenario


def test_a_rerun_sends_no_picture_and_the_environment_names_the_service(
    project: pytest.Pytester, server: Server
) -> None:
    first = judge(project, GOALS, server.url, f"--alluredir={project.path / 'results'}")
    sent = server.analyse_requests()
    again = judge(project, GOALS, server.url, f"--alluredir={project.path / 'results-again'}")

    assert goal_lines(again) == goal_lines(first)
    assert sent == 20 and server.analyse_requests() == 20
    environment = (project.path / "results-again" / "environment.properties").read_text(encoding="utf-8")
    entries = dict(line.replace("\\", "").split("=", 1) for line in environment.splitlines())
    assert entries["Analysis service"] == server.url
    assert entries["Analysis service version"] == "0.1.0"
    assert entries["Analysis service detector SHA-256"] == file_sha256(
        project.path / "models/balloon-detector/checkpoints/epoch-01.onnx")
    assert entries["Analysis service colour SHA-256"] == file_sha256(
        project.path / "models/balloon-colour/checkpoints/epoch-01.onnx")


def test_the_colour_model_alone_cannot_be_judged_through_the_service(project: pytest.Pytester, server: Server) -> None:
    result = judge(project, """
  Scenario: Colours alone
    When the colour model classifies the annotated balloons
    Then the colour accuracy should be at least 50%
""", server.url)

    assert result.ret == 2
    [line] = goal_lines(result)
    assert line.startswith("BROKEN  Colours alone:") and "names the colour of the objects it found itself only" in line


def test_the_service_agrees_with_the_candidate_it_serves(project: pytest.Pytester, server: Server) -> None:
    result = judge(project, """
  Scenario: The service is the model we tested
    Then the service should agree with the candidate detector on at least 99% of the pictures
""", server.url)

    assert result.ret == 0
    assert goal_lines(result) == [
        "MET     The service is the model we tested: the service agreed with the candidate detector on 20 of 20 "
        "images (100.0%, 95% CI 83.9-100.0%); goal: at least 99%; met with 1.0 points to spare",
    ]


def _deployed_models(project: Path, model: str, key: str, value: object) -> Path:
    """The same ONNX files, served with one key of a card changed (a wrong deployment)."""
    models = project / f"deployed-{model}-{key}"
    shutil.copytree(project / "models", models)
    card = models / model / "model.yaml"
    data = yaml.safe_load(card.read_text(encoding="utf-8"))
    data[key] = value
    card.write_text(yaml.safe_dump(data), encoding="utf-8")
    return models


def _wrong_threshold_models(project: Path) -> Path:
    """The detector card's threshold lowered to 0.05."""
    return _deployed_models(project, "balloon-detector", "score_threshold", 0.05)


def test_a_service_with_another_threshold_disagrees_with_evidence(project: pytest.Pytester) -> None:
    deployed = _wrong_threshold_models(project.path)
    with serving(project.path, "--models", str(deployed)) as wrong:
        result = judge(project, """
  Scenario: The service is the model we tested
    Then the service should agree with the candidate detector on at least 99% of the pictures
""", wrong.url, f"--alluredir={project.path / 'results'}")

    assert result.ret == 1
    # the dark pictures (8, 9 and 12-19) get a box at 0.08 from the service, none from the candidate
    assert goal_lines(result) == [
        "MISSED  The service is the model we tested: the service agreed with the candidate detector on 10 of 20 "
        "images (50.0%, 95% CI 29.9-70.1%); goal: at least 99%; short by 49.0 points",
    ]
    attachments = [path.name for path in (project.path / "results").iterdir() if "attachment" in path.name]
    assert any(name.endswith(".jpg") for name in attachments)  # the contact sheet of the service's extra boxes


def test_a_service_that_dies_mid_run_is_broken_naming_the_pictures(project: pytest.Pytester) -> None:
    (project.path / "features" / "service.yaml").write_text("concurrency: 1\nretries: 1\ntimeout: 5\n")
    # uvicorn stops after 1 health check + 1 version + 5 pictures
    with serving(project.path, max_requests=7) as dying:
        started = time.monotonic()
        result = judge(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", dying.url)
        elapsed = time.monotonic() - started

    assert result.ret == 2
    [line] = goal_lines(result)
    assert line.startswith(f"BROKEN  Enough balloons are found: the analysis service at {dying.url} failed on ")
    assert ".png (id " in line and ": no answer (ConnectError" in line and "after 2 tries" in line
    assert "of 20 pictures were not sent" in line
    assert elapsed < 60


def test_a_hung_service_is_broken_not_a_hang(project: pytest.Pytester) -> None:
    import socket

    (project.path / "features" / "service.yaml").write_text("retries: 0\ntimeout: 1\n")
    port = free_port()
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", port))
        silent.listen(8)
        started = time.monotonic()
        result = judge(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", f"http://127.0.0.1:{port}")
        elapsed = time.monotonic() - started

    assert result.ret == 2
    [line] = goal_lines(result)
    assert "did not say its version" in line and "no answer within the timeout" in line
    assert elapsed < 30


def test_an_answer_that_does_not_fit_the_mapping_is_broken_naming_the_picture(
    project: pytest.Pytester, server: Server
) -> None:
    (project.path / "features" / "service.yaml").write_text("items: result.objects\n")

    result = judge(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", server.url)

    assert result.ret == 2
    [line] = goal_lines(result)
    assert "failed on 20 pictures" in line or "failed on " in line
    assert "00.png (id 1): the service answered HTTP 200 but not as its contract says" in line
    assert "'result.objects'" in line


def test_a_bad_service_address_or_mapping_is_broken(project: pytest.Pytester) -> None:
    bad_address = judge(project, """
  Scenario: Somewhere
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "ftp://example")
    (project.path / "features" / "service.yaml").write_text("box_fromat: xyxy\n")
    bad_mapping = judge(project, """
  Scenario: Somewhere
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "http://127.0.0.1:9")

    assert bad_address.ret == bad_mapping.ret == 2
    assert "'ftp://example' is not the address of a service" in goal_lines(bad_address)[0]
    assert "service.yaml: unknown key 'box_fromat'" in goal_lines(bad_mapping)[0]


def test_a_service_that_names_other_colours_disagrees(project: pytest.Pytester) -> None:
    # red and blue swapped in the served colour card: the same boxes, every one named another colour
    classes = ["blue", "orange", "yellow", "green", "red", "purple", "pink", "white"]
    with serving(project.path, "--models", str(_deployed_models(project.path, "balloon-colour", "classes",
                                                                 classes))) as swapped:
        result = judge(project, """
  Scenario: The service is the model we tested
    Then the service should agree with the candidate detector on at least 99% of the pictures

  Scenario: Red balloons
    When the detector ingests the images
    Then it should find at least 5 of the 5 red balloons
""", swapped.url)

    assert result.ret == 1
    # the 10 bright pictures have a box each (8 balloons and 2 false alarms): each named blue, not red
    assert goal_lines(result) == [
        "MISSED  The service is the model we tested: the service agreed with the candidate detector on 10 of 20 "
        "images (50.0%, 95% CI 29.9-70.1%); goal: at least 99%; short by 49.0 points",
        "MISSED  Red balloons: found and called red: 0 of 5 red balloons (0.0%, 95% CI 0.0-43.4%); goal: at least "
        "5 of 5; short by 5",
    ]


def test_the_mapping_in_the_project_config_is_read(project: pytest.Pytester, server: Server) -> None:
    (project.path / "visionspec.toml").write_text('[service]\nitems = "result.objects"\n', encoding="utf-8")

    result = judge(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", server.url)

    assert result.ret == 2
    assert "expected a JSON object with 'result.objects'" in goal_lines(result)[0]


def test_an_unconfigured_service_is_skipped_saying_how_to_configure_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISIONSPEC_SERVICE_URL", raising=False)
    (project.path / "features" / "goals.feature").write_text("""Feature: Tiny balloons
  Background:
    Given data set "tiny"
    And the analysis service

  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", encoding="utf-8")

    result = project.runpytest("features", "-p", "no:cacheprovider")

    assert result.ret == 0
    result.assert_outcomes(skipped=1)
    assert goal_lines(result)[0].startswith("SKIPPED Enough balloons are found: no analysis service is configured")
