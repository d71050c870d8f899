"""``visionspec checkpoints`` and ``visionspec watch`` end to end on the checkpoint world (checkpoint_world.py).

epoch-1 finds 2 of 10 balloons, epoch-2 finds 5 and raises 10 false alarms, epoch-10 finds all 10 and
raises none. Each run is a real pytest session in this process (as ``visionspec`` runs it); pytester
gives each test its own folder and puts back the imported modules afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.checkpoints.checkpoint_world import DETECTORS, GOALS, write_detector, write_project

from visionspec.cli import build_parser, main
from visionspec.cli.checkpoints import SequenceRunner
from visionspec.cli.watch import watch_command
from visionspec.runtime.cache import PredictionCache

CHECKPOINTS = "models/balloon-detector/checkpoints"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    write_project(pytester.path)
    return pytester.path


@pytest.fixture
def caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[PredictionCache]]:
    """Every prediction cache the runs make (one a checkpoint), to count inference passes."""
    made: list[PredictionCache] = []
    original = PredictionCache.from_environment.__func__  # type: ignore[attr-defined]

    def recording(cls: type[PredictionCache], base: Path | None = None) -> PredictionCache:
        cache: PredictionCache = original(cls, base)
        made.append(cache)
        return cache

    monkeypatch.setattr(PredictionCache, "from_environment", classmethod(recording))
    yield made


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _cells(trend: dict[str, Any]) -> dict[str, list[tuple[str, float | None]]]:
    return {f"{g['scenario']}: {g['figure']} {g['goal']}": [(c["status"], c["value"]) for c in g["by_checkpoint"]]
            for g in trend["goals"]}


def _goals(results: Path, checkpoint: str, scenario: str) -> list[str]:
    summary = _json(results / checkpoint / "summary.json")
    return next(s["goals"] for s in summary["scenarios"] if s["name"] == scenario)


def test_the_candidates_decision_tells_each_story_since_the_previous_checkpoint(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISIONSPEC_TRACKER_URL", raising=False)
    (project / "features" / "goals.feature").write_text(GOALS.replace("Feature:", "@story:ML-5\nFeature:", 1),
                                                        encoding="utf-8")
    assert main(["checkpoints", f"{CHECKPOINTS}/epoch-2.onnx", f"{CHECKPOINTS}/epoch-10.onnx"]) == 0
    results = project / "allure-results"
    text = (results / "decision.md").read_text(encoding="utf-8")
    assert text == (results / "epoch-10" / "decision.md").read_text(encoding="utf-8")
    assert text.startswith("# Decision: ship epoch-10?\n\n**ship it**\n")
    assert text.endswith("## Stories\n\n- **ML-5**: 2 of 2 goals met; since epoch-2: 2 newly met, 0 newly missed\n")
    first = (results / "epoch-2" / "decision.md").read_text(encoding="utf-8")
    assert first.endswith("- **ML-5**: 0 of 2 goals met\n")  # nothing judged before it in this sequence
    assert "decision: allure-results/decision.md (epoch-10: ship it)" in capsys.readouterr().out.splitlines()


def test_a_sequence_is_judged_in_natural_order_with_its_trend_and_flips(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the shell would pass epoch-10 before epoch-2; the sequence is judged in natural order
    code = main(["checkpoints", *(f"{CHECKPOINTS}/{name}.onnx" for name in ("epoch-1", "epoch-10", "epoch-2"))])
    assert code == 0  # the last checkpoint meets every goal; the earlier ones missed some
    results = project / "allure-results"
    records = [_json(results / name / "checkpoint.json") for name in ("epoch-1", "epoch-2", "epoch-10")]
    assert [(r["exit_code"], r["build_order"], r["baseline"] and Path(r["baseline"]).name) for r in records] == [
        (1, 1, None), (1, 2, "epoch-1.onnx"), (0, 10, "epoch-2.onnx")
    ]
    trend = _json(results / "trend.json")
    assert trend["exit_code"] == 0 and [c["name"] for c in trend["checkpoints"]] == ["epoch-1", "epoch-2", "epoch-10"]
    assert _cells(trend) == {
        "Enough balloons are found: found at least 8": [("missed", 2.0), ("missed", 5.0), ("met", 10.0)],
        "Few false alarms: images without balloons contain a detection at most 10%": [
            ("met", 0.0), ("missed", 1.0), ("met", 0.0)],
        "Recall does not drop: recall change of balloons at least -1%": [
            ("skipped", None), ("met", pytest.approx(0.3)), ("met", pytest.approx(0.5))],
        "Recall does not drop: recall change of red balloons at least -2%": [
            ("skipped", None), ("met", pytest.approx(0.4)), ("met", pytest.approx(0.4))],
        "Recall does not drop: recall change of blue balloons at least -2%": [
            ("skipped", None), ("met", pytest.approx(0.2)), ("met", pytest.approx(0.6))],
        "mAP improves: box mAP@.50 change against the baseline more than 0": [
            ("skipped", None), ("missed", pytest.approx(-0.5)), ("met", pytest.approx(0.5))],
    }
    assert _goals(results, "epoch-2", "Recall does not drop")[0] == (
        "balloons: recall 50.0% (5 of 10) against 20.0% (2 of 10) on the baseline, +30.0 points "
        "(95% CI -19.7 to +65.7 points); 5 newly found, 2 newly missed; goal: a drop of at most 1 point; "
        "met with 31.0 points to spare"
    )
    assert _goals(results, "epoch-2", "mAP improves") == [
        "box mAP@.50 0.500 against 1.000 on the baseline (-0.500) on 20 images; 2 newly missed, 5 newly found, "
        "10 new false alarms, 0 false alarms gone; goal: improve on the baseline; short by 0.500"
    ]
    # the trend is in the last checkpoint's Allure results; JUnit names scenarios, outside the Allure folder
    trend_results = {name: [r for r in (results / name).glob("*-result.json")
                            if _json(r)["name"] == "Trend across checkpoints"] for name in ("epoch-2", "epoch-10")}
    assert (len(trend_results["epoch-2"]), len(trend_results["epoch-10"])) == (0, 1)
    assert 'name="Enough balloons are found"' in (results / "junit" / "epoch-10.xml").read_text(encoding="utf-8")
    assert not list((results / "epoch-10").glob("*.xml"))
    out = capsys.readouterr().out
    assert re.search(r"\nEnough balloons are found: found at least 8 +MISSED 2 +MISSED 5 +met 10\n", out)
    assert out.rstrip().endswith("visionspec checkpoints: exit 0 (epoch-10: every goal met)")


def test_inference_is_cached_across_checkpoints_and_runs(project: Path, caches: list[PredictionCache]) -> None:
    sequence = ["checkpoints", f"{CHECKPOINTS}/epoch-1.onnx", f"{CHECKPOINTS}/epoch-2.onnx"]
    assert main(sequence) == 1
    # one inference pass a checkpoint; epoch-2's baseline (epoch-1) came from the cache
    assert [(c.stats.misses, c.stats.disk_hits) for c in caches] == [(1, 0), (1, 1)]
    trend = _json(Path("allure-results") / "trend.json")
    caches.clear()
    assert main(sequence) == 1
    assert [(c.stats.misses, c.stats.disk_hits) for c in caches] == [(0, 1), (0, 2)]  # no inference at all
    assert _cells(_json(Path("allure-results") / "trend.json")) == _cells(trend)


def test_the_exit_code_is_the_last_checkpoint_and_a_drop_shows_its_flips(project: Path) -> None:
    order = [f"{CHECKPOINTS}/{name}.onnx" for name in ("epoch-10", "epoch-2", "epoch-1")]
    assert main(["checkpoints", "--given-order", *order, "--results", "backwards"]) == 1
    results = project / "backwards"
    # epoch-10 is compared with the file before it in its folder (epoch-2), the others with the one judged before
    records = [_json(results / n / "checkpoint.json") for n in ("epoch-10", "epoch-2", "epoch-1")]
    assert [(r["exit_code"], Path(r["baseline"]).name) for r in records] == [
        (0, "epoch-2.onnx"), (1, "epoch-10.onnx"), (1, "epoch-2.onnx")
    ]
    assert _goals(results, "epoch-2", "Recall does not drop")[0] == (
        "balloons: recall 50.0% (5 of 10) against 100.0% (10 of 10) on the baseline, -50.0 points "
        "(95% CI -76.3 to -11.7 points); 0 newly found, 5 newly missed; goal: a drop of at most 1 point; "
        "short by 49.0 points"
    )
    # build orders fall along the given order, so they are positions, not the names' numbers
    assert [c["build_order"] for c in _json(results / "trend.json")["checkpoints"]] == [1, 2, 3]


def test_a_broken_checkpoint_makes_the_sequence_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / CHECKPOINTS / "epoch-2.onnx").write_bytes(b"half an ONNX file")
    assert main(["checkpoints", f"{CHECKPOINTS}/*.onnx"]) == 2
    results = project / "allure-results"
    assert [_json(results / n / "checkpoint.json")["exit_code"] for n in ("epoch-1", "epoch-2", "epoch-10")] == [
        1, 2, 2  # epoch-10 itself meets its goals, but its baseline (epoch-2) cannot be read
    ]
    assert capsys.readouterr().out.rstrip().endswith("exit 2 (could not judge epoch-2, epoch-10)")


def test_a_model_option_that_the_checkpoints_override_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["checkpoints", f"{CHECKPOINTS}/*.onnx", "--detector", f"{CHECKPOINTS}/epoch-1.onnx"])
    assert code == 2
    assert "--detector models/balloon-detector/checkpoints/epoch-1.onnx names the detector of every run, but " \
           "detector checkpoints were given to judge" in capsys.readouterr().err
    assert not (project / "allure-results").exists()


def test_clean_history_starts_the_report_trend_afresh(tmp_path: Path) -> None:
    history = tmp_path / "report" / "site" / "history"
    history.mkdir(parents=True)
    (history / "history-trend.json").write_text("[]", encoding="utf-8")
    args = build_parser().parse_args(["checkpoints", "x.onnx", "--report", str(tmp_path / "report")])
    SequenceRunner(args)
    assert history.is_dir()  # by default the report's history continues (CI keeps the previous report)
    SequenceRunner(build_parser().parse_args(["checkpoints", "x.onnx", "--report", str(tmp_path / "report"),
                                              "--clean-history"]))
    assert not history.exists()


def _drop_folder(project: Path) -> Path:
    """Where the training loop drops checkpoints: a folder with the detector's card."""
    drop = project / "drop"
    drop.mkdir()
    shutil.copy(project / CHECKPOINTS / ".." / "model.yaml", drop / "model.yaml")
    return drop


