"""The decision for the candidate checkpoint: can we ship it? As ``decision.md`` and as HTML for the report.

First the release-gate goals (scenarios tagged ``@release-gate``; every goal when none is tagged) met or
missed, by how much, and the one-line reason of each miss, under a one-line verdict: ``ship it``,
``do not ship: N release-gate goals missed`` or ``cannot decide: N release-gate goals broken``. Then
every goal grouped by feature and rule with its measured value and margin; then the stories
(``@story:ML-123``): each one's goals met on this checkpoint and, given the previous checkpoint's
summary, those newly met and newly missed.

The text is built once as blocks (headings, paragraphs, tables, lists) and rendered twice, as Markdown
(CI's job summary, a merge-request comment) and as HTML (the report), so both say the same.

Example:
    >>> record = ScenarioRecord("Recall on all balloons", "Balloon detector", "", ("release-gate",), Status.MET, ())
    >>> decision_line([record])
    'ship it'
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from visionspec.goals.verdict import Status, Unit, Verdict, format_value, margin_amount

DECISION_FILE = "decision.md"
RELEASE_GATE_TAG = "release-gate"
STORY_TAG = "story"
Tone = Literal["good", "bad", "neutral"]


@dataclass(frozen=True)
class ScenarioRecord:
    """One scenario as the decision reads it (the plugin's ``ScenarioOutcome``, or a summary.json entry).

    Attributes:
        name: the scenario's name (with its Examples row).
        feature: the feature's name.
        rule: the Rule's name, or empty.
        tags: its Gherkin tags without ``@`` (the feature's and the rule's included).
        status: met, missed, broken or skipped.
        verdicts: every goal judged, in order.
        message: why it is broken or skipped, or the precondition it missed; empty when its goals say it all.
    """

    name: str
    feature: str
    rule: str
    tags: tuple[str, ...]
    status: Status
    verdicts: tuple[Verdict, ...]
    message: str = ""

    @property
    def release_gate(self) -> bool:
        """True when tagged ``@release-gate``."""
        return RELEASE_GATE_TAG in self.tags

    @property
    def stories(self) -> tuple[str, ...]:
        """The backlog items its ``@story:ML-123`` tags name, e.g. ``("ML-123",)``."""
        prefix = STORY_TAG + ":"
        return tuple(sorted({tag[len(prefix):] for tag in self.tags if tag.startswith(prefix) and tag != prefix}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioRecord:
        """A scenario of summary.json (``RunOutcomes.to_dict``)."""
        return cls(str(data.get("name", "")), str(data.get("feature", "")), str(data.get("rule", "")),
                   tuple(str(tag) for tag in data.get("tags", ())), Status(data.get("status", "broken")),
                   tuple(Verdict.from_dict(verdict) for verdict in data.get("verdicts", ())),
                   str(data.get("message", "")))


def records_of_summary(summary: Mapping[str, Any]) -> list[ScenarioRecord]:
    """The scenarios of a summary.json document."""
    return [ScenarioRecord.from_dict(scenario) for scenario in summary.get("scenarios", ())
            if isinstance(scenario, Mapping)]


def read_summary(path: Path) -> list[ScenarioRecord] | None:
    """The scenarios of the summary.json at ``path``; None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return records_of_summary(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- Goals: one line a judged goal, or a scenario that could not be judged --------------------------------


@dataclass(frozen=True)
class GoalLine:
    """One goal of a scenario (or, for a scenario broken, skipped or stopped by a precondition, its reason)."""

    scenario: ScenarioRecord
    status: Status
    goal: str
    measured: str
    margin: str
    reason: str
    key: tuple[str, ...] = field(default=())


def goal_lines(scenario: ScenarioRecord) -> list[GoalLine]:
    """The goals of ``scenario``, in order, then its own reason when its goals do not say it all."""
    lines = []
    seen: dict[tuple[str, ...], int] = {}
    for verdict in scenario.verdicts:
        base = (scenario.feature, scenario.name, verdict.measurement.figure, str(verdict.goal))
        seen[base] = seen.get(base, 0) + 1
        lines.append(GoalLine(scenario, verdict.status, f"{verdict.measurement.figure} {verdict.goal}".strip(),
                              measured_text(verdict), margin_text(verdict), verdict.message,
                              (*base, str(seen[base]))))
    judged_miss = any(verdict.status is Status.MISSED for verdict in scenario.verdicts)
    if scenario.status in (Status.BROKEN, Status.SKIPPED) or (scenario.status is Status.MISSED and not judged_miss):
        why = scenario.message or {Status.BROKEN: "could not be judged", Status.SKIPPED: "not run",
                                   Status.MISSED: "missed"}[scenario.status]
        lines.append(GoalLine(scenario, scenario.status, "", "-", "-", why,
                              (scenario.feature, scenario.name, "", "", "scenario")))
    return lines


def measured_text(verdict: Verdict) -> str:
    """``742 of 1,000`` for a count goal, ``74.2% (742 of 1,000)`` for a rate, ``0.853`` for a score."""
    measured = verdict.measurement
    if measured.count is None:
        return format_value(measured.value, measured.unit)
    of = f"{measured.count:,} of {measured.total:,}"
    if verdict.margin_unit is Unit.COUNT:
        return of
    return f"{format_value(measured.value, Unit.RATE)} ({of})"


def margin_text(verdict: Verdict) -> str:
    """``3.6 points to spare``, ``short by 58``, ``over by 2``; ``-`` when there was nothing to hold."""
    if verdict.margin is None:
        return "-"
    amount = margin_amount(verdict.margin, verdict.margin_unit)
    if verdict.met:
        return f"{amount} to spare" if verdict.margin else "met exactly"
    return f"short by {amount}" if verdict.goal.comparison.wants_more else f"over by {amount}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def gate_of(scenarios: Sequence[ScenarioRecord]) -> tuple[list[ScenarioRecord], bool]:
    """The release-gate scenarios, and whether any is tagged (when none is, every scenario is the gate)."""
    tagged = [scenario for scenario in scenarios if scenario.release_gate]
    return (tagged, True) if tagged else (list(scenarios), False)


def decision_line(scenarios: Sequence[ScenarioRecord]) -> str:
    """``ship it``, ``do not ship: N release-gate goals missed`` or ``cannot decide: N release-gate goals broken``.

    A missed gate goal decides (do not ship) even when others are broken; a broken one leaves the
    decision open; a gate with nothing judged (all skipped) cannot decide either.
    """
    gate, _ = gate_of(scenarios)
    lines = [line for scenario in gate for line in goal_lines(scenario)]
    missed = sum(line.status is Status.MISSED for line in lines)
    broken = sum(line.status is Status.BROKEN for line in lines)
    if missed:
        also = f" ({_count(broken, 'more goal')} broken)" if broken else ""
        return f"do not ship: {_count(missed, 'release-gate goal')} missed{also}"
    if broken:
        return f"cannot decide: {_count(broken, 'release-gate goal')} broken"
    if not any(line.status is Status.MET for line in lines):
        return "cannot decide: no release-gate goal was judged"
    return "ship it"


def decision_tone(line: str) -> Tone:
    """Green for ship it, red for do not ship, grey for cannot decide."""
    return "good" if line == "ship it" else "bad" if line.startswith("do not ship") else "neutral"


# --- Blocks, rendered as Markdown and as HTML ---------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: Literal["plain", "strong", "verdict"] = "plain"
    tone: Tone = "neutral"


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tones: tuple[Tone, ...]
    """the tone of each row's first cell (its verdict)"""


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[str, str], ...]
    """(bold lead, rest) per item; a lead may be a link written as (text, url) in ``links``"""
    links: tuple[str, ...] = ()


Block = Heading | Paragraph | Table | Bullets

_VERDICT_WORDS = {Status.MET: "met", Status.MISSED: "MISSED", Status.BROKEN: "broken", Status.SKIPPED: "skipped"}
_TONES: dict[Status, Tone] = {Status.MET: "good", Status.MISSED: "bad", Status.BROKEN: "neutral",
                              Status.SKIPPED: "neutral"}


def decision_blocks(
    checkpoint: str,
    scenarios: Sequence[ScenarioRecord],
    *,
    previous: Sequence[ScenarioRecord] | None = None,
    previous_name: str = "the previous checkpoint",
    tracker_url: str = "",
) -> list[Block]:
    """The decision as blocks: the verdict, the release gate, every goal by feature and rule, the stories."""
    line = decision_line(scenarios)
    blocks: list[Block] = [Heading(1, f"Decision: ship {checkpoint}?"), Paragraph(line, "verdict", decision_tone(line))]
    gate, tagged = gate_of(scenarios)
    gate_lines = [goal for scenario in gate for goal in goal_lines(scenario)]
    met = sum(goal.status is Status.MET for goal in gate_lines)
    title = "Release-gate goals" if tagged else "Release-gate goals (none is tagged @release-gate: every goal)"
    blocks += [Heading(2, f"{title}: {met} of {len(gate_lines)} met"), _goal_table(gate_lines, with_scenario=True)]
    misses = [goal for goal in gate_lines if goal.status in (Status.MISSED, Status.BROKEN)]
    if misses:
        blocks += [Heading(3, "Why"), Bullets(tuple((_title(goal), goal.reason) for goal in misses))]
    blocks += _every_goal(scenarios)
    blocks += _stories(scenarios, previous, previous_name, tracker_url)
    return blocks


def _title(goal: GoalLine) -> str:
    return f"{goal.scenario.name}: {goal.goal}" if goal.goal else goal.scenario.name


def _goal_table(lines: Sequence[GoalLine], *, with_scenario: bool) -> Table:
    header = ("verdict", "goal", "measured", "margin")
    rows = tuple((_VERDICT_WORDS[goal.status], _title(goal) if with_scenario else goal.goal or goal.reason,
                  goal.measured, goal.margin) for goal in lines)
    return Table(header, rows, tuple(_TONES[goal.status] for goal in lines))


def _every_goal(scenarios: Sequence[ScenarioRecord]) -> list[Block]:
    """Every goal, grouped by feature, then rule (first seen first)."""
    groups: dict[str, dict[str, list[GoalLine]]] = {}
    for scenario in scenarios:
        rules = groups.setdefault(scenario.feature or "(no feature)", {})
        rules.setdefault(scenario.rule, []).extend(goal_lines(scenario))
    blocks: list[Block] = [Heading(2, "Every goal, by feature and rule")]
    for feature, rules in groups.items():
        lines = [goal for goals in rules.values() for goal in goals]
        met = sum(goal.status is Status.MET for goal in lines)
        blocks.append(Heading(3, f"{feature}: {met} of {len(lines)} met"))
        for rule, goals in rules.items():
            if rule:
                blocks.append(Paragraph(f"Rule: {rule}", "strong"))
            blocks.append(_goal_table(goals, with_scenario=True))
    return blocks


def _stories(
    scenarios: Sequence[ScenarioRecord], previous: Sequence[ScenarioRecord] | None, previous_name: str,
    tracker_url: str,
) -> list[Block]:
    """One line a story: its goals met, and what changed since the previous checkpoint."""
    by_story: dict[str, list[GoalLine]] = {}
    for scenario in scenarios:
        for story in scenario.stories:
            by_story.setdefault(story, []).extend(goal_lines(scenario))
    blocks: list[Block] = [Heading(2, "Stories")]
    if not by_story:
        return [*blocks, Paragraph("No goal names a backlog item: tag a scenario @story:ML-123 to tie it to one.")]
    before = None if previous is None else {goal.key: goal.status for s in previous for goal in goal_lines(s)}
    items, links = [], []
    for story in sorted(by_story):
        goals = by_story[story]
        met = sum(goal.status is Status.MET for goal in goals)
        text = f"{met} of {len(goals)} goals met"
        if before is not None:
            newly_met = sum(goal.status is Status.MET and before.get(goal.key, Status.MET) is not Status.MET
                            for goal in goals)
            newly_missed = sum(goal.status is Status.MISSED and before.get(goal.key) is Status.MET for goal in goals)
            text += f"; since {previous_name}: {newly_met} newly met, {newly_missed} newly missed"
        items.append((story, text))
        links.append(tracker_url.format(story) if tracker_url else "")
    return [*blocks, Bullets(tuple(items), tuple(links))]


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: Iterable[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text if block.style == "plain" else f"**{block.text}**")
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header)]
            for row in block.rows:
                cells = [f"**{row[0]}**" if row[0] == "MISSED" else row[0], *row[1:]]
                lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
            out.append("\n".join(lines))
        else:
            links = block.links or ("",) * len(block.items)
            out.append("\n".join(f"- **{f'[{lead}]({link})' if link else lead}**: {rest}"
                                 for (lead, rest), link in zip(block.items, links, strict=True)))
    return "\n\n".join(out) + "\n"


