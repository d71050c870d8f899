"""decision.md: the decision for the candidate checkpoint, the release gate, every goal, the stories.

The unit tests build real verdicts with ``judge``; the end-to-end test runs the installed plugin on the
tiny world (tests/steps/tiny_world.py: the detector finds 8 of 10 balloons and raises false alarms on 2
of the 10 empty pictures) and reads the decision.md it wrote beside summary.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.steps.tiny_world import write_project

from visionspec.cli.run import where_lines
from visionspec.goals.quantities import Comparison, parse_quantity
from visionspec.goals.verdict import Goal, Measurement, Status, judge
from visionspec.report.allure_results import shown_message, tidy_results
from visionspec.report.decision import (
    ScenarioRecord,
    decision_blocks,
    decision_line,
    decision_markdown,
    render_html,
    report_title,
    write_decision,
)


def _found(count: int, goal: str = "800") -> ScenarioRecord:
    verdict = judge(Goal(Comparison.AT_LEAST, parse_quantity(goal)),
                    Measurement.proportion("found", count, 1000, "balloons"))
    return ScenarioRecord("Enough balloons", "Balloon detector", "Balloons are found", ("release-gate", "story:ML-1"),
                          verdict.status, (verdict,))


def _recall(count: int) -> ScenarioRecord:
    verdict = judge(Goal(Comparison.AT_LEAST, parse_quantity("0.92")),
                    Measurement.proportion("recall", count, 100, "small balloons", label="recall: found"))
    return ScenarioRecord("Small balloons", "Balloon detector", "Balloons are found", ("story:ML-1",),
                          verdict.status, (verdict,))


def _broken(*tags: str) -> ScenarioRecord:
    return ScenarioRecord("Red balloons", "Red balloons", "", tags, Status.BROKEN, (),
                          "datasets/12345: image 17 is missing; fix: rebuild the data set")


def test_the_verdict_line_reads_the_release_gate_only() -> None:
    assert decision_line([_found(850), _recall(80)]) == "ship it"  # the missed recall is not on the gate
    assert decision_line([_found(742), _recall(95)]) == "do not ship: 1 release-gate goal missed"
    assert decision_line([_found(850), _broken("release-gate")]) == "cannot decide: 1 release-gate goal broken"
    assert decision_line([_found(742), _broken("release-gate")]) == (
        "do not ship: 1 release-gate goal missed (1 more goal broken)")
    assert decision_line([_recall(80), _recall(70)]) == "do not ship: 2 release-gate goals missed"  # none tagged
    skipped = ScenarioRecord("Against the baseline", "f", "", ("release-gate",), Status.SKIPPED, (), "no baseline")
    assert decision_line([skipped]) == "cannot decide: no release-gate goal was judged"


def test_decision_md_says_the_gate_first_then_every_goal_then_the_stories() -> None:
    previous = [_found(850), _recall(80)]
    text = decision_markdown("epoch-22", [_found(742), _recall(95), _broken()], previous=previous,
                             previous_name="epoch-16", tracker_url="https://tracker.example/browse/{}")
    assert text == """\
# Decision: ship epoch-22?

**do not ship: 1 release-gate goal missed**

## Release-gate goals: 0 of 1 met

| verdict | goal | measured | margin |
|---|---|---|---|
| **MISSED** | Enough balloons: found at least 800 | 742 of 1,000 | short by 58 |

### Why

- **Enough balloons: found at least 800**: found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least \
800; short by 58

## Every goal, by feature and rule

### Balloon detector: 1 of 2 met

**Rule: Balloons are found**

| verdict | goal | measured | margin |
|---|---|---|---|
| **MISSED** | Enough balloons: found at least 800 | 742 of 1,000 | short by 58 |
| met | Small balloons: recall at least 0.92 | 95.0% (95 of 100) | 3.0 points to spare |

### Red balloons: 0 of 1 met

| verdict | goal | measured | margin |
|---|---|---|---|
| broken | Red balloons | - | - |

## Stories

