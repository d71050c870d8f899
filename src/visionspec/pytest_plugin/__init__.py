"""The pytest plugin behind ``visionspec run`` and ``pytest features/``: the only module that imports pytest.

It adds the run options, turns outcomes into the three verdicts (met, missed, broken) and the
exit codes 0 / 1 / 2, maps Gherkin tags and rules to Allure labels, keeps Allure step parameters to
the phrase's own values, names the closest phrases when a step matches nothing, and prints one line
a goal at the end.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import allure
import pytest
from pytest_bdd.parser import Feature, Scenario, Step
from pytest_bdd.scenario import scenario_wrapper_template_registry
from pytest_bdd.steps import step_function_context_registry

from visionspec.goals.verdict import Verdict
from visionspec.report.allure_files import checkpoint_number, write_categories, write_environment, write_executor
from visionspec.report.attach import attach_verdicts
from visionspec.workbench import Workbench

EXIT_BROKEN = 2
GOAL_PROPERTY = "visionspec-goal"
SCENARIO_ID_PROPERTY = "visionspec-scenario"
FEATURES_KEY = pytest.StashKey[list[Path]]()
OUTCOMES_KEY = pytest.StashKey["RunOutcomes"]()
WORKBENCH_KEY = pytest.StashKey[Workbench]()
VERDICTS_KEY = pytest.StashKey[list[Verdict]]()

# Tags of the form "@name:value" that become Allure labels instead of pytest markers.
_LABEL_TAGS = frozenset({"severity", "epic", "feature", "story", "owner", "suite", "tag", "layer"})


@dataclass
class ScenarioOutcome:
    """How one scenario ended, for the terminal summary and summary.json."""

    name: str
    nodeid: str
    status: str  # "met" | "missed" | "broken" | "skipped"
    goals: list[str] = field(default_factory=list)
    message: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # Verdict.to_dict(): the trend's figures


@dataclass
class RunOutcomes:
    """Every scenario's outcome in the order they finished."""

    scenarios: list[ScenarioOutcome] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return any(s.status == "broken" for s in self.scenarios)

    def to_dict(self) -> dict[str, Any]:
        counts = {status: sum(s.status == status for s in self.scenarios) for status in ("met", "missed", "broken")}
        return {"counts": counts, "scenarios": [vars(s) for s in self.scenarios]}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("visionspec", "visionspec: models, data and devices under test")
    group.addoption("--detector", metavar="ONNX", help="detector checkpoint under test (default: newest reference)")
    group.addoption("--colour-model", metavar="ONNX", help="colour model checkpoint under test (default: newest)")
    group.addoption("--device", choices=("auto", "cpu", "cuda"), default="auto", help="execution device")
    group.addoption("--datasets", metavar="DIR", help="data set folder (default: $VISIONSPEC_DATASETS or ./datasets)")
    group.addoption("--models", metavar="DIR", default="models", help="model registry folder")
    group.addoption(
        "--goals",
        action="append",
        default=[],
        metavar="PATH",
        help="feature file or folder to run (repeatable; default: features/)",
    )
    group.addoption("--summary-json", metavar="PATH", help="write the goal-by-goal summary as JSON")
    group.addoption(
        "--checkpoint-name",
        metavar="NAME",
        help="the checkpoint the report's trend reads by (default: the first model's file name)",
    )
    group.addoption("--build-order", type=int, metavar="N", help="position of this run in the trend")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FEATURES_KEY] = [Path(p).resolve() for p in config.getoption("goals")]
    config.stash[OUTCOMES_KEY] = RunOutcomes()


def bound_features(config: pytest.Config, default: Path) -> list[str]:
    """The feature files or folders the binding module hands to ``scenarios()``: ``--goals``, else ``default``."""
    return [str(path) for path in config.stash[FEATURES_KEY] or [default]]


# --- Gherkin tags and rules as Allure labels -------------------------------------------------------


