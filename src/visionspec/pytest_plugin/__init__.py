"""The pytest plugin behind ``visionspec run`` and plain ``pytest``: the only package that imports pytest.

Installed with visionspec (entry point ``pytest11``), so ``pytest`` in any folder collects ``.feature``
files directly: no binding module, no conftest. It registers the step library and the run fixtures,
turns outcomes into the three verdicts (met, missed, broken) and the exit codes 0 / 1 / 2, judges every
goal of a scenario (a miss never hides the goals after it), refuses a scenario without a goal, reports
unknown phrases before any model runs, maps Gherkin tags and rules to Allure labels (tags need no
declaration), keeps Allure step parameters to the phrase's own values and prints one line a goal.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import allure
import pytest

from visionspec.errors import VisionSpecError
from visionspec.files import write_text_atomic
from visionspec.goals.verdict import ExitCode, Status
from visionspec.project import ProjectConfig, find_project
from visionspec.pytest_plugin import compat
from visionspec.pytest_plugin.catalogue import closest_phrases, step_catalogue, unknown_step_message
from visionspec.pytest_plugin.outcomes import (
    STEP_VERDICTS_KEY,
    VERDICTS_KEY,
    GoalMissed,
    NoGoal,
    PreconditionMissed,
    RunOutcomes,
    ScenarioOutcome,
    assert_goal,
    missed_sentences,
)
from visionspec.report.allure_files import (
    checkpoint_number,
    shown_path,
    write_categories,
    write_environment,
    write_executor,
)
from visionspec.report.allure_results import tidy_results
from visionspec.report.decision import write_decision
from visionspec.workbench import Workbench

pytest_plugins = [
    "visionspec.pytest_plugin.fixtures",
    "visionspec.pytest_plugin.steps.datasets",
    "visionspec.pytest_plugin.steps.models",
    "visionspec.pytest_plugin.steps.actions",
    "visionspec.pytest_plugin.steps.goals",
    "visionspec.pytest_plugin.steps.baseline",
    "visionspec.pytest_plugin.steps.service",
]

SCENARIO_ID_PROPERTY = "visionspec-scenario"
GOAL_PROPERTY = "visionspec-goal"
OUTCOMES_KEY = pytest.StashKey[RunOutcomes]()
PROJECT_KEY = pytest.StashKey[ProjectConfig]()
WORKBENCH_KEY = pytest.StashKey[Workbench]()
_UNKNOWN_STEPS_KEY = pytest.StashKey[list[str]]()
_STEPS_DONE_KEY = pytest.StashKey[int]()

# Tags of the form "@name:value" that become Allure labels instead of pytest markers.
_LABEL_TAGS = frozenset({"severity", "epic", "feature", "owner", "suite", "tag", "layer"})
TRACKER_URL_ENV = "VISIONSPEC_TRACKER_URL"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("visionspec", "visionspec: models, data and devices under test")
    group.addoption("--detector", metavar="ONNX", help="detector checkpoint under test (default: newest in models/)")
    group.addoption("--card", metavar="CARD", help="the candidate detector's model card (default: found beside it)")
    group.addoption("--colour-model", metavar="ONNX", help="colour model checkpoint under test (default: newest)")
    group.addoption("--device", choices=("auto", "cpu", "cuda"), default="auto", help="execution device")
    group.addoption("--backend", choices=("local", "ray"), default=None,
                    help="where detectors run: local, or ray (Ray Data on the cluster at $RAY_ADDRESS, else a local "
                    "Ray runtime); default: $VISIONSPEC_BACKEND, else the config's backend, else local")
    group.addoption("--datasets", metavar="DIR", help="data set folder (default: $VISIONSPEC_DATASETS or ./datasets)")
    group.addoption("--models", metavar="DIR", help="model registry folder (default: the config's, else ./models)")
    group.addoption("--summary-json", metavar="PATH", help="write the goal-by-goal summary as JSON")
    group.addoption("--checkpoint-name", metavar="NAME",
                    help="the checkpoint the report's trend reads by (default: the candidate detector's file name)")
    group.addoption("--build-order", type=int, metavar="N", help="position of this run in the trend")
    group.addoption("--previous-summary", metavar="PATH",
                    help="the previous checkpoint's summary.json: decision.md tells each story's changes since it")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES_KEY] = RunOutcomes()
    project = find_project(config.invocation_params.dir)
    config.stash[PROJECT_KEY] = project
    for tag in project.tags:
        config.addinivalue_line("markers", f"{tag}: a tag of the project's config")
    compat.install_allure_fixes()


# --- Feature files are test modules -----------------------------------------------------------------


class FeatureFile(pytest.Module):
    """A ``.feature`` file collected as a module of pytest-bdd scenario tests; a bad file is one broken item."""

    def _getobj(self) -> ModuleType:
        module = ModuleType(f"visionspec_feature_{abs(hash(str(self.path)))}")
        module.__file__ = str(self.path)
        for name, test in compat.scenario_tests(self.path).items():
            setattr(module, name, test)
        return module

    def collect(self) -> Any:
        try:
            scenarios = compat.parse_feature(self.path).scenarios
        except Exception as err:  # any parse failure: pytest-bdd's, gherkin's, a KeyError on an empty file
            reason = _feature_error(self._shown, self.path, err)
            return [BrokenFeature.from_parent(self, name=self.path.name, reason=reason)]
        if not scenarios:
            reason = f"{self._shown}: holds no scenario, so it states no goal; fix: add a Scenario with a Then goal"
            return [BrokenFeature.from_parent(self, name=self.path.name, reason=reason)]
        return super().collect()

    @property
    def _shown(self) -> str:
        return shown_path(self.path, self.config.invocation_params.dir)


class BrokenFeature(pytest.Item):
    """A feature file that cannot be read: broken, naming the file and line; the other files still run."""

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        raise VisionSpecError(self.reason)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


def _feature_error(shown: str, path: Path, err: Exception) -> str:
    line = getattr(err, "line", None)
    where = f"{shown}, line {line}" if line else shown
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    if isinstance(err, KeyError) and not path.read_text(encoding="utf-8", errors="replace").strip():
        text = "the file is empty"
    return f"{where}: not a readable feature file: {text}; fix: one Feature: a file, with its scenarios below it"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        collector: pytest.Collector = FeatureFile.from_parent(parent, path=file_path)
        return collector
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A step that matches no phrase is found before any model runs; those scenarios run first and stop at once.
    unknown_lines: list[str] = []
    for item in items:
        template = compat.scenario_template(getattr(item, "function", None))
        if template is None:
            continue
        callspec = getattr(item, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example", {}) if callspec is not None else {}
        unknown = [  # an outline's steps as its Examples row renders them
            unknown_step_message(step.keyword, step.name, step.line_number)
            for step in template.render(example).steps if not compat.matches_some_step(step)
        ]
        if unknown:
            item.stash[_UNKNOWN_STEPS_KEY] = unknown
            unknown_lines += [f"  {_scenario_name(item, template)}: {line}" for line in unknown]
    items.sort(key=lambda item: _UNKNOWN_STEPS_KEY not in item.stash and not isinstance(item, BrokenFeature))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if unknown_lines and reporter is not None:  # said now, not after the models ran
        reporter.write_line(f"visionspec: {len(unknown_lines)} step(s) match no phrase; their scenarios are broken:")
        for line in unknown_lines:
            reporter.write_line(line)


# --- Gherkin tags and rules as Allure labels -------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    name, sep, value = tag.partition(":")
    if name == "story" and value:
        # a backlog item: a link to the team's tracker (Allure "issue" link), or a tag without a tracker
        url = tracker_url(compat.current_config())
        (allure.issue(url.format(value), name=value) if url else allure.tag(tag))(function)
        return True
    if not sep or name not in _LABEL_TAGS:
        config = compat.current_config()
        if tag not in {line.split(":")[0].strip() for line in config.getini("markers")}:
            config.addinivalue_line("markers", f"{tag}: a Gherkin tag")  # testers' tags need no declaration
        return None  # pytest-bdd's default: a marker
    marker = allure.severity(value) if name == "severity" else allure.label(name, value)
    marker(function)
    return True


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    rule = getattr(scenario, "rule", None)
    if rule is not None and getattr(rule, "name", None):
        allure.dynamic.story(rule.name)
    allure.dynamic.feature(feature.name)
    unknown = request.node.stash.get(_UNKNOWN_STEPS_KEY, None)
    if unknown:
        raise VisionSpecError("; ".join(unknown))


# --- Step parameters: the phrase's values only -----------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_step_call(request: pytest.FixtureRequest, step: Any, step_func: Any, **_: Any) -> None:
    # allure-pytest-bdd shows every argument (fixtures, whole data sets) as Python reprs; show what the
    # tester wrote instead (and nothing that changes per checkpoint, so Allure's history holds).
    compat.set_step_parameters(request, step, compat.phrase_spans(step, step_func))


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, step: Any, exception: Exception,
                                      **_: Any) -> None:
    exception.args = (unknown_step_message(step.keyword, step.name, step.line_number),)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_step(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    # A goal step records its verdicts and returns; when one missed, its Allure step is failed here.
    request.node.stash[_STEPS_DONE_KEY] = request.node.stash.get(_STEPS_DONE_KEY, 0) + 1
    verdicts = list(request.node.stash.get(STEP_VERDICTS_KEY, []))
    request.node.stash[STEP_VERDICTS_KEY] = []
    missed = missed_sentences(verdicts)
    if missed:
        compat.stop_step_with(request, step, GoalMissed(missed))


@pytest.hookimpl(trylast=True)
def pytest_bdd_after_scenario(request: pytest.FixtureRequest, scenario: Any, **_: Any) -> None:
    if request.node.stash.get(_STEPS_DONE_KEY, 0) < len(scenario.steps) or not isinstance(
        request.node.parent, FeatureFile
    ):
        return  # a step raised (or skipped the scenario), or a scenario bound by someone else's own module
    verdicts = list(request.node.stash.get(VERDICTS_KEY, []))
    if not verdicts:
        raise NoGoal('the scenario states no goal, so it cannot be met; fix: add a "Then" goal '
                     "(see `visionspec steps`)")
    missed = missed_sentences(verdicts)
    if missed:
        raise GoalMissed(missed)


# --- Verdicts: met, missed, broken ------------------------------------------------------------------

_VERDICT_EXCEPTIONS = (GoalMissed, PreconditionMissed, NoGoal, VisionSpecError)


def _status(report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> Status:
    if report.skipped:
        return Status.SKIPPED
    if report.passed:
        return Status.MET
    if excinfo is not None and isinstance(excinfo.value, AssertionError):
        return Status.MISSED
    return Status.BROKEN


def _message(excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    if excinfo is None or isinstance(excinfo.value, GoalMissed):
        return ""  # the goals' own sentences say it
    return str(excinfo.value).strip() or excinfo.typename


def _scenario_name(item: pytest.Item, template: Any | None) -> str:
    if template is None:
        return item.name
    variant = item.name.partition("[")[2]
    name = f"{template.name} [{variant}" if variant else template.name
    return _ANSI.sub("", name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    template = compat.scenario_template(getattr(item, "function", None))
    if template is None and not isinstance(item, BrokenFeature):
        return  # not a scenario (the project's own unit tests)
    name = _scenario_name(item, template)
    filename = template.feature.filename if template is not None else item.path
    feature_file = shown_path(Path(filename), item.config.invocation_params.dir)
    report.user_properties.append((SCENARIO_ID_PROPERTY, f"{feature_file}::{name}"))
    if call.excinfo is not None and isinstance(call.excinfo.value, _VERDICT_EXCEPTIONS):
        report.longrepr = str(call.excinfo.value)  # the verdict, not a traceback
    if report.when == "call" or (report.when == "setup" and not report.passed):
        verdicts = list(item.stash.get(VERDICTS_KEY, ()))
        for verdict in verdicts:
            report.user_properties.append((GOAL_PROPERTY, verdict.message))
        rule = getattr(template, "rule", None)
        tags = set() if template is None else {*template.tags, *template.feature.tags, *getattr(rule, "tags", ())}
        item.config.stash[OUTCOMES_KEY].scenarios.append(
            ScenarioOutcome(name, f"{feature_file}::{name}", _status(report, call.excinfo), verdicts,
                            _message(call.excinfo), template.feature.name if template is not None else "",
                            getattr(rule, "name", "") or "", tuple(sorted(tags)))
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Renamed only here (after allure-pytest-bdd has filed the report under the real node id), so the
    # terminal, JUnit XML and CI read "features/x.feature::Scenario name", not "test_scenario_name".
    for key, value in report.user_properties:
        if key == SCENARIO_ID_PROPERTY:
            report.nodeid = str(value)


_JUDGED = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    outcomes = session.config.stash.get(OUTCOMES_KEY, None)
    if outcomes is None or not outcomes.scenarios:
        return
    session.exitstatus = int(ExitCode.BROKEN if exitstatus not in _JUDGED else outcomes.exit_code)
    _write_allure_metadata(session.config)
    path = session.config.getoption("summary_json")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        summary = {**outcomes.to_dict(), "warnings": _warnings(session.config)}
        write_text_atomic(Path(path), json.dumps(summary, indent=2) + "\n")
    _write_decision(session.config, outcomes)


def _warnings(config: pytest.Config) -> list[str]:
    """What went wrong without changing a verdict (a prediction cache that could not be written)."""
    workbench = config.stash.get(WORKBENCH_KEY, None)
    warning = None if workbench is None else workbench.cache.write_warning()
    return [] if warning is None else [warning]


def tracker_url(config: pytest.Config) -> str:
    """The tracker's URL pattern for story tags: the config's ``tracker_url``, else ``$VISIONSPEC_TRACKER_URL``."""
    project = config.stash.get(PROJECT_KEY, None)
    return getattr(project, "tracker_url", "") or os.environ.get(TRACKER_URL_ENV, "")


def _checkpoint_name(config: pytest.Config) -> str:
    """The candidate checkpoint's name: ``--checkpoint-name``, else the candidate model's file name."""
    workbench = config.stash.get(WORKBENCH_KEY, None)
    if config.getoption("checkpoint_name"):
        return str(config.getoption("checkpoint_name"))
    if workbench is None or not workbench.models:
        return "the candidate"
    return (workbench.candidate_detector or workbench.models[0]).path.stem


def _write_decision(config: pytest.Config, outcomes: RunOutcomes) -> None:
    """decision.md beside summary.json (else in the Allure results), the report's first entry, CI's job summary."""
    results = config.getoption("allure_report_dir", None)
    summary = config.getoption("summary_json")
    folder = Path(summary).parent if summary else Path(results) if results else None
    if folder is None:
        return
    previous = config.getoption("previous_summary")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    write_decision(folder, _checkpoint_name(config), [scenario.record() for scenario in outcomes.scenarios],
                   previous_summary=Path(previous) if previous else None, tracker_url=tracker_url(config),
                   allure_results=Path(results) if results else None,
                   step_summary=Path(step_summary) if step_summary else None)
    if results:
        tidy_results(Path(results))


def _write_allure_metadata(config: pytest.Config) -> None:
    """environment.properties (models, hashes, data sets, provider), executor.json (the checkpoint), categories."""
    results = config.getoption("allure_report_dir", None)
    workbench = config.stash.get(WORKBENCH_KEY, None)
    if not results:
        return
    folder = Path(results)
    write_categories(folder)
    if workbench is None or not workbench.models:
        return
    write_environment(folder, workbench.environment())
    checkpoint = _checkpoint_name(config)
    write_executor(folder, checkpoint, config.getoption("build_order") or checkpoint_number(checkpoint) or 0)


_LABELS = {Status.MET: "MET    ", Status.MISSED: "MISSED ", Status.BROKEN: "BROKEN ", Status.SKIPPED: "SKIPPED"}


def goal_lines(outcomes: RunOutcomes) -> list[str]:
    """One line a goal (and one for a scenario that is broken or stopped by a precondition)."""
    lines = []
    for scenario in outcomes.scenarios:
        for verdict in scenario.verdicts:
            lines.append(f"{_LABELS[verdict.status]} {scenario.name}: {verdict.message}")
        if scenario.message or not scenario.verdicts:
            lines.append(f"{_LABELS[scenario.status]} {scenario.name}: {_ANSI.sub('', scenario.message)}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    outcomes = config.stash.get(OUTCOMES_KEY, None)
    if outcomes is None or not outcomes.scenarios:
        return
    terminalreporter.section("visionspec goals")
    for line in goal_lines(outcomes):
        terminalreporter.write_line(line)
    for warning in _warnings(config):
        terminalreporter.write_line(f"WARNING {warning}")


__all__ = ["GoalMissed", "assert_goal", "closest_phrases", "goal_lines", "step_catalogue"]
