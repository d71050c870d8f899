"""``visionspec checkpoints``: the goals on each checkpoint in order, the trend, flip lists against the previous one.

Each checkpoint is one run of the goals (pytest underneath, as ``visionspec run``) into
``RESULTS/<checkpoint>/`` (Allure results, ``summary.json``, ``checkpoint.json``), with its JUnit XML in
``RESULTS/junit/<checkpoint>.xml`` and Cucumber JSON in ``RESULTS/cucumber/<checkpoint>.json`` (not in the
Allure folder: Allure would read them as more tests). Detector
checkpoints replace the detector under test, colour-model checkpoints the colour model (the model
card's ``task`` says which). For a detector, "the previous checkpoint" is the detector judged before it
(the first one's is ``--baseline``, else the file before it in its folder).

RESULTS is held for the whole sequence and each ``RESULTS/<checkpoint>/`` for its run, as ``visionspec run``
holds its results folder (refused unless new, empty or visionspec's own; locked; only visionspec's own files
cleaned); ``RESULTS/<checkpoint>/judged.json`` records the SHA-256 of the file that was judged.

With ``--report DIR`` each checkpoint's report is generated in order into DIR, so Allure's history and
trend read by checkpoint; the single-file report is made once, for the last checkpoint.

Exit code: 2 when any checkpoint could not be judged, else the last checkpoint's 0 (every goal met)
or 1 (a goal missed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from visionspec.checkpoints import (
    TREND_FILE,
    Checkpoint,
    CheckpointOutcome,
    ModelRole,
    expand_checkpoints,
    goal_rows,
    goal_table_text,
    judge_sequence,
    plan_sequence,
    sequence_exit_code,
)
from visionspec.cli.run import add_run_options, pytest_arguments, run_goals, say_waiting
from visionspec.errors import VisionSpecError
from visionspec.files import write_text_atomic
from visionspec.report.decision import DECISION_FILE, report_title
from visionspec.report.results_folder import held_results
from visionspec.runtime.session import file_sha256

JUNIT_FOLDER = "junit"
CUCUMBER_FOLDER = "cucumber"
JUDGED_FILE = "judged.json"
_VERDICT_WORDS = {0: "every goal met", 1: "goals missed", 2: "could not judge"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("checkpoints", help="the goals on each checkpoint in order: trend, flip lists")
    parser.add_argument("checkpoints", nargs="+", metavar="ONNX",
                        help="checkpoint files or globs; judged in natural order (epoch-9 before epoch-10)")
    parser.add_argument("--given-order", action="store_true",
                        help="judge the files in the order given instead of natural name order")
    add_run_options(parser)
    add_sequence_options(parser)
    parser.set_defaults(handler=checkpoints_command)


def add_sequence_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``checkpoints`` and ``watch``."""
    parser.add_argument("--baseline", type=Path, metavar="ONNX",
                        help="the detector the first checkpoint is compared with (default: the file before it)")
    parser.add_argument("--goals", action="append", type=Path, default=[], metavar="FEATURES",
                        help="feature file or folder to judge (repeatable; default: features/)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="make the report into DIR after each checkpoint, carrying its history forward")
    parser.add_argument("--clean-history", action="store_true",
                        help="start the report's history afresh instead of continuing the one in --report")


class SequenceRunner:
    """Runs the goals on one checkpoint after another with the same options, and reports after each."""

    def __init__(self, args: argparse.Namespace, *, total: int | None = None, prefix: str = "visionspec checkpoints"
                 ) -> None:
        self.args = args
        self.total = total
        self.prefix = prefix
        self.previous_summary: Path | None = None
        """the summary.json of the checkpoint judged before, for decision.md's stories"""
        if args.report is not None and args.clean_history:
            shutil.rmtree(args.report / "site" / "history", ignore_errors=True)

    def check(self, plan: list[Checkpoint]) -> None:
        """Refuse a model option that every run would override with the checkpoints."""
        for role, option, value in ((ModelRole.DETECTOR, "--detector", self.args.detector),
                                    (ModelRole.COLOUR_MODEL, "--colour-model", self.args.colour_model)):
            if value is not None and any(checkpoint.role is role for checkpoint in plan):
                raise VisionSpecError(
                    f"{option} {value} names the {role.value} of every run, but {role.value} checkpoints were "
                    f"given to judge; fix: drop {option}, or give only checkpoints of the other model"
                )

    def held(self, folder: Path, *, clean_first: bool = True) -> contextlib.AbstractContextManager[Path]:
        """``folder`` claimed, locked (waiting up to ``--lock-timeout``) and, with ``clean_first``, cleaned."""
        return held_results(folder, wait_s=self.args.lock_timeout, clean_first=clean_first, on_wait=say_waiting)

    def judge(self, checkpoint: Checkpoint, folder: Path, *, sha256: str | None = None) -> int:
        """One run of the goals with ``checkpoint`` as its model under test; its exit code.

        ``sha256`` is the file's content as the caller saw it (default: hashed here), recorded in
        ``judged.json`` so that a watch judges a changed file again.
        """
        with self.held(folder):
            digest = sha256 or _sha256_or_empty(checkpoint.path)
            write_text_atomic(folder / JUDGED_FILE, json.dumps({"file": str(checkpoint.path), "sha256": digest}) + "\n")
            return self._run(checkpoint, folder)

    def _run(self, checkpoint: Checkpoint, folder: Path) -> int:
        """The pytest run of one checkpoint into the held ``folder``."""
        options = argparse.Namespace(**vars(self.args))
        options.junit = folder.parent / JUNIT_FOLDER / f"{checkpoint.name}.xml"
        options.cucumber_json = folder.parent / CUCUMBER_FOLDER / f"{checkpoint.name}.json"
        options.cucumber_json.parent.mkdir(parents=True, exist_ok=True)  # pytest-bdd does not create it
        if checkpoint.role is ModelRole.DETECTOR:
            options.detector = checkpoint.path
        else:
            options.colour_model = checkpoint.path
        arguments = pytest_arguments(options, features=list(self.args.goals), results=folder,
                                     checkpoint=checkpoint.name, build_order=checkpoint.build_order)
        if checkpoint.role is ModelRole.DETECTOR and checkpoint.baseline is not None:
            # one argument: pytest takes an option's value that is a path outside the project for a place
            # to look for its rootdir and ini file
            arguments.append(f"--baseline={checkpoint.baseline}")
        if self.previous_summary is not None and self.previous_summary.is_file():
            arguments.append(f"--previous-summary={self.previous_summary}")
        # one sentence a goal is printed anyway; tracebacks of every checkpoint would bury them (`-- --tb=long`)
        arguments[1:1] = ["--tb=no"]
        print(f"{self.prefix}: judging {checkpoint.name} ({checkpoint.path})", flush=True)
        code = run_goals(arguments, folder)
        self.previous_summary = folder / "summary.json"
        return code

    def after_each(self, outcome: CheckpointOutcome, outcomes: list[CheckpointOutcome], *, last: bool) -> None:
        """A line for the checkpoint, then its report (directory build; the single file only for the last)."""
        counts = ", ".join(f"{count} {status}" for status, count in outcome.counts.items() if count)
        place = f"[{len(outcomes)}/{self.total}] " if self.total else ""
        print(f"{self.prefix}: {place}{outcome.checkpoint.name}: {_VERDICT_WORDS[outcome.exit_code]} "
              f"(exit {outcome.exit_code}; {counts or 'no scenario'}) in {outcome.seconds:.1f} s", flush=True)
        if self.args.report is not None:
            from visionspec.report.allure_cli import generate

            generate(self.args.results / outcome.checkpoint.name, self.args.report, make_single_file=last)

    def finish(self, outcomes: list[CheckpointOutcome], *, judged: int | None = None) -> int:
        """Print the goal-by-checkpoint table and where everything is; return the exit code.

        The exit code is over the last ``judged`` outcomes (default all): a watch does not answer for
        checkpoints judged before it started.
        """
        counted = outcomes[len(outcomes) - (len(outcomes) if judged is None else judged):]
        code = sequence_exit_code([outcome.exit_code for outcome in counted])
        if not counted:
            print(f"{self.prefix}: no checkpoint judged")
            return code
        names = [outcome.checkpoint.name for outcome in outcomes]
        print()
        print(goal_table_text(names, goal_rows(outcomes)))
        print()
        print(f"trend: {self.args.results / TREND_FILE}")
        last = outcomes[-1].checkpoint.name
        for wanted, produced in ((self.args.junit, self.args.results / JUNIT_FOLDER / f"{last}.xml"),
                                 (self.args.cucumber_json, self.args.results / CUCUMBER_FOLDER / f"{last}.json")):
            if wanted is not None and produced.is_file():
                wanted.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(produced, wanted)
        decision = self.args.results / last / DECISION_FILE
        if decision.is_file():  # the candidate's decision where CI finds it, whatever the checkpoint's name
            shutil.copyfile(decision, self.args.results / DECISION_FILE)
            print(f"decision: {self.args.results / DECISION_FILE} ({report_title(self.args.results / last)})")
        if self.args.report is not None:
            print(f"report: {(self.args.report / 'visionspec-report.html').resolve()}")
        broken = [outcome.checkpoint.name for outcome in counted if outcome.exit_code not in (0, 1)]
        reason = (f"could not judge {', '.join(broken)}" if broken else
                  f"{names[-1]}: {_VERDICT_WORDS[outcomes[-1].exit_code]}")
        print(f"{self.prefix}: exit {code} ({reason})")
        return code


def judged_sha256(folder: Path) -> str | None:
    """The SHA-256 recorded in ``folder/judged.json`` (the file a checkpoint's run judged), or None."""
    try:
        digest = json.loads((folder / JUDGED_FILE).read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) and digest else None


def _sha256_or_empty(path: Path) -> str:
    """The file's SHA-256, or "" when it cannot be read (its run then says why, as a broken verdict)."""
    try:
        return file_sha256(path)
    except OSError:
        return ""


def checkpoints_command(args: argparse.Namespace) -> int:
    paths = expand_checkpoints([str(pattern) for pattern in args.checkpoints], keep_order=args.given_order)
    plan = plan_sequence(paths, baseline=args.baseline)
    runner = SequenceRunner(args, total=len(plan))
    runner.check(plan)
    with runner.held(args.results, clean_first=False):
        outcomes = judge_sequence(
            plan,
            runner.judge,
            args.results,
            on_judged=lambda outcome, so_far: runner.after_each(outcome, so_far, last=len(so_far) == len(plan)),
        )
        return runner.finish(outcomes)