def _watch(argv: list[str], on_sleep: Callable[[int, Callable[[], float]], None]) -> int:
    """Run the watch with a clock that sleeping only moves forward (``on_sleep`` acts between looks)."""
    args = build_parser().parse_args(["watch", *argv])
    args.passthrough = []
    offset, calls = [0.0], [0]

    def clock() -> float:
        return time.time() + offset[0]

    def sleep(seconds: float) -> None:
        offset[0] += seconds
        calls[0] += 1
        on_sleep(calls[0], clock)

    return watch_command(args, clock=clock, sleep=sleep)


def test_a_half_written_checkpoint_is_not_judged_until_it_settles(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop = _drop_folder(project)
    shutil.copy(project / CHECKPOINTS / "epoch-1.onnx", drop / "epoch-1.onnx")
    os.utime(drop / "epoch-1.onnx", (time.time() - 60, time.time() - 60))  # written a minute ago: whole
    whole = (project / CHECKPOINTS / "epoch-2.onnx").read_bytes()
    growing = drop / "epoch-2.onnx"
    growing.write_bytes(whole[: len(whole) // 2])

    def keep_writing(_: int, clock: Callable[[], float]) -> None:
        with growing.open("ab") as stream:
            stream.write(b"\0" * 64)
        os.utime(growing, (clock(), clock()))

    argv = ["drop", "--settle", "2", "--interval", "1", "--timeout", "8", "--once", "--results", "watched"]
    assert _watch(argv, keep_writing) == 1  # epoch-1 was judged (and misses goals); epoch-2 never settled
    results = project / "watched"
    assert (results / "epoch-1" / "checkpoint.json").is_file()
    assert not (results / "epoch-2").exists()
    assert "not judged, still being written: epoch-2.onnx" in capsys.readouterr().out

    # the loop finishes the file; a later watch judges it and continues the trend after epoch-1
    write_detector(growing, *DETECTORS[1][1:])
    os.utime(growing, (time.time() - 60, time.time() - 60))
    assert _watch(["drop", "--settle", "2", "--once", "--results", "watched"], lambda *_: None) == 1
    trend = _json(results / "trend.json")
    assert [(c["name"], c["baseline"] and Path(c["baseline"]).name) for c in trend["checkpoints"]] == [
        ("epoch-1", None), ("epoch-2", "epoch-1.onnx")
    ]


def test_a_checkpoint_renamed_into_place_is_judged_at_once(project: Path) -> None:
    drop = _drop_folder(project)
    partial = drop / "epoch-10.onnx.part"  # the loop writes here, then renames: never read half-written
    shutil.copy(project / CHECKPOINTS / "epoch-10.onnx", partial)
    os.utime(partial, (time.time() - 30, time.time() - 30))
    slow = drop / "epoch-2.onnx"  # written in place just now: waits for the settle time
    shutil.copy(project / CHECKPOINTS / "epoch-2.onnx", slow)

    def rename_once(call: int, _: Callable[[], float]) -> None:
        if call == 1:
            partial.replace(drop / "epoch-10.onnx")

    argv = ["drop", "--settle", "600", "--interval", "1", "--timeout", "5", "--once", "--results", "watched"]
    assert _watch(argv, rename_once) == 0
    assert (project / "watched" / "epoch-10" / "checkpoint.json").is_file()
    assert not (project / "watched" / "epoch-2").exists()


@pytest.mark.slow
def test_the_report_carries_the_trend_from_checkpoint_to_checkpoint(project: Path) -> None:
    tools = Path(__file__).resolve().parents[2] / ".tools"
    if not (tools / "allure").is_dir() or shutil.which("java") is None:
        pytest.skip("Allure (.tools/allure) or Java is not installed here")
    (project / ".tools").symlink_to(tools)
    assert main(["checkpoints", f"{CHECKPOINTS}/*.onnx", "--report", "report"]) == 0
    history = _json(project / "report" / "site" / "history" / "history-trend.json")
    assert [(entry["reportName"], entry["buildOrder"]) for entry in history] == [
        ("epoch-10", 10), ("epoch-2", 2), ("epoch-1", 1)
    ]
    # 4 scenarios and the decision on each, and the trend on the last: neither is counted as passing
    assert [entry["data"]["total"] for entry in history] == [6, 5, 5]
    assert [entry["data"]["unknown"] for entry in history] == [2, 1, 1]
    assert history[0]["data"]["passed"] == 4
    assert (project / "report" / "visionspec-report.html").stat().st_size > 100_000