def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    name, sep, value = tag.partition(":")
    if not sep or name not in _LABEL_TAGS:
        return None  # pytest-bdd's default: a marker (declared in pyproject, --strict-markers)
    marker = allure.severity(value) if name == "severity" else allure.label(name, value)
    marker(function)
    return True


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Feature, scenario: Scenario) -> None:
    rule = getattr(scenario, "rule", None)
    if rule is not None and getattr(rule, "name", None):
        allure.dynamic.story(rule.name)
    allure.dynamic.feature(feature.name)


# --- Step parameters: the phrase's values only -----------------------------------------------------


def _phrase_values(step: Step, step_func: Any) -> dict[str, str]:
    """The text the tester wrote for each parameter of the step's phrase (empty optional parts left out)."""
    for context in step_function_context_registry.values():
        if context.step_func is step_func and hasattr(context.parser, "parser"):
            result = context.parser.parser.parse(step.name)
            if result is not None:
                return {name: step.name[start:end] for name, (start, end) in result.spans.items() if end > start}
    return {}


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_step_call(
    request: pytest.FixtureRequest, step: Step, step_func: Any, step_func_args: dict[str, Any], **_: Any
) -> None:
    # allure-pytest-bdd shows every argument (fixtures, whole data sets) as Python reprs; show what the
    # tester wrote instead (and nothing that changes per checkpoint, so Allure's history holds).
    from allure_commons.model2 import Parameter
    from allure_pytest_bdd.pytest_bdd_listener import PytestBDDListener
    from allure_pytest_bdd.steps import get_step_uuid

    values = _phrase_values(step, step_func)
    for plugin in request.config.pluginmanager.get_plugins():
        if isinstance(plugin, PytestBDDListener):
            with plugin.lifecycle.update_step(uuid=get_step_uuid(step)) as result:
                if result is not None:
                    result.parameters = [Parameter(name=name, value=value) for name, value in values.items()]


# --- A step that matches nothing: name the closest phrases -----------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """One phrase of the step library, read from its step definition."""

    keyword: str
    phrase: str
    parameters: tuple[str, ...]
    summary: str
    example: str
    concept: str
    forms: tuple[tuple[str, str], ...]


def _forms(context: Any) -> tuple[tuple[str, str], ...]:
    """(parameter, accepted forms) from the docstrings of the phrase types a step definition uses."""
    types = getattr(getattr(context.parser, "parser", None), "_extra_types", None) or {}
    forms = []
    for name, type_name in re.findall(r"{(\w+):(\w+)}", context.parser.name):
        doc = getattr(types.get(type_name), "__doc__", None)
        if doc:
            forms.append((name, doc.strip()))
    return tuple(forms)


def _entry(context: Any) -> CatalogueEntry:
    func = context.step_func
    doc = [line.strip() for line in (func.__doc__ or "").strip().splitlines()]
    examples = [line.removeprefix("Example:").strip() for line in doc if line.startswith("Example:")]
    parameters = tuple(dict.fromkeys(re.findall(r"{(\w+)(?::\w+)?}", context.parser.name)))
    return CatalogueEntry(
        keyword=(context.type or "step").capitalize(),
        phrase=re.sub(r"{(\w+)(?::\w+)?}", r"<\1>", context.parser.name),
        parameters=parameters,
        summary=doc[0] if doc else "",
        example=examples[0] if examples else "",
        concept=func.__module__.rpartition(".")[2],
        forms=_forms(context),
    )


def step_catalogue() -> list[CatalogueEntry]:
    """Every registered step definition, in the order of its module and phrase."""
    entries = {_entry(c) for c in step_function_context_registry.values()}
    return sorted(entries, key=lambda e: (e.concept, e.keyword != "Given", e.keyword != "When", e.phrase))


