"""Checkpoints: finding them, putting them in training order, judging a sequence and its trend.

A sequence is judged one checkpoint at a time (one run of the goals each, ``judge_sequence``), each in
its own results folder ``RESULTS/<checkpoint>/`` with the plugin's ``summary.json`` and this module's
``checkpoint.json``. After each checkpoint the trend so far is written to ``RESULTS/trend.json`` (every
goal's verdict and measured value by checkpoint); the last checkpoint's Allure results also get a small
extra test result "Trend across checkpoints" with the goal-by-checkpoint table and the trend plot, so
the report shows the trend next to the goals.

Exit code of a sequence (``sequence_exit_code``): 2 when any checkpoint could not be judged (a broken
file or goal makes the whole comparison doubtful, and CI must tell it from a worse model), else the
LAST checkpoint's 0 or 1: earlier checkpoints missing goals is what training progress looks like.

Example:
    >>> plan = plan_sequence(expand_checkpoints(["models/balloon-detector/checkpoints/*.onnx"]))  # doctest: +SKIP
    >>> [checkpoint.name for checkpoint in plan]  # doctest: +SKIP
    ['epoch-1', 'epoch-2', 'epoch-10']
"""

from __future__ import annotations

import glob
import html
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from visionspec.errors import ModelError, VisionSpecError
from visionspec.goals.verdict import ExitCode, Verdict, format_value
from visionspec.goals.verdict import Unit as VerdictUnit

REFERENCE_DETECTOR = "balloon-detector"
REFERENCE_COLOUR_MODEL = "balloon-colour"
"""The reference models' names in the model registry (``models/<name>/``): the default models under test."""

_DIGITS = re.compile(r"(\d+)")
_GLOB_CHARACTERS = re.compile(r"[*?[]")

CHECKPOINT_FILE = "checkpoint.json"
SUMMARY_FILE = "summary.json"
TREND_FILE = "trend.json"
TREND_TEST_NAME = "Trend across checkpoints"
TREND_FORMAT = 1



def natural_key(path: Path) -> tuple[object, ...]:
    """Sort key that puts ``epoch-10`` after ``epoch-9`` (numbers compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(path.name))


def checkpoints_of(models_dir: Path, name: str) -> list[Path]:
    """The ONNX checkpoints of model ``name`` (``models/<name>/checkpoints/*.onnx``), in natural order."""
    return sorted((models_dir / name / "checkpoints").glob("*.onnx"), key=natural_key)


def newest_checkpoint(models_dir: Path, name: str) -> Path:
    """The last checkpoint of model ``name`` in natural order.

    Raises:
        ModelError: the model has no checkpoint; the message says where they were looked for.
    """
    found = checkpoints_of(models_dir, name)
    if not found:
        raise ModelError(
            f"no checkpoint of {name!r} in {models_dir / name / 'checkpoints'}; "
            f"fix: train one (visionspec train) or pass the ONNX file explicitly"
        )
    return found[-1]


def candidate_checkpoint(models_dir: Path, task: str, preferred: str) -> Path:
    """The newest checkpoint of the project's one model of ``task`` (``detection`` | ``classification``).

    With several models of that task, the one named ``preferred`` (the config's choice) is taken.

    Raises:
        ModelError: no model of that task, or several and none named ``preferred``.
    """
    from visionspec.runtime.card import read_card_file

    names = sorted(
        card.parent.name for card in models_dir.glob("*/model.yaml")
        if read_card_file(card).get("task") == task and checkpoints_of(models_dir, card.parent.name)
    )
    if preferred in names or (preferred and not names and (models_dir / preferred).is_dir()):
        return newest_checkpoint(models_dir, preferred)
    if len(names) == 1:
        return newest_checkpoint(models_dir, names[0])
    what = "detector" if task == "detection" else "classifier"
    if not names:
        raise ModelError(
            f"no {what} with checkpoints in {models_dir}/ (a folder <name>/ with model.yaml, task: {task}, and "
            f"checkpoints/*.onnx); fix: add one, or pass the ONNX file with "
            f"--{'detector' if task == 'detection' else 'colour-model'}"
        )
    raise ModelError(f"several {what}s in {models_dir}/ ({', '.join(names)}); fix: name the candidate in the config "
                     "or on the command line")