- **[ML-1](https://tracker.example/browse/ML-1)**: 1 of 2 goals met; since epoch-16: 1 newly met, 1 newly missed
"""


def test_the_html_is_the_same_decision_escaped() -> None:
    page = render_html(decision_blocks("epoch<1>", [_found(742)]))
    assert "<h1>Decision: ship epoch&lt;1&gt;?</h1>" in page
    assert '<p class="verdict bad">do not ship: 1 release-gate goal missed</p>' in page
    assert '<span class="badge bad">MISSED</span>' in page


def test_the_decision_is_written_appended_to_the_job_summary_and_first_in_the_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "a-result.json").write_text(json.dumps({"name": "goal", "start": 5000, "labels": []}), "utf-8")
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    files = write_decision(results, "epoch-22", [_found(850)], allure_results=results, step_summary=summary)
    text = files.markdown.read_text(encoding="utf-8")
    assert text.startswith("# Decision: ship epoch-22?\n\n**ship it**\n")
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + text + "\n"
    assert report_title(results) == "epoch-22: ship it"
    assert files.allure_result is not None
    result = json.loads(files.allure_result.read_text(encoding="utf-8"))
    assert (result["name"], result["status"], result["start"]) == ("Decision: ship epoch-22? → ship it", "unknown",
                                                                  4999)
    assert {"name": "suite", "value": "Decision"} in result["labels"]
    assert "<h1>Decision: ship epoch-22?</h1>" in result["descriptionHtml"]
    assert "<table>" not in result["descriptionHtml"]  # Allure strips a description's styles: tables are attached
    assert [a["type"] for a in result["attachments"]] == ["text/html", "text/markdown"]


def test_results_are_tidied_suite_by_feature_and_the_verdicts_class_name_dropped(tmp_path: Path) -> None:
    message = "found 742 of 1,000 balloons; goal: at least 800; short by 58"
    qualified = f"visionspec.pytest_plugin.outcomes.GoalMissed: {message}"
    result = {"name": "Enough", "labels": [{"name": "feature", "value": "Balloon detector"},
                                          {"name": "story", "value": "Balloons are found"}],
              "statusDetails": {"message": qualified, "trace": message},
              "steps": [{"name": "Then", "statusDetails": {"message": qualified + "\n", "trace": qualified}}]}
    (tmp_path / "x-result.json").write_text(json.dumps(result), encoding="utf-8")
    assert tidy_results(tmp_path) == 1
    tidied = json.loads((tmp_path / "x-result.json").read_text(encoding="utf-8"))
    assert tidied["statusDetails"] == {"message": message}
    assert tidied["steps"][0]["statusDetails"] == {}  # the result says it above: once
    assert {"name": "suite", "value": "Balloon detector"} in tidied["labels"]
    assert {"name": "subSuite", "value": "Balloons are found"} in tidied["labels"]
    assert tidy_results(tmp_path) == 0  # once is enough
    assert shown_message("visionspec.errors.DatasetError: x") == "visionspec.errors.DatasetError: x"


GOALS = """\
@story:ML-7
Feature: Tiny balloons
  Background:
    Given data set "tiny"
    And the candidate detector

  Rule: Balloons are found
    @release-gate
    Scenario: Enough balloons are found
      When the detector ingests the images
      Then it should find at least 9 balloons

    Scenario: Few false alarms
      Given only the images without balloons
      When the detector ingests the images
      Then at most 20% of the images without balloons contain a detection
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VISIONSPEC_TRACKER_URL", "https://tracker.example/browse/{}")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_project(pytester.path)
    (pytester.path / "features" / "goals.feature").write_text(GOALS, encoding="utf-8")
    return pytester


def test_every_run_writes_decision_md_beside_summary_json(project: pytest.Pytester) -> None:
    result = project.runpytest("features", "-p", "no:cacheprovider", "--summary-json", "out/summary.json",
                               "--alluredir", "allure-results")
    assert result.ret == 1
    text = (project.path / "out" / "decision.md").read_text(encoding="utf-8")
    found = "found 8 of 10 balloons (80.0%, 95% CI 49.0-94.3%); goal: at least 9; short by 1"
    alarms = "20.0% (2 of 10)"
    assert text == f"""\
# Decision: ship epoch-01?

**do not ship: 1 release-gate goal missed**

## Release-gate goals: 0 of 1 met

| verdict | goal | measured | margin |
|---|---|---|---|
| **MISSED** | Enough balloons are found: found at least 9 | 8 of 10 | short by 1 |

### Why

- **Enough balloons are found: found at least 9**: {found}

## Every goal, by feature and rule

### Tiny balloons: 1 of 2 met

**Rule: Balloons are found**

| verdict | goal | measured | margin |
|---|---|---|---|
| **MISSED** | Enough balloons are found: found at least 9 | 8 of 10 | short by 1 |
| met | Few false alarms: images without balloons contain a detection at most 20% | {alarms} | met exactly |

## Stories

- **[ML-7](https://tracker.example/browse/ML-7)**: 1 of 2 goals met
"""
    summary = json.loads((project.path / "out" / "summary.json").read_text(encoding="utf-8"))
    first = summary["scenarios"][0]
    assert (first["feature"], first["rule"], first["tags"]) == ("Tiny balloons", "Balloons are found",
                                                               ["release-gate", "story:ML-7"])
    results = [json.loads(path.read_text(encoding="utf-8"))
               for path in (project.path / "allure-results").glob("*-result.json")]
    enough = next(r for r in results if r["name"] == "Enough balloons are found")
    assert enough["statusDetails"]["message"].startswith("found 8 of 10 balloons")
    assert "trace" not in enough["statusDetails"]
    assert {"type": "issue", "name": "ML-7", "url": "https://tracker.example/browse/ML-7"} in enough["links"]
    assert {"name": "suite", "value": "Tiny balloons"} in enough["labels"]
    assert [r["status"] for r in results if r["name"].startswith("Decision: ship epoch-01?")] == ["unknown"]


def test_run_ends_with_the_decision_where_the_results_went_and_how_to_open_the_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_decision(results, "epoch-22", [_found(742)])
    report = Path("report/visionspec-report.html")
    assert where_lines(results, report) == [
        "decision: epoch-22: do not ship: 1 release-gate goal missed",
        f"results: {results}/ (summary.json, decision.md, Allure results)",
        "report: report/visionspec-report.html",
        "open it: xdg-open report/visionspec-report.html  (macOS: open report/visionspec-report.html)",
    ]
    assert where_lines(tmp_path / "none", None) == [
        f"results: {tmp_path / 'none'}/ (summary.json, decision.md, Allure results)",
        f"make the report: visionspec report --results {tmp_path / 'none'}",
    ]