def closest_phrases(text: str, limit: int = 3) -> list[str]:
    """The examples of the registered phrases closest to ``text`` (a step that matched nothing)."""
    by_example = {(e.example.split(" ", 1)[1] if e.example else e.phrase): e for e in step_catalogue()}
    matches = difflib.get_close_matches(text, list(by_example), n=limit, cutoff=0.5)
    return [by_example[m].example or f"{by_example[m].keyword} {by_example[m].phrase}" for m in matches]


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_func_lookup_error(step: Step, exception: Exception, **_: Any) -> None:
    suggestions = closest_phrases(step.name)
    hint = "; closest phrases: " + " | ".join(suggestions) if suggestions else ""
    exception.args = (
        f'no step matches "{step.keyword} {step.name}" (line {step.line_number}){hint}. '
        "Run `visionspec steps` for the catalogue.",
    )


# --- Verdicts: met, missed, broken ------------------------------------------------------------------


class GoalMissed(AssertionError):  # noqa: N818 (a verdict, not an error: the test is sound)
    """A goal was judged and missed: the model is not good enough (Allure "failed", exit code 1)."""


def assert_goal(request: pytest.FixtureRequest, *verdicts: Verdict) -> None:
    """Record each verdict on the scenario and its Allure step, then fail with the missed ones' sentences.

    The sentences go to the terminal summary, the JUnit properties and summary.json; the figures are
    attached to the current Allure step as a table.
    """
    for verdict in verdicts:
        request.node.user_properties.append((GOAL_PROPERTY, verdict.sentence))
    request.node.stash.setdefault(VERDICTS_KEY, []).extend(verdicts)
    attach_verdicts(verdicts)
    missed = [verdict.sentence for verdict in verdicts if not verdict.met]
    if missed:
        raise GoalMissed("\n".join(missed))


def _status(report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    if report.skipped:
        return "skipped"
    if report.passed:
        return "met"
    if excinfo is not None and isinstance(excinfo.value, AssertionError):
        return "missed"
    return "broken"


def _first_line(excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    if excinfo is None:
        return ""
    text = str(excinfo.value).strip()
    return text.splitlines()[0] if text else excinfo.typename


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    function = getattr(item, "function", None)
    template = None if function is None else scenario_wrapper_template_registry.get(function)
    if template is None:
        return  # not a scenario (the project's own unit tests)
    # JUnit, the terminal and CI read the scenario's own name, not the generated function's
    variant = item.name.partition("[")[2]
    name = f"{template.name} [{variant}" if variant else template.name
    feature_file = os.path.relpath(template.feature.filename, item.config.invocation_params.dir)
    report.user_properties.append((SCENARIO_ID_PROPERTY, f"{feature_file}::{name}"))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        goals = [str(value) for key, value in item.user_properties if key == GOAL_PROPERTY]
        status = _status(report, call.excinfo)
        verdicts = [verdict.to_dict() for verdict in item.stash.get(VERDICTS_KEY, [])]
        item.config.stash[OUTCOMES_KEY].scenarios.append(
            ScenarioOutcome(name, item.nodeid, status, goals, _first_line(call.excinfo), verdicts)
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
    if outcomes is None:
        return
    if outcomes.broken or exitstatus not in _JUDGED:
        session.exitstatus = EXIT_BROKEN
    _write_allure_metadata(session.config)
    path = session.config.getoption("summary_json")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(outcomes.to_dict(), indent=2) + "\n", encoding="utf-8")


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
    checkpoint = config.getoption("checkpoint_name") or workbench.models[0].path.stem
    write_executor(folder, checkpoint, config.getoption("build_order") or checkpoint_number(checkpoint) or 0)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    outcomes = config.stash.get(OUTCOMES_KEY, None)
    if outcomes is None or not outcomes.scenarios:
        return
    terminalreporter.section("visionspec goals")
    for scenario in outcomes.scenarios:
        label = {"met": "MET    ", "missed": "MISSED ", "broken": "BROKEN ", "skipped": "SKIPPED"}[scenario.status]
        detail = "; ".join(scenario.goals) if scenario.status != "broken" else scenario.message
        terminalreporter.write_line(f"{label} {scenario.name}: {detail}")


__all__ = ["GoalMissed", "assert_goal", "bound_features", "closest_phrases", "step_catalogue"]
