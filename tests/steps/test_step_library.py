"""The step library tested the way pytest-bdd tests itself: a real pytest session on a small feature.

The world is tests/steps/tiny_world.py: 10 balloons (5 red, 5 blue) on 20 pictures; the detector
finds 8 and raises false alarms on 2 of the 10 empty pictures; the colour model calls bright crops red.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.steps.tiny_world import write_project

BACKGROUND = """
Feature: Tiny balloons
  Background:
    Given data set "tiny"
    And the candidate detector
    And the candidate colour model
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    write_project(pytester.path)
    return pytester


def run(project: pytest.Pytester, scenarios: str, *args: str) -> pytest.RunResult:
    (project.path / "features" / "goals.feature").write_text(BACKGROUND + scenarios, encoding="utf-8")
    return project.runpytest("features", "-p", "no:cacheprovider", *args)


def goal_lines(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "visionspec goals" in line)
    return [line for line in lines[start + 1:] if line.startswith(("MET", "MISSED", "BROKEN"))]


def test_met_goals_pass_and_exit_0(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
    And it should find at least 80% of the balloons
""")
    assert result.ret == 0
    assert goal_lines(result) == [
        "MET     Enough balloons are found: found 8 of 10 balloons (80%, 95% CI 49.0-94.3%); goal: at least 8; "
        "met exactly; found 8 of 10 balloons (80%, 95% CI 49.0-94.3%); goal: at least 80%; met exactly"
    ]


def test_a_missed_goal_fails_with_one_sentence_and_exit_1(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Too few balloons are found
    When the detector ingests the images
    Then it should find at least 9 balloons

  Scenario: Too many false alarms
    Given only the images without balloons
    When the detector ingests the images
    Then at most 10% of the images without balloons contain a detection
""")
    assert result.ret == 1
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*GoalMissed: found 8 of 10 balloons (80%, 95% CI 49.0-94.3%); goal: at least 9; short by 1"]
    )
    assert goal_lines(result)[1] == (
        "MISSED  Too many false alarms: 2 of 10 images without balloons contain a detection "
        "(20%, 95% CI 5.7-51.0%); goal: at most 10%; short by 10.0 points"
    )


def test_the_chain_is_judged_for_false_negatives_and_false_positives(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Red balloons
    When the detector ingests the images
    And the colour model classifies the detected balloons
    Then it should find at least 5 of the 5 red balloons
    And at most 4 of the reported red balloons are not red balloons
""")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*GoalMissed: 5 of 10 reported red balloons are not red balloons (50%, 95% CI 23.7-76.3%); "
        "goal: at most 4; short by 1"
    ])


def test_unjudgeable_scenarios_are_broken_and_exit_2(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: A number nobody can read
    When the detector ingests the images
    Then it should find at least eight hundred balloons

  Scenario: A typo
    When the detector ingests the images
    Then it should fnd at least 8 balloons

  Scenario: A precondition that does not hold
    When the detector ingests the images
    And 9 to 10 balloons are identified
    Then it should find at least 8 balloons

  Scenario: Still judged
    When the detector ingests the images
    Then it should find at least 8 balloons
""")
    assert result.ret == 2
    result.assert_outcomes(failed=3, passed=1)
    assert goal_lines(result)[:3] == [
        'BROKEN  A number nobody can read: "eight" is not a quantity; accepted forms: 800, 1,000, 1_000 (a count); '
        '80%, 80 %, 0.8 (a rate); "80 of the 100" (a count of a sample)',
        'BROKEN  A typo: no step matches "Then it should fnd at least 8 balloons" (line 14); closest phrases: '
        "Then it should find at least 800 balloons | Then the recall should be at least 0.92 | "
        "Then the box mAP@.50 should be at least 0.85. Run `visionspec steps` for the catalogue.",
        "BROKEN  A precondition that does not hold: precondition not met: found 8 of 10 balloons "
        "(80%, 95% CI 49.0-94.3%); the scenario needs 9 to 10 balloons identified",
    ]


def test_the_colour_model_alone_and_a_table_of_bars(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Colours
    When the colour model classifies the annotated balloons
    Then the colour recall for red should be at least 95%
    And every colour should meet these bars:
      | colour | recall | precision |
      | red    | 0.9    | 0.6       |
      | blue   | 0.5    | 0.9       |
""")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*GoalMissed: blue recall: called 2 of 5 blue balloons blue (40%, 95% CI 11.8-76.9%); goal: at least 0.5; "
        "short by 0.100",
    ])


def test_allure_results_carry_status_labels_phrase_parameters_and_evidence(project: pytest.Pytester) -> None:
    result = run(project, """
  Rule: Shapes
    @severity:critical
    Scenario: Found
      When the detector ingests the images
      Then it should find at least 8 balloons

    Scenario: Not judgeable
      When the detector ingests the images
      Then it should find at least lots of balloons
""", "--alluredir", "allure-results")
    assert result.ret == 2
    results = {}
    for path in (project.path / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[data["name"]] = data
    found, broken = results["Found"], results["Not judgeable"]
    assert found["status"] == "passed" and broken["status"] == "broken"
    labels = {(label["name"], label["value"]) for label in found["labels"]}
    assert {("severity", "critical"), ("story", "Shapes"), ("feature", "Tiny balloons")} <= labels
    then = found["steps"][-1]
    assert {p["name"]: p["value"] for p in then["parameters"]} == {
        "comparison": "at least", "quantity": "8", "things": "balloons",
    }
    assert [a["name"] for a in then["attachments"]] == ["figures", "missed objects", "false alarms", "verdict"]


def test_summary_json_lists_every_scenario(project: pytest.Pytester) -> None:
    run(project, """
  Scenario: Found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "--summary-json", "out/summary.json")
    summary = json.loads((project.path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"met": 1, "missed": 0, "broken": 0}
    assert summary["scenarios"][0]["goals"] == [
        "found 8 of 10 balloons (80%, 95% CI 49.0-94.3%); goal: at least 8; met exactly"
    ]


def test_junit_names_scenarios_not_python_functions(project: pytest.Pytester) -> None:
    run(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "--junitxml", "junit.xml")
    junit = (project.path / "junit.xml").read_text(encoding="utf-8")
    assert 'classname="features.goals.feature" name="Enough balloons are found"' in junit