_STYLE = """
body { margin: 0; padding: 8px 12px; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #212121; background: #fff; }
h1 { font-size: 20px; margin: 4px 0 6px; } h2 { font-size: 17px; margin: 18px 0 6px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
p.verdict { font-size: 18px; font-weight: 700; padding: 6px 12px; border-radius: 6px; display: inline-block; }
p.good { background: #e8f5e9; color: #1b5e20; } p.bad { background: #ffebee; color: #b71c1c; }
p.neutral { background: #eceff1; color: #37474f; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e0e0e0; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
span.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
span.good { background: #e8f5e9; color: #1b5e20; } span.bad { background: #ffebee; color: #b71c1c; }
span.neutral { background: #eceff1; color: #37474f; }
ul { margin: 4px 0; padding-left: 22px; }
""".strip()


def render_html(blocks: Iterable[Block], *, page: bool = True) -> str:
    """The blocks as HTML: a whole page (an attachment), or a fragment (an Allure description)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = html.escape(block.text)
            if block.style == "verdict":
                out.append(f'<p class="verdict {block.tone}">{text}</p>')
            else:
                out.append(f"<p><b>{text}</b></p>" if block.style == "strong" else f"<p>{text}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(name)}</th>" for name in block.header)
            rows = "".join(
                f'<tr><td><span class="badge {tone}">{html.escape(row[0])}</span></td>'
                + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:]) + "</tr>"
                for row, tone in zip(block.rows, block.tones, strict=True))
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            links = block.links or ("",) * len(block.items)
            items = "".join(
                f"<li><b>{_html_link(lead, link)}</b>: {html.escape(rest)}</li>"
                for (lead, rest), link in zip(block.items, links, strict=True))
            out.append(f"<ul>{items}</ul>")
    body = "\n".join(out)
    if not page:
        return body
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><style>\n{_STYLE}\n</style></head><body>\n{body}\n' \
           "</body></html>\n"


def _html_link(text: str, url: str) -> str:
    shown = html.escape(text)
    return f'<a href="{html.escape(url, quote=True)}" target="_blank">{shown}</a>' if url else shown


def decision_markdown(
    checkpoint: str,
    scenarios: Sequence[ScenarioRecord],
    *,
    previous: Sequence[ScenarioRecord] | None = None,
    previous_name: str = "the previous checkpoint",
    tracker_url: str = "",
) -> str:
    """``decision.md``: the decision for ``checkpoint`` (see ``decision_blocks``)."""
    return render_markdown(decision_blocks(checkpoint, scenarios, previous=previous, previous_name=previous_name,
                                           tracker_url=tracker_url))


DECISION_RESULT_KEY = "visionspec decision"
DECISION_JSON = "decision.json"


@dataclass(frozen=True)
class DecisionFiles:
    """Where a run's decision went: ``decision.md`` and, with Allure results, the report's first entry."""

    markdown: Path
    summary: Path
    allure_result: Path | None


def write_decision(
    folder: Path,
    checkpoint: str,
    scenarios: Sequence[ScenarioRecord],
    *,
    previous_summary: Path | None = None,
    tracker_url: str = "",
    allure_results: Path | None = None,
    step_summary: Path | None = None,
) -> DecisionFiles:
    """Write ``decision.md`` and ``decision.json`` into ``folder``; append to ``step_summary`` and add the result.

    Args:
        folder: beside summary.json.
        checkpoint: the candidate checkpoint's name.
        scenarios: every scenario of the run.
        previous_summary: the previous checkpoint's summary.json (its folder names it), for the stories'
            changes; missing or unreadable: no changes are told.
        tracker_url: the tracker's URL pattern (``https://tracker.example/browse/{}``), for story links.
        allure_results: the Allure results folder: the decision becomes its first result (status
            ``unknown``: it judges nothing itself, so it is not counted as a passing or failing test).
        step_summary: GitHub's ``$GITHUB_STEP_SUMMARY`` file, appended to.
    """
    from visionspec.files import write_text_atomic

    previous = None if previous_summary is None else read_summary(previous_summary)
    previous_name = previous_summary.parent.name if previous_summary is not None else "the previous checkpoint"
    blocks = decision_blocks(checkpoint, scenarios, previous=previous, previous_name=previous_name,
                             tracker_url=tracker_url)
    markdown = render_markdown(blocks)
    line = decision_line(scenarios)
    folder.mkdir(parents=True, exist_ok=True)
    markdown_path = write_text_atomic(folder / DECISION_FILE, markdown)
    summary = {"checkpoint": checkpoint, "decision": line, "tone": decision_tone(line)}
    summary_path = write_text_atomic(folder / DECISION_JSON, json.dumps(summary, indent=2) + "\n")
    if step_summary is not None:
        with step_summary.open("a", encoding="utf-8") as stream:
            stream.write(markdown + "\n")
    result = None
    if allure_results is not None:
        result = _decision_result(allure_results, checkpoint, line, blocks)
    return DecisionFiles(markdown_path, summary_path, result)


def _decision_result(folder: Path, checkpoint: str, line: str, blocks: Sequence[Block]) -> Path:
    """The decision as the report's first entry: its description, and the page as an attachment."""
    from visionspec.report.allure_results import Attachment, earliest_start, write_result

    start = (earliest_start(folder) or 1) - 1  # before every goal: first in the tree and the timeline
    page = render_html(blocks)
    return write_result(
        folder, name=f"Decision: ship {checkpoint}? → {line}", status="unknown", history_key=DECISION_RESULT_KEY,
        description_html=render_html(_summary_blocks(blocks), page=False),
        attachments=[Attachment("decision", page.encode(), "text/html", "html"),
                     Attachment(DECISION_FILE, render_markdown(blocks).encode(), "text/markdown", "md")],
        labels=[("suite", "Decision"), ("feature", "Decision"), ("severity", "blocker")],
        start_ms=start, stop_ms=start,
    )


def _summary_blocks(blocks: Sequence[Block]) -> list[Block]:
    """The description's blocks: the verdict, why, and the stories; no tables (Allure strips a description's
    styles, so tables read badly there: they are in the attachment "decision")."""
    return [block for block in blocks if not isinstance(block, Table)]


def report_title(results: Path) -> str | None:
    """``epoch-22: do not ship: 2 release-gate goals missed``, from ``decision.json`` in ``results``; else None."""
    try:
        data = json.loads((results / DECISION_JSON).read_text(encoding="utf-8"))
        return f"{data['checkpoint']}: {data['decision']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None