def previous_checkpoint(checkpoint: Path) -> Path | None:
    """The ONNX file before ``checkpoint`` in natural order in its folder, or None when it is the first."""
    key = natural_key(checkpoint)
    earlier = [path for path in checkpoint.parent.glob("*.onnx") if natural_key(path) < key]
    return max(earlier, key=natural_key) if earlier else None


def expand_checkpoints(patterns: Sequence[str], *, keep_order: bool = False) -> list[Path]:
    """The checkpoint files that ``patterns`` name (files, globs or folders), in natural order, each once.

    The shell expands an unquoted glob in plain name order (``epoch-10`` before ``epoch-9``), so the
    files are put in natural order unless ``keep_order``; then the arguments' order is kept and only a
    glob's own matches are sorted.

    Raises:
        ModelError: a file does not exist or a glob matches nothing.
    """
    found: list[Path] = []
    for pattern in patterns:
        if Path(pattern).is_dir():
            pattern = str(Path(pattern) / "*.onnx")  # a folder: every checkpoint in it
        if _GLOB_CHARACTERS.search(pattern):
            # glob.glob, not Path.glob: the pattern may be absolute
            matches = sorted((Path(match) for match in glob.glob(pattern)), key=natural_key)  # noqa: PTH207
            if not matches:
                raise ModelError(f"{pattern}: matches no checkpoint file; fix: check the folder and the pattern")
            found += matches
        elif Path(pattern).is_file():
            found.append(Path(pattern))
        else:
            raise ModelError(f"{pattern}: no such checkpoint file; fix: give ONNX files or a glob such as 'dir/*.onnx'")
    first_of: dict[Path, Path] = {}
    for path in found:
        first_of.setdefault(path.resolve(), path)  # the same file twice is judged once, where first named
    unique = list(first_of.values())
    return unique if keep_order else sorted(unique, key=natural_key)


class ModelRole(StrEnum):
    """Which model under test a checkpoint replaces in a run."""

    DETECTOR = "detector"
    COLOUR_MODEL = "colour model"


