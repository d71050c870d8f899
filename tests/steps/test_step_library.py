"""The step library tested the way pytest-bdd tests itself: a real pytest session on a small feature.

The world is tests/steps/tiny_world.py: 10 balloons (5 red, 5 blue) on 20 pictures; the detector
finds 8 (red 0-4, blue 5-7; it misses blue 8-9) and raises false alarms on 2 of the 10 empty pictures;
the colour model calls bright crops red, so the chain finds 5 of 5 red balloons, 0 of 5 blue ones,
and 5 of its 10 red reports are not red balloons. The project folder holds no conftest and no
binding module: the installed plugin collects the .feature files.
"""

from __future__ import annotations

import importlib
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


def run(project: pytest.Pytester, scenarios: str, *args: str, background: str = BACKGROUND) -> pytest.RunResult:
    (project.path / "features" / "goals.feature").write_text(background + scenarios, encoding="utf-8")
    return project.runpytest("features", "-p", "no:cacheprovider", *args)


def goal_lines(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "visionspec goals" in line)
    return [line for line in lines[start + 1:] if line.startswith(("MET", "MISSED", "BROKEN", "SKIPPED"))]


FOUND_8 = "found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%)"


def test_met_goals_pass_and_exit_0(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
    And it should find at least 80% of the balloons
""")
    assert result.ret == 0
    assert goal_lines(result) == [
        f"MET     Enough balloons are found: {FOUND_8}; goal: at least 8; met exactly",
        f"MET     Enough balloons are found: {FOUND_8}; goal: at least 80%; met exactly",
    ]


def test_every_goal_is_judged_after_a_miss_and_the_miss_prints_no_traceback(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Too few balloons are found
    When the detector ingests the images
    Then it should find at least 9 balloons
    And it should find at least 7 balloons
    And the recall should be at least 90%

  Scenario: Too many false alarms
    Given only the images without balloons
    When the detector ingests the images
    Then at most 10% of the images without balloons contain a detection
""")
    assert result.ret == 1
    result.assert_outcomes(failed=2)
    assert goal_lines(result) == [
        f"MISSED  Too few balloons are found: {FOUND_8}; goal: at least 9; short by 1",
        f"MET     Too few balloons are found: {FOUND_8}; goal: at least 7; met with 1 to spare",
        "MISSED  Too few balloons are found: recall: found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%); "
        "goal: at least 90%; short by 10.0 points",
        "MISSED  Too many false alarms: 2 of 10 images without balloons contain a detection "
        "(20.0%, 95% CI 5.7-51.0%); goal: at most 10%; over by 10.0 points",
    ]
    assert "Traceback" not in result.stdout.str() and "step_library" not in result.stdout.str()


def test_a_rate_figure_reads_a_bare_number_as_a_fraction(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Recall of one
    When the detector ingests the images
    Then the recall should be at least 1

  Scenario: Recall of two
    When the detector ingests the images
    Then the recall should be at least 2

  Scenario: More balloons than there are
    When the detector ingests the images
    Then it should find at least 11 of the 10 balloons
""")
    assert result.ret == 2
    assert goal_lines(result) == [
        "MISSED  Recall of one: recall: found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%); goal: at least 1; "
        "short by 20.0 points",
        'BROKEN  Recall of two: recall is a rate between 0 and 1 (0% to 100%), so "2" cannot be a goal for it; '
        "write it as 0.92 or 92%",
        'BROKEN  More balloons than there are: the goal "at least 11 of 10" cannot be met: there are 10 balloons; '
        "fix the goal's number",
    ]


def test_a_scenario_without_a_goal_is_broken(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Only runs the detector
    When the detector ingests the images

  Scenario: Nothing at all
""", background='Feature: Tiny balloons\n  Background:\n    Given data set "tiny"\n')
    assert result.ret == 2
    message = ('the scenario states no goal, so it cannot be met; fix: add a "Then" goal (see `visionspec steps`)')
    assert goal_lines(result) == [f"BROKEN  Only runs the detector: {message}", f"BROKEN  Nothing at all: {message}"]


