"""Planning a checkpoint sequence, its exit code, the goal-by-checkpoint table, and when a watched file is whole."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from visionspec.checkpoints import (
    Checkpoint,
    CheckpointOutcome,
    ModelRole,
    build_orders,
    expand_checkpoints,
    goal_rows,
    goal_table_html,
    goal_table_text,
    plan_sequence,
    previous_checkpoint,
    role_of,
    sequence_exit_code,
    trend_document,
    write_trend_result,
)
from visionspec.cli.watch import SettledFiles
from visionspec.errors import ModelError
from visionspec.goals import Comparison, Goal, Measurement, Quantity, Verdict
from visionspec.goals.verdict import Status, Unit


def _files(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"onnx")
    return [folder / name for name in names]


def test_globs_and_shell_expanded_lists_are_judged_in_natural_order(tmp_path: Path) -> None:
    _files(tmp_path, "epoch-10.onnx", "epoch-9.onnx", "epoch-1.onnx", "notes.txt")
    names = [p.name for p in expand_checkpoints([str(tmp_path / "*.onnx")])]
    assert names == ["epoch-1.onnx", "epoch-9.onnx", "epoch-10.onnx"]
    # what an unquoted glob gives after the shell sorted it by name
    shell = [str(tmp_path / n) for n in ("epoch-1.onnx", "epoch-10.onnx", "epoch-9.onnx")]
    assert [p.name for p in expand_checkpoints(shell)] == ["epoch-1.onnx", "epoch-9.onnx", "epoch-10.onnx"]
    assert [p.name for p in expand_checkpoints(shell, keep_order=True)] == [
        "epoch-1.onnx", "epoch-10.onnx", "epoch-9.onnx"
    ]
    assert [p.name for p in expand_checkpoints([str(tmp_path)])] == ["epoch-1.onnx", "epoch-9.onnx", "epoch-10.onnx"]
    twice = expand_checkpoints([str(tmp_path / "epoch-9.onnx"), str(tmp_path / "*.onnx")], keep_order=True)
    assert [p.name for p in twice] == ["epoch-9.onnx", "epoch-1.onnx", "epoch-10.onnx"]


def test_missing_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"epoch-3\.onnx: no such checkpoint file; fix: give ONNX files or a glob"):
        expand_checkpoints([str(tmp_path / "epoch-3.onnx")])
    with pytest.raises(ModelError, match=r"\*\.onnx: matches no checkpoint file"):
        expand_checkpoints([str(tmp_path / "*.onnx")])


def test_build_orders_follow_the_names_when_they_can() -> None:
    assert build_orders(["epoch-1", "epoch-9", "epoch-10"]) == [1, 9, 10]
    assert build_orders(["epoch-10", "epoch-9"]) == [1, 2]  # given order, numbers falling
    assert build_orders(["best", "last"]) == [1, 2]


def test_each_detector_is_compared_with_the_one_before(tmp_path: Path) -> None:
    first, second, third = _files(tmp_path / "checkpoints", "epoch-4.onnx", "epoch-5.onnx", "epoch-6.onnx")
    detector = lambda path: ModelRole.DETECTOR  # noqa: E731
    plan = plan_sequence([second, third], role=detector)
    assert [(c.name, c.build_order, c.baseline) for c in plan] == [("epoch-5", 5, first), ("epoch-6", 6, second)]
    given = tmp_path / "promoted.onnx"
    assert plan_sequence([second], baseline=given, role=detector)[0].baseline == given
    assert plan_sequence([first], role=detector)[0].baseline is None
    assert previous_checkpoint(third) == second and previous_checkpoint(first) is None
    colour = plan_sequence([first], role=lambda path: ModelRole.COLOUR_MODEL)[0]
    assert colour.role is ModelRole.COLOUR_MODEL and colour.baseline is None
    # a watch continues: the next checkpoint is compared with the last one judged, its order follows
    later = plan_sequence([third], role=detector, earlier=plan[:1])
    assert (later[0].baseline, later[0].build_order) == (second, 6)
    best = _files(tmp_path / "checkpoints", "best.onnx")[0]
    assert plan_sequence([best], role=detector, earlier=plan)[0].build_order == 7  # after epoch-6, not 3


def test_two_checkpoints_with_one_name_are_refused(tmp_path: Path) -> None:
    one = _files(tmp_path / "a", "epoch-1.onnx")[0]
    other = _files(tmp_path / "b", "epoch-1.onnx")[0]
    with pytest.raises(ModelError, match="several checkpoints are named epoch-1"):
        plan_sequence([one, other], role=lambda path: ModelRole.DETECTOR)


def test_the_role_comes_from_the_model_card(tmp_path: Path) -> None:
    checkpoint = _files(tmp_path / "balloon-colour" / "checkpoints", "epoch-1.onnx")[0]
    (tmp_path / "balloon-colour" / "model.yaml").write_text("task: classification\n", encoding="utf-8")
    assert role_of(checkpoint) is ModelRole.COLOUR_MODEL
    unreadable = _files(tmp_path / "loose", "x.onnx")[0]  # no card, not ONNX: planned as a detector, judged broken
    assert role_of(unreadable) is ModelRole.DETECTOR


def test_the_sequence_exit_code_is_the_last_checkpoint_unless_one_was_broken() -> None:
    assert sequence_exit_code([1, 1, 0]) == 0
    assert sequence_exit_code([0, 0, 1]) == 1
    assert sequence_exit_code([2, 1, 0]) == 2
    assert sequence_exit_code([0, 5]) == 2  # anything else pytest returns counts as broken
    assert sequence_exit_code([]) == 0


def _verdict(goal: str, measured: float, met: bool, *, count: int | None = None, is_rate: bool = True,
             figure: str = "recall", bar: float = 0.8) -> dict[str, Any]:
    comparison, _, text = goal.rpartition(" ")
    verdict = Verdict(
        Goal(Comparison(comparison), Quantity(bar, is_rate, None, text)),
        Measurement(figure, figure, "balloons", measured, count, 10, None, Unit.RATE if is_rate else Unit.COUNT),
        Status.MET if met else Status.MISSED, None, f"{figure} {measured}; goal: {goal}",
    )
    return verdict.to_dict()


def _outcome(name: str, code: int, scenarios: list[dict[str, Any]]) -> CheckpointOutcome:
    checkpoint = Checkpoint(Path(f"{name}.onnx"), name, ModelRole.DETECTOR, int(name.split("-")[1]))
    return CheckpointOutcome(checkpoint, code, tuple(scenarios), 1.0)


def _sequence() -> list[CheckpointOutcome]:
    found = {"name": "Enough", "status": "missed", "verdicts": [
        _verdict("at least 8", 0.5, False, count=5, is_rate=False, figure="found", bar=8)]}
    recall = {"name": "Recall", "status": "missed", "verdicts": [_verdict("at least 0.8", 0.5, False, count=5)]}
    return [
        _outcome("epoch-1", 1, [found, recall]),
        _outcome("epoch-2", 2, [
            {"name": "Enough", "status": "broken", "verdicts": []},
            {"name": "Recall", "status": "met", "verdicts": [_verdict("at least 0.8", 0.9, True, count=9)]},
        ]),
        _outcome("epoch-3", 0, [{"name": "Recall", "status": "skipped", "verdicts": []}]),
    ]


def test_the_goal_by_checkpoint_table() -> None:
    outcomes = _sequence()
    rows = goal_rows(outcomes)
    assert [(row.title, row.unit.value, row.bar) for row in rows] == [
        ("Enough: found at least 8", "count", 8.0), ("Recall: recall at least 0.8", "rate", 0.8)
    ]
    assert [(cell.status, cell.value) for cell in rows[0].cells] == [("missed", 5.0), ("broken", None),
                                                                    ("not judged", None)]
    assert [cell.status for cell in rows[1].cells] == ["missed", "met", "skipped"]
    document = trend_document(outcomes, rows)
    assert document["exit_code"] == 2
    assert [c["name"] for c in document["checkpoints"]] == ["epoch-1", "epoch-2", "epoch-3"]
    assert document["goals"][1]["by_checkpoint"][1] == {"status": "met", "value": 0.9,
                                                         "sentence": "recall 0.9; goal: at least 0.8"}


def test_the_table_lines_up_checkpoint_columns() -> None:
    rows = goal_rows(_sequence())
    lines = goal_table_text(["epoch-1", "epoch-2", "epoch-3"], rows).splitlines()
    assert lines[1] == "Enough: found at least 8     MISSED 5      broken     not judged"
    assert lines[2] == "Recall: recall at least 0.8  MISSED 50.0%  met 90.0%  skipped"
    assert [line.index("epoch-2") for line in lines[:1]] == [lines[2].index("met")]


def test_the_table_cuts_nothing_reads_changes_in_points_and_folds_goals_that_never_change() -> None:
    long_name = "Small balloons at the edge of the picture in evening light are found"
    colour = {"name": "Colours", "status": "met", "verdicts": [_verdict("at least 0.9", 0.95, True, count=19, bar=0.9)]}
    change = Verdict(Goal(Comparison.AT_LEAST, Quantity(-0.01, True, None, "-1%")),
                     Measurement("recall change", "recall change", "balloons", 0.3, None, 10, None, Unit.POINTS),
                     Status.MET, 0.31, "recall +30.0 points").to_dict()
    outcomes = [
        _outcome("epoch-1", 1, [colour, {"name": long_name, "status": "missed",
                                         "verdicts": [_verdict("at least 0.8", 0.5, False, count=5)]}]),
        _outcome("epoch-2", 0, [colour, {"name": long_name, "status": "met", "verdicts": [
            _verdict("at least 0.8", 0.9, True, count=9), change]}]),
    ]
    rows = goal_rows(outcomes)
    first, second = f"{long_name}: recall at least 0.8", f"{long_name}: recall change at least -1%"
    width = len(second) + 2
    assert goal_table_text(["epoch-1", "epoch-2"], rows).splitlines() == [
        "goal".ljust(width) + "epoch-1       epoch-2",
        first.ljust(width) + "MISSED 50.0%  met 90.0%",
        second.ljust(width) + "not judged    met +30.0 points",
        "the same on every checkpoint (1): Colours: recall at least 0.9: met 95.0%",
        "not judged: the goal's scenario did not reach it on that checkpoint (not run there, or stopped by a "
        "precondition or an earlier step); skipped: what it needs was missing (e.g. no previous checkpoint to "
        "compare with); broken: it could not be judged (see that checkpoint's report)",
    ]
    page = goal_table_html(["epoch-1", "epoch-2"], rows)
    assert "…" not in page and f"{long_name}: recall change at least -1%" in page
    assert "The same on every checkpoint (1 goals)" in page and "not judged: the goal" in page


def test_the_trend_is_an_allure_result_with_the_plot_and_the_table(tmp_path: Path) -> None:
    outcomes = _sequence()
    path = write_trend_result(tmp_path, outcomes, goal_rows(outcomes))
    result = json.loads(path.read_text(encoding="utf-8"))
    # not a passing test: it judges nothing itself
    assert (result["name"], result["status"], result["stage"]) == ("Trend across checkpoints", "unknown", "finished")
    assert [(a["name"], a["type"]) for a in result["attachments"]] == [
        ("goals by checkpoint", "text/html"), ("trend by checkpoint", "image/png"),
        ("trend.json", "application/octet-stream"),  # a file to download, not 62 KiB shown inline
    ]
    for attachment in result["attachments"]:
        assert (tmp_path / attachment["source"]).stat().st_size > 100
    assert (tmp_path / result["attachments"][1]["source"]).read_bytes()[:4] == b"\x89PNG"
    again = json.loads(write_trend_result(tmp_path, outcomes, goal_rows(outcomes)).read_text(encoding="utf-8"))
    assert again["historyId"] == result["historyId"]  # one test in Allure's history, checkpoint after checkpoint


def _stat(size: int, mtime: float) -> os.stat_result:
    return os.stat_result((0o100644, 0, 0, 1, 0, 0, size, int(mtime), int(mtime), int(mtime)))


def test_a_file_written_in_place_is_whole_only_once_it_has_settled(tmp_path: Path) -> None:
    path = tmp_path / "epoch-5.onnx"
    settled = SettledFiles(settle_s=10)
    assert settled.look([(path, _stat(100, 1000))], now=1000) == []
    assert settled.look([(path, _stat(200, 1004))], now=1004) == []  # still growing
    assert settled.look([(path, _stat(200, 1004))], now=1013) == []  # unchanged for 9 s
    assert settled.look([(path, _stat(200, 1004))], now=1014) == [path]  # unchanged for 10 s
    assert settled.look([(path, _stat(300, 1015))], now=1015) == []  # it changed again: wait again


def test_a_file_renamed_into_place_is_whole_at_once(tmp_path: Path) -> None:
    settled = SettledFiles(settle_s=60)
    old = tmp_path / "epoch-1.onnx"
    assert settled.look([], now=1000) == []
    moved = tmp_path / "epoch-2.onnx"
    # it was not there at 1000, yet it was last written at 990: moved in whole
    assert settled.look([(moved, _stat(500, 990))], now=1002) == [moved]
    # one that appears with a fresh modification time is being written: it waits
    fresh = tmp_path / "epoch-3.onnx"
    assert settled.look([(fresh, _stat(10, 1003))], now=1004) == []
    # at the first look there is no "before": a file is whole when it was last written settle_s ago
    first = SettledFiles(settle_s=60)
    assert first.look([(old, _stat(500, 10)), (fresh, _stat(10, 990))], now=1000) == [old]