def role_of(checkpoint: Path) -> ModelRole:
    """Detector or colour model, from the checkpoint's card (``task``); a file that cannot tell is a detector.

    A checkpoint that cannot be opened is still planned (as a detector), so that its own run, not the
    whole sequence, is the one reported broken.
    """
    from visionspec.runtime.card import card_path_for, read_card_file
    from visionspec.runtime.session import Device, open_model

    task: object = None
    try:
        card = card_path_for(checkpoint)
        task = read_card_file(card).get("task") if card.is_file() else None
        if task is None:
            task = open_model(checkpoint, device=Device.CPU, threads=1).card.task.value
    except VisionSpecError:
        return ModelRole.DETECTOR
    return ModelRole.COLOUR_MODEL if task == "classification" else ModelRole.DETECTOR


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a sequence, as it will be judged.

    Attributes:
        path: the ONNX file.
        name: how the report, the trend and the results folder name it (the file's stem).
        role: the model under test it replaces.
        build_order: its place on the report's trend axis (the number in its name when every name has one).
        baseline: the detector "the previous checkpoint" means in its run; None for colour models, or
            for a first detector with nothing before it.
    """

    path: Path
    name: str
    role: ModelRole
    build_order: int
    baseline: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``checkpoint.json`` and ``trend.json``."""
        return {
            "name": self.name,
            "file": str(self.path),
            "role": self.role.value,
            "build_order": self.build_order,
            "baseline": None if self.baseline is None else str(self.baseline),
        }


def build_orders(names: Sequence[str]) -> list[int]:
    """Allure's trend axis: the number each name ends with when they all have one and it rises, else 1..n.

    Example:
        >>> build_orders(["epoch-01", "epoch-05", "epoch-10"]), build_orders(["epoch-05", "best"])
        ([1, 5, 10], [1, 2])
    """
    from visionspec.report.allure_files import checkpoint_number

    numbers = [checkpoint_number(name) for name in names]
    rising = all(b is not None and a is not None and b > a for a, b in itertools.pairwise(numbers))
    if numbers and rising and numbers[0] is not None:
        return [number for number in numbers if number is not None]
    return list(range(1, len(names) + 1))


def plan_sequence(
    paths: Sequence[Path],
    *,
    baseline: Path | None = None,
    role: Callable[[Path], ModelRole] = role_of,
    earlier: Sequence[Checkpoint] = (),
) -> list[Checkpoint]:
    """Name, order and pair the checkpoints: each detector's baseline is the detector judged before it.

    Args:
        paths: the checkpoint files in the order they are judged.
        baseline: the baseline of the first detector; default the file before it in its folder.
        role: how a file's role is found (tests pass their own).
        earlier: checkpoints already judged (``visionspec watch``), continuing their names and trend.

    Raises:
        ModelError: two checkpoints would have the same name.
    """
    names = [checkpoint.name for checkpoint in earlier] + [path.stem for path in paths]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ModelError(
            f"several checkpoints are named {', '.join(duplicates)} (the file name without .onnx); "
            "fix: rename them, or judge them in separate runs with different --results folders"
        )
    orders = build_orders(names)[len(earlier):]
    if earlier and orders and orders[0] <= earlier[-1].build_order:  # the trend axis must keep rising
        orders = [earlier[-1].build_order + step for step in range(1, len(orders) + 1)]
    previous = next((c.path for c in reversed(earlier) if c.role is ModelRole.DETECTOR), baseline)
    plan = []
    for path, order in zip(paths, orders, strict=True):
        kind = role(path)
        paired = None
        if kind is ModelRole.DETECTOR:
            paired = previous if previous is not None else previous_checkpoint(path)
            previous = path
        plan.append(Checkpoint(path, path.stem, kind, order, paired))
    return plan


# --- Outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointOutcome:
    """How one checkpoint's run ended.

    Attributes:
        checkpoint: what was judged.
        exit_code: the run's 0 / 1 / 2.
        scenarios: the scenarios of its ``summary.json`` (name, status, goals, verdicts, message).
        seconds: wall time of the run.
    """

    checkpoint: Checkpoint
    exit_code: int
    scenarios: tuple[Mapping[str, Any], ...]
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        """Scenarios met, missed, broken and skipped."""
        statuses = [str(scenario.get("status")) for scenario in self.scenarios]
        return {status: statuses.count(status) for status in ("met", "missed", "broken", "skipped")}

    def to_dict(self) -> dict[str, Any]:
        """``checkpoint.json``: the checkpoint, its exit code, counts and wall time."""
        return {**self.checkpoint.to_dict(), "exit_code": self.exit_code, "counts": self.counts,
                "seconds": round(self.seconds, 3)}


def record_outcome(checkpoint: Checkpoint, folder: Path, exit_code: int, seconds: float) -> CheckpointOutcome:
    """Read the run's ``summary.json`` (none: no scenario ran) and write ``checkpoint.json`` beside it."""
    outcome = CheckpointOutcome(checkpoint, exit_code, _scenarios(folder / SUMMARY_FILE), seconds)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CHECKPOINT_FILE).write_text(json.dumps(outcome.to_dict(), indent=2) + "\n", encoding="utf-8")
    return outcome