def test_a_goal_naming_a_colour_judges_the_chain_with_the_candidate_colour_model(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Blue balloons, the chain
    When the detector ingests the images
    Then it should find at least 3 blue balloons

  Scenario: Blue balloons, the detector alone
    Given only the blue balloons
    When the detector ingests the images
    Then the recall should be at least 0.6
""", background='Feature: Tiny balloons\n  Background:\n    Given data set "tiny"\n')
    assert result.ret == 1
    assert goal_lines(result) == [
        "MISSED  Blue balloons, the chain: found and called blue: 0 of 5 blue balloons (0.0%, 95% CI 0.0-43.4%); "
        "goal: at least 3; short by 3",
        "MET     Blue balloons, the detector alone: recall: found 3 of 5 blue balloons (60.0%, 95% CI 23.1-88.2%); "
        "goal: at least 0.6; met exactly",
    ]


def test_figures_over_detections_are_refused_on_a_slice_a_detection_cannot_see(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Precision on blue balloons
    Given only the blue balloons
    When the detector ingests the images
    Then the precision should be at least 0.5

  Scenario: Precision on small balloons
    Given only the small balloons
    When the detector ingests the images
    Then the precision should be at least 0.5
    And the box mAP@.50 should be at least 0.5
""")
    assert result.ret == 2
    lines = goal_lines(result)
    assert lines[0].startswith(
        "BROKEN  Precision on blue balloons: precision cannot be computed on the blue balloons: a detection does not "
        "say whether its object's colour is blue"
    )
    assert lines[1] == ("MET     Precision on small balloons: precision: 8 of 10 detections hit small balloons "
                        "(80.0%, 95% CI 49.0-94.3%); goal: at least 0.5; met with 30.0 points to spare")
    assert lines[2].startswith("MET     Precision on small balloons: box mAP@.50 0.967 on 20 images")


def test_a_precondition_the_model_misses_is_a_miss_not_a_broken_test(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: A precondition that does not hold
    When the detector ingests the images
    And 9 to 10 balloons are identified
    Then it should find at least 8 balloons
""")
    assert result.ret == 1
    assert goal_lines(result) == [
        f"MISSED  A precondition that does not hold: precondition not met: {FOUND_8}; the goals after it need 9 to 10 "
        "balloons identified, so they were not judged"
    ]


def test_unjudgeable_scenarios_are_broken_and_reported_before_any_model_runs(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Still judged
    When the detector ingests the images
    Then it should find at least 8 balloons

  Scenario: A number nobody can read
    When the detector ingests the images
    Then it should find at least eight hundred balloons

  Scenario: Two typos
    When the detectr ingests the images
    Then it should fnd at least 8 balloons

  Scenario: A goal without the step it needs
    Then the recall should be at least 0.5
""")
    assert result.ret == 2
    result.assert_outcomes(failed=3, passed=1)
    said = result.outlines.index("visionspec: 2 step(s) match no phrase; their scenarios are broken:")
    assert said < next(i for i, line in enumerate(result.outlines) if "visionspec goals" in line)
    assert result.outlines[said + 1].startswith('  Two typos: no step matches "When the detectr ingests the images"')
    lines = goal_lines(result)
    assert lines[0] == (
        'BROKEN  Two typos: no step matches "When the detectr ingests the images" (line 17); closest phrases: '
        "When the detector ingests the images | Given the previous checkpoint as the baseline. "
        "Run `visionspec steps` for the catalogue.; "
        'no step matches "Then it should fnd at least 8 balloons" (line 18); closest phrases: '
        "Then it should find at least 800 balloons | Then the recall should be at least 0.92 | "
        "Then the box mAP@.50 should be at least 0.85. Run `visionspec steps` for the catalogue."
    )
    assert lines[1].startswith("MET     Still judged")
    assert lines[2].startswith('BROKEN  A number nobody can read: "eight" is not a quantity; accepted forms: 800')
    assert lines[3] == ('BROKEN  A goal without the step it needs: this goal needs the detector\'s output: add '
                        '"When the detector ingests the images" before it')


def test_the_product_teams_words_run_as_written(project: pytest.Pytester) -> None:
    result = run(project, """
  @team-goal
  Scenario: The team's own goal
    Given "data set tiny"
    When the model ingests "images" from the data set
    Then it should find at least "8 balloons"
    When "8" to "1_000" balloons are identified
    Then the model should find at least "5 Red balloons"
    And it should find at least 50% of the BALLOONS with 90% confidence
""", "--strict-markers", background="Feature: The team's goal\n")
    assert result.ret == 0
    lines = goal_lines(result)
    assert lines[:2] == [
        f"MET     The team's own goal: {FOUND_8}; goal: at least 8; met exactly",
        "MET     The team's own goal: found and called red: 5 of 5 red balloons (100.0%, 95% CI 56.6-100.0%); "
        "goal: at least 5; met exactly",
    ]
    assert lines[2].startswith("MET     The team's own goal: found 8 of 10 balloons (80.0%, 90% CI ")
    assert lines[2].endswith("goal: at least 50% with 90% confidence; met with 4.1 points to spare")


