"""Verdicts recorded during a run: each scenario's goals, its status, and the run's summary.

Goal steps record their verdicts with ``assert_goal`` and go on; the scenario fails at its end with
every missed goal (``GoalMissed``), so one miss never hides the goals after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from visionspec.goals.verdict import ExitCode, Status, Verdict
from visionspec.report.attach import attach_verdicts
from visionspec.report.decision import ScenarioRecord

VERDICTS_KEY = pytest.StashKey[list[Verdict]]()
STEP_VERDICTS_KEY = pytest.StashKey[list[Verdict]]()


class GoalMissed(AssertionError):  # noqa: N818 (a verdict, not an error: the test is sound)
    """A goal was judged and missed: the model is not good enough (Allure "failed", exit code 1)."""


class PreconditionMissed(AssertionError):  # noqa: N818 (a verdict about the model's output)
    """A precondition on the model's output does not hold: the model fell short (missed, exit code 1)."""


class NoGoal(Exception):  # noqa: N818 (a verdict: the scenario cannot pass)
    """A scenario states no goal, so it cannot be met (broken, exit code 2)."""


def assert_goal(request: pytest.FixtureRequest, *verdicts: Verdict) -> None:
    """Record each verdict on the scenario and its Allure step (as a table); never stop the scenario.

    The scenario ends missed when any of its goals is (``pytest_bdd_after_scenario``), and the goal's
    own Allure step is marked failed (``pytest_bdd_after_step``).
    """
    request.node.stash.setdefault(VERDICTS_KEY, []).extend(verdicts)
    request.node.stash.setdefault(STEP_VERDICTS_KEY, []).extend(verdicts)
    attach_verdicts(verdicts)


def missed_sentences(verdicts: list[Verdict]) -> str:
    """The sentences of the missed goals, one a line."""
    return "\n".join(verdict.message for verdict in verdicts if verdict.status is Status.MISSED)


@dataclass
class ScenarioOutcome:
    """How one scenario ended, for the terminal summary and summary.json.

    Attributes:
        name: the scenario's name (with its Examples row).
        nodeid: ``features/x.feature::name``.
        status: met, missed, broken or skipped.
        verdicts: every goal judged, in order (also those after a miss).
        message: why it is broken, or the precondition it missed (empty when its goals say it all).
        feature: the feature's name.
        rule: the Rule's name, or empty.
        tags: its Gherkin tags without ``@``, the feature's and the rule's included, sorted.
    """

    name: str
    nodeid: str
    status: Status
    verdicts: list[Verdict] = field(default_factory=list)
    message: str = ""
    feature: str = ""
    rule: str = ""
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for summary.json."""
        return {"name": self.name, "nodeid": self.nodeid, "feature": self.feature, "rule": self.rule,
                "tags": list(self.tags), "status": self.status.value,
                "goals": [verdict.message for verdict in self.verdicts], "message": self.message,
                "verdicts": [verdict.to_dict() for verdict in self.verdicts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioOutcome:
        """The outcome ``to_dict`` wrote."""
        return cls(str(data["name"]), str(data.get("nodeid", "")), Status(data["status"]),
                   [Verdict.from_dict(verdict) for verdict in data.get("verdicts", [])], str(data.get("message", "")),
                   str(data.get("feature", "")), str(data.get("rule", "")),
                   tuple(str(tag) for tag in data.get("tags", ())))

    def record(self) -> ScenarioRecord:
        """The scenario as the decision reads it."""
        return ScenarioRecord(self.name, self.feature, self.rule, self.tags, self.status, tuple(self.verdicts),
                              self.message)


@dataclass
class RunOutcomes:
    """Every scenario's outcome in the order they finished."""

    scenarios: list[ScenarioOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """0 every goal met, 1 a goal missed, 2 a scenario broken."""
        return ExitCode.of(scenario.status for scenario in self.scenarios)

    def to_dict(self) -> dict[str, Any]:
        """summary.json: counts by status and every scenario with its verdicts."""
        counts = {status.value: sum(s.status is status for s in self.scenarios)
                  for status in (Status.MET, Status.MISSED, Status.BROKEN)}
        return {"counts": counts, "exit_code": int(self.exit_code),
                "scenarios": [scenario.to_dict() for scenario in self.scenarios]}