def load_outcome(folder: Path) -> CheckpointOutcome | None:
    """The outcome recorded in ``folder`` (``checkpoint.json`` and ``summary.json``), or None if there is none."""
    try:
        data = json.loads((folder / CHECKPOINT_FILE).read_text(encoding="utf-8"))
        baseline = data.get("baseline")
        checkpoint = Checkpoint(Path(data["file"]), str(data["name"]), ModelRole(data["role"]),
                                int(data["build_order"]), None if baseline is None else Path(baseline))
        return CheckpointOutcome(checkpoint, int(data["exit_code"]), _scenarios(folder / SUMMARY_FILE),
                                 float(data.get("seconds", 0.0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _scenarios(summary: Path) -> tuple[Mapping[str, Any], ...]:
    """The scenarios of a plugin ``summary.json``; none when it is missing or unreadable (the run broke early)."""
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    scenarios = data.get("scenarios", []) if isinstance(data, dict) else []
    return tuple(scenario for scenario in scenarios if isinstance(scenario, dict))


def sequence_exit_code(codes: Sequence[int]) -> int:
    """2 if any checkpoint was broken, else the last checkpoint's 0 or 1 (0 for an empty sequence).

    Example:
        >>> sequence_exit_code([1, 1, 0]), sequence_exit_code([0, 1]), sequence_exit_code([2, 0])
        (0, 1, 2)
    """
    if any(code not in (ExitCode.MET, ExitCode.MISSED) for code in codes):
        return ExitCode.BROKEN
    return codes[-1] if codes else ExitCode.MET


def judge_sequence(
    plan: Sequence[Checkpoint],
    judge: Callable[[Checkpoint, Path], int],
    results_dir: Path,
    *,
    earlier: Sequence[CheckpointOutcome] = (),
    on_judged: Callable[[CheckpointOutcome, list[CheckpointOutcome]], None] | None = None,
) -> list[CheckpointOutcome]:
    """Judge each checkpoint in order, writing the trend after each; return every outcome (``earlier`` first).

    Args:
        plan: the checkpoints, in order.
        judge: runs the goals on one checkpoint into the given results folder and returns 0 / 1 / 2.
        results_dir: ``RESULTS``: each checkpoint goes to ``RESULTS/<name>/``, the trend to ``RESULTS/trend.json``.
        earlier: outcomes already judged (``visionspec watch``): the trend continues from them.
        on_judged: called after each checkpoint with its outcome and all outcomes so far (the report).

    The "Trend across checkpoints" Allure result goes into the last checkpoint's results folder.
    """
    outcomes = list(earlier)
    for index, checkpoint in enumerate(plan):
        folder = results_dir / checkpoint.name
        started = time.perf_counter()
        code = judge(checkpoint, folder)
        outcome = record_outcome(checkpoint, folder, code, time.perf_counter() - started)
        outcomes.append(outcome)
        rows = goal_rows(outcomes)
        write_trend_json(results_dir / TREND_FILE, outcomes, rows)
        if index == len(plan) - 1:  # the plot costs about a second; the last checkpoint's report shows it
            write_trend_result(folder, outcomes, rows)
        if on_judged is not None:
            on_judged(outcome, outcomes)
    return outcomes


# --- The trend: goal by checkpoint -------------------------------------------------------------------

CellStatus = Literal["met", "missed", "broken", "skipped", "not judged"]


@dataclass(frozen=True)
class GoalCell:
    """One goal on one checkpoint: its verdict and measured value (None where not measured)."""

    status: CellStatus
    value: float | None = None
    sentence: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``trend.json``."""
        return {"status": self.status, "value": self.value, "sentence": self.sentence}


@dataclass(frozen=True)
class GoalRow:
    """One goal across checkpoints.

    Attributes:
        scenario: the scenario's name (with its Examples row).
        figure: what is measured, e.g. ``recall`` or ``box mAP@.50``.
        goal: the goal in words, e.g. ``at least 0.92``.
        bar: the goal's number (a count, a rate in [0, 1] or a figure), drawn dashed on the trend.
        unit: how the values read (the verdict's margin unit): a count, a rate (shown as %), a change of a rate
            (in points), a score (mAP) or a plain number (a mean error).
        cells: one per checkpoint, in sequence order.
    """

    scenario: str
    figure: str
    goal: str
    bar: float | None
    unit: VerdictUnit
    cells: tuple[GoalCell, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        """``Recall on all balloons: recall at least 0.92``."""
        return f"{self.scenario}: {self.figure} {self.goal}".replace("  ", " ")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``trend.json``."""
        return {"scenario": self.scenario, "figure": self.figure, "goal": self.goal, "bar": self.bar,
                "unit": self.unit.value, "by_checkpoint": [cell.to_dict() for cell in self.cells]}


_GoalKey = tuple[str, str, str, int]


def _keyed(scenario: Mapping[str, Any]) -> dict[_GoalKey, Verdict]:
    """A scenario's verdicts by (scenario, figure, goal, repeat): the same goal stated twice stays two rows."""
    keyed: dict[_GoalKey, Verdict] = {}
    for data in scenario.get("verdicts") or []:
        verdict = Verdict.from_dict(data)
        base = (str(scenario.get("name")), verdict.measurement.figure, str(verdict.goal))
        repeat = sum(1 for key in keyed if key[:3] == base)
        keyed[(*base, repeat)] = verdict
    return keyed


def _cell(verdict: Verdict | None, scenario_status: str | None) -> GoalCell:
    """A goal's cell: its verdict when judged, else why not (broken, skipped, or stopped by a precondition)."""
    if verdict is not None:
        measured = verdict.measurement
        value = measured.count if verdict.margin_unit is VerdictUnit.COUNT else measured.value
        status: CellStatus = "met" if verdict.met else "missed"
        return GoalCell(status, None if value is None else float(value), verdict.message)
    if scenario_status == "broken":
        return GoalCell("broken")
    return GoalCell("skipped" if scenario_status == "skipped" else "not judged")


def goal_rows(outcomes: Sequence[CheckpointOutcome]) -> list[GoalRow]:
    """Every goal judged on any checkpoint, in first-seen order, with one cell per checkpoint."""
    per_checkpoint = []
    first_seen: dict[_GoalKey, Verdict] = {}
    for outcome in outcomes:
        verdicts: dict[_GoalKey, Verdict] = {}
        statuses: dict[str, str] = {}
        for scenario in outcome.scenarios:
            statuses[str(scenario.get("name"))] = str(scenario.get("status"))
            verdicts.update(_keyed(scenario))
        for key, verdict in verdicts.items():
            first_seen.setdefault(key, verdict)
        per_checkpoint.append((verdicts, statuses))
    rows = []
    for key, verdict in first_seen.items():
        bar = verdict.goal.quantity.value
        cells = tuple(_cell(verdicts.get(key), statuses.get(key[0])) for verdicts, statuses in per_checkpoint)
        rows.append(GoalRow(key[0], key[1], key[2], None if bar is None else float(bar), verdict.margin_unit, cells))
    return rows


def _cell_text(cell: GoalCell, unit: VerdictUnit) -> str:
    if cell.status in ("met", "missed"):
        return f"{'met' if cell.status == 'met' else 'MISSED'} {format_value(cell.value, unit)}"
    return cell.status


NOT_JUDGED_NOTE = (
    "not judged: the goal's scenario did not reach it on that checkpoint (not run there, or stopped by a "
    "precondition or an earlier step); skipped: what it needs was missing (e.g. no previous checkpoint to "
    "compare with); broken: it could not be judged (see that checkpoint's report)"
)


def unchanged(row: GoalRow) -> bool:
    """True when a goal reads the same on every checkpoint (two or more): the table folds it."""
    first = row.cells[0] if row.cells else None
    return first is not None and len(row.cells) > 1 and all(
        (cell.status, cell.value) == (first.status, first.value) for cell in row.cells[1:])


def goal_table_text(names: Sequence[str], rows: Sequence[GoalRow]) -> str:
    """The goal-by-checkpoint table as plain text, one line a goal, one column a checkpoint; nothing cut.

    Goals that read the same on every checkpoint are folded into one line below the table, and the
    words ``not judged``, ``skipped`` and ``broken`` are explained when they appear.

    Example:
        >>> row = GoalRow("Enough", "found", "at least 8", 8.0, "count",
        ...               (GoalCell("missed", 5.0), GoalCell("met", 10.0)))
        >>> print(goal_table_text(["epoch-1", "epoch-2"], [row]))
        goal                      epoch-1   epoch-2
        Enough: found at least 8  MISSED 5  met 10
    """
    shown = [row for row in rows if not unchanged(row)]
    folded = [row for row in rows if unchanged(row)]
    cells = [[_cell_text(cell, row.unit) for cell in row.cells] for row in shown]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) + 2 for i, name in enumerate(names)]
    width = max([len("goal"), *(len(row.title) for row in shown)]) + 2
    lines = ["goal".ljust(width) + "".join(name.ljust(w) for name, w in zip(names, widths, strict=True))]
    for row, line in zip(shown, cells, strict=True):
        lines.append(row.title.ljust(width) + "".join(text.ljust(w) for text, w in zip(line, widths, strict=True)))
    if folded:
        lines.append(f"the same on every checkpoint ({len(folded)}): "
                     + "; ".join(f"{row.title}: {_cell_text(row.cells[0], row.unit)}" for row in folded))
    if any(cell.status in ("not judged", "skipped", "broken") for row in rows for cell in row.cells):
        lines.append(NOT_JUDGED_NOTE)
    return "\n".join(text.rstrip() for text in lines)


def trend_document(outcomes: Sequence[CheckpointOutcome], rows: Sequence[GoalRow]) -> dict[str, Any]:
    """The content of ``trend.json``: the checkpoints in order, and every goal's cell on each."""
    return {
        "format": TREND_FORMAT,
        "exit_code": sequence_exit_code([outcome.exit_code for outcome in outcomes]),
        "checkpoints": [outcome.to_dict() for outcome in outcomes],
        "goals": [row.to_dict() for row in rows],
    }


def write_trend_json(path: Path, outcomes: Sequence[CheckpointOutcome], rows: Sequence[GoalRow]) -> Path:
    """Write ``trend.json``; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trend_document(outcomes, rows), indent=2) + "\n", encoding="utf-8")
    return path


def trend_picture_series(rows: Sequence[GoalRow]) -> list[Any]:
    """One ``TrendSeries`` a goal, for ``report.plots.trend_plot``."""
    from visionspec.report.plots import TrendSeries

    series = []
    for row in rows:
        verdicts = [None if cell.status not in ("met", "missed") else cell.status == "met" for cell in row.cells]
        series.append(TrendSeries(row.title, [cell.value for cell in row.cells], row.bar, verdicts,
                                  as_percent=row.unit is VerdictUnit.RATE, as_points=row.unit is VerdictUnit.POINTS,
                                  as_count=row.unit is VerdictUnit.COUNT))
    return series


def goal_table_html(names: Sequence[str], rows: Sequence[GoalRow]) -> str:
    """The goal-by-checkpoint table as an HTML page (green met, red missed), for the report; nothing cut.

    Goals that read the same on every checkpoint are folded below it; ``not judged`` is explained.
    """
    from visionspec.report.tables import Badge, html_table

    body: list[list[str | Badge]] = []
    folded: list[list[str | Badge]] = []
    for row in rows:
        cells = [Badge(_cell_text(cell, row.unit), _tone(cell.status)) for cell in row.cells]
        (folded if unchanged(row) else body).append([row.title, *cells])
    notes = []
    if folded:
        notes.append(html_table(["goal", *names], folded,
                                caption=f"The same on every checkpoint ({len(folded)} goals)", align_numbers=False))
    if any(cell.status in ("not judged", "skipped", "broken") for row in rows for cell in row.cells):
        notes.append(f"<p>{html.escape(NOT_JUDGED_NOTE)}</p>")
    page = html_table(["goal", *names], body, caption="Goals by checkpoint", align_numbers=False)
    return page.replace("</body>", "".join(_body_of(note) for note in notes) + "</body>") if notes else page


def _body_of(page: str) -> str:
    """What a page from ``html_table`` holds between its body tags (a fragment is returned as it is)."""
    if "<body>" not in page:
        return page
    return page.split("<body>", 1)[1].rsplit("</body>", 1)[0]


def _tone(status: CellStatus) -> Literal["good", "bad", "neutral"]:
    return "good" if status == "met" else "bad" if status == "missed" else "neutral"


def write_trend_result(folder: Path, outcomes: Sequence[CheckpointOutcome], rows: Sequence[GoalRow]) -> Path:
    """Add the "Trend across checkpoints" result, with the table and the plot attached, to Allure results.

    Its status is ``unknown``: it judges nothing itself (the goals' own results carry the verdicts), so
    it is not counted as a passing test. It sits in the suite "Decision", beside the decision. Its
    history id is fixed, so the report keeps it as one entry from checkpoint to checkpoint; trend.json
    is attached as a file to download, not shown inline.

    Returns:
        The path of the result file.
    """
    from visionspec.report.allure_results import Attachment, write_result
    from visionspec.report.plots import trend_plot

    names = [outcome.checkpoint.name for outcome in outcomes]
    picture = trend_plot(names, trend_picture_series([row for row in rows if not unchanged(row)]))
    table = goal_table_html(names, rows)
    now = int(time.time() * 1000)
    missed = sum(cell.status == "missed" for row in rows for cell in row.cells[-1:])
    return write_result(
        folder, name=TREND_TEST_NAME, status="unknown", history_key=TREND_TEST_NAME,
        description_html=(
            f"<p>Every goal on the checkpoints {html.escape(names[0])} to {html.escape(names[-1])} ({len(names)} in "
            f"all); {missed} goal(s) missed on {html.escape(names[-1])}. The verdicts are in the goals' own results; "
            "this entry judges nothing itself.</p>"
        ),
        attachments=[
            Attachment("goals by checkpoint", table.encode(), "text/html", "html"),
            Attachment("trend by checkpoint", picture.data, picture.media_type, picture.extension),
            Attachment(TREND_FILE, json.dumps(trend_document(outcomes, rows), indent=2).encode(),
                       "application/octet-stream", "json"),
        ],
        labels=[("suite", "Decision"), ("feature", "Decision"), ("severity", "normal")],
        start_ms=now, stop_ms=now,
    )