def test_a_bad_feature_file_is_broken_and_the_others_are_judged(project: pytest.Pytester) -> None:
    features = project.path / "features"
    (features / "empty.feature").write_text("", encoding="utf-8")
    twice = "Feature: One\n  Scenario: A\n    Given x\nFeature: Two\n"
    (features / "twice.feature").write_text(twice, encoding="utf-8")
    result = run(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "--alluredir", "allure-results")
    assert result.ret == 2
    lines = goal_lines(result)
    assert "BROKEN  empty.feature: features/empty.feature: not a readable feature file: the file is empty; fix: one " \
           "Feature: a file, with its scenarios below it" in lines
    assert "BROKEN  twice.feature: features/twice.feature, line 4: not a readable feature file: Multiple features " \
           "are not allowed in a single feature file.; fix: one Feature: a file, with its scenarios below it" in lines
    assert any(line.startswith("MET     Enough balloons are found") for line in lines)


def test_a_feature_file_outside_the_project_runs_with_allure(project: pytest.Pytester, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "goal.feature"
    outside.parent.mkdir()
    outside.write_text(BACKGROUND + """
  Scenario: Found from afar
    When the detector ingests the images
    Then it should find at least 8 balloons
""", encoding="utf-8")
    result = project.runpytest(str(outside), "-p", "no:cacheprovider", "--alluredir", "allure-results")
    assert result.ret == 0
    assert goal_lines(result) == [f"MET     Found from afar: {FOUND_8}; goal: at least 8; met exactly"]


def test_the_chain_is_judged_for_false_negatives_and_false_positives(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Red balloons
    When the detector ingests the images
    And the colour model classifies the detected balloons
    Then it should find at least 5 of the 5 red balloons
    And at most 4 of the reported red balloons are not red balloons
""")
    assert result.ret == 1
    assert goal_lines(result)[1] == (
        "MISSED  Red balloons: 5 of 10 reported red balloons are not red balloons (50.0%, 95% CI 23.7-76.3%); "
        "goal: at most 4; over by 1"
    )


def test_the_colour_model_alone_and_a_table_of_bars(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Colours
    When the colour model classifies the annotated balloons
    Then the colour recall for Red should be at least 95%
    And every colour should meet these bars:
      | colour | recall | precision |
      | red    | 0.9    | 0.6       |
      | blue   | 0.5    | 0.9       |
""")
    assert result.ret == 1
    assert "MISSED  Colours: blue recall: called 2 of 5 blue balloons blue (40.0%, 95% CI 11.8-76.9%); " \
           "goal: at least 0.5; short by 10.0 points" in goal_lines(result)


def test_allure_results_carry_status_labels_phrase_parameters_and_evidence(project: pytest.Pytester) -> None:
    result = run(project, """
  Rule: Shapes
    @severity:critical
    Scenario: Found
      When the detector ingests the images
      Then it should find at least 8 balloons

    Scenario: Missed then met
      When the detector ingests the images
      Then it should find at least 9 balloons
      And it should find at least 7 balloons

    Scenario: Not judgeable
      When the detector ingests the images
      Then it should find at least lots of balloons
""", "--alluredir", "allure-results")
    assert result.ret == 2
    results = {}
    for path in (project.path / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[data["name"]] = data
    found, broken, mixed = results["Found"], results["Not judgeable"], results["Missed then met"]
    assert found["status"] == "passed" and broken["status"] == "broken" and mixed["status"] == "failed"
    assert [step["status"] for step in mixed["steps"]][-2:] == ["failed", "passed"]
    labels = {(label["name"], label["value"]) for label in found["labels"]}
    assert {("severity", "critical"), ("story", "Shapes"), ("feature", "Tiny balloons")} <= labels
    then = found["steps"][-1]
    assert {p["name"]: p["value"] for p in then["parameters"]} == {
        "subject": "it", "comparison": "at least", "quantity": "8", "things": "balloons",
    }
    assert [a["name"] for a in then["attachments"]] == ["figures", "missed objects", "false alarms", "verdict"]


def test_summary_json_holds_typed_verdicts(project: pytest.Pytester) -> None:
    run(project, """
  Scenario: Found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "--summary-json", "out/summary.json")
    summary = json.loads((project.path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"met": 1, "missed": 0, "broken": 0} and summary["exit_code"] == 0
    verdict = summary["scenarios"][0]["verdicts"][0]
    assert {k: verdict[k] for k in ("figure", "count", "sample", "unit", "status", "margin")} == {
        "figure": "found", "count": 8, "sample": 10, "unit": "count", "status": "met", "margin": 0.0,
    }


def test_junit_names_scenarios_not_python_functions(project: pytest.Pytester) -> None:
    run(project, """
  Scenario: Enough balloons are found
    When the detector ingests the images
    Then it should find at least 8 balloons
""", "--junitxml", "junit.xml")
    junit = (project.path / "junit.xml").read_text(encoding="utf-8")
    assert 'name="Enough balloons are found"' in junit


def test_an_outline_is_checked_as_its_examples_render_it(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario Outline: By kind
    Given only the <kind> balloons
    When the detector ingests the images
    Then the recall should be at least <bar>

    Examples:
      | kind  | bar |
      | small | 0.8 |
      | red   | 0.9 |
""")
    assert result.ret == 0
    assert goal_lines(result) == [
        "MET     By kind [small-0.8]: recall: found 8 of 10 small balloons (80.0%, 95% CI 49.0-94.3%); goal: at least "
        "0.8; met exactly",
        "MET     By kind [red-0.9]: recall: found 5 of 5 red balloons (100.0%, 95% CI 56.6-100.0%); goal: at least "
        "0.9; met with 10.0 points to spare",
    ]


def test_the_teams_words_from_a_file_outside_the_project_through_visionspec_run(
    project: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from visionspec.cli import main

    outside = tmp_path / "product-team" / "goal.feature"
    outside.parent.mkdir()
    outside.write_text("""\
Feature: Identify red balloons in images
  Scenario: As the product team wrote it
    Given "data set tiny"
    When the model ingests "images" from the data set
    Then it should find at least "8 balloons"
    When "8" to "1_000" balloons are identified
    Then the model should find at least "5 red balloons"
""", encoding="utf-8")
    monkeypatch.chdir(project.path)
    assert main(["run", str(outside), "--results", "results"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("MET", "MISSED", "BROKEN"))]
    assert lines == [
        f"MET     As the product team wrote it: {FOUND_8}; goal: at least 8; met exactly",
        "MET     As the product team wrote it: found and called red: 5 of 5 red balloons (100.0%, 95% CI 56.6-100.0%); "
        "goal: at least 5; met exactly",
    ]


def test_each_picture_is_drawn_once_per_content(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # by sys.modules, as the run inside will import them (pytester drops modules an earlier inner run imported)
    attach, plots = (importlib.import_module(f"visionspec.report.{name}") for name in ("attach", "plots"))
    drawn: list[int] = []
    real = plots.confusion_matrix_plot
    monkeypatch.setattr(plots, "confusion_matrix_plot", lambda *a, **k: drawn.append(1) or real(*a, **k))
    monkeypatch.setattr(attach, "_DRAWN", type(attach._DRAWN)())
    result = run(project, """
  Scenario: Colours, three goals
    When the colour model classifies the annotated balloons
    Then the colour recall for red should be at least 95%
    And the colour accuracy should be at least 50%
    And at most 60% of the balloons that are not red are called red

  Scenario: The same colours again
    When the colour model classifies the annotated balloons
    Then the colour accuracy should be at least 50%
""", "--alluredir", "allure-results")
    assert result.ret == 0
    assert drawn == [1]  # four goals on the same classifications: one confusion matrix


def test_a_goal_that_names_the_slice_the_scenario_already_narrowed(project: pytest.Pytester) -> None:
    result = run(project, """
  Scenario: Red, twice
    Given only the red balloons
    When the detector ingests the images
    Then it should find at least 5 red balloons
    And it should find at least 5 balloons
""")
    assert result.ret == 0
    assert goal_lines(result) == [
        "MET     Red, twice: found and called red: 5 of 5 red balloons (100.0%, 95% CI 56.6-100.0%); goal: at least 5; "
        "met exactly",
        "MET     Red, twice: found 5 of 5 red balloons (100.0%, 95% CI 56.6-100.0%); goal: at least 5; met exactly",
    ]
