"""``visionspec run``: judge the goals (pytest underneath) and write Allure results, JUnit, JSON summary.

Anything after ``--`` goes to pytest unchanged (``-k``, ``-x``, ``-n``...). Exit codes: 0 every goal
met, 1 at least one missed, 2 the suite could not judge.

The results folder is held for the run (``visionspec.report.results_folder``): refused unless it is new,
empty or visionspec's own, locked against a second run, and cleaned of the previous run's files only. A
results folder that cannot be written (full or read-only disk) is exit 2 with the folder and the fix; a
prediction cache that cannot be written is a warning line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from visionspec.errors import ResultsError, VisionSpecError
from visionspec.files import write_problem
from visionspec.report.results_folder import DEFAULT_WAIT_S, held_results

DEFAULT_RESULTS = Path("allure-results")
DEFAULT_FEATURES = Path("features")
_PYTEST_CONFIGS = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the goals; write Allure results (and the report)")
    add_run_options(parser)
    parser.add_argument("features", nargs="*", type=Path, metavar="FEATURES",
                        help="feature files or folders (default: features/)")
    parser.add_argument("--report", type=Path, metavar="DIR", help="also make the HTML report into DIR")
    parser.set_defaults(handler=run_command)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``checkpoints``."""
    parser.add_argument("--detector", type=Path, metavar="ONNX", help="detector checkpoint (default: newest)")
    parser.add_argument("--card", type=Path, metavar="CARD",
                        help="the detector's model card (default: x.yaml beside x.onnx, then models/<name>/model.yaml)")
    parser.add_argument("--colour-model", type=Path, metavar="ONNX", help="colour model checkpoint (default: newest)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--backend", choices=("local", "ray"), default=None,
                        help="where detectors run (default: $VISIONSPEC_BACKEND, the config's backend, else local)")
    parser.add_argument("-m", dest="markers", metavar="TAGS", help="only scenarios with these tags (pytest -m)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, metavar="DIR",
                        help="Allure results folder: new, empty or visionspec's own (only its own files are cleaned)")
    parser.add_argument("--lock-timeout", type=float, default=DEFAULT_WAIT_S, metavar="S",
                        help="wait at most S seconds for another run that holds the results folder "
                        f"(default {DEFAULT_WAIT_S:g})")
    parser.add_argument("--datasets", type=Path, metavar="DIR", help="data set folder (default: ./datasets)")
    parser.add_argument("--junit", type=Path, metavar="XML", help="also write JUnit XML (scenario names)")
    parser.add_argument("--cucumber-json", type=Path, metavar="JSON", help="also write Cucumber JSON")


def pytest_arguments(args: argparse.Namespace, *, features: list[Path], results: Path,
                     checkpoint: str | None = None, build_order: int | None = None) -> list[str]:
    """The pytest command line for one run of the goals."""
    from visionspec.project import find_project

    root = find_project().root
    features = features or [root / DEFAULT_FEATURES]
    for feature in features:
        if not feature.exists():
            raise VisionSpecError(f"{feature}: no such feature file or folder; fix: name .feature files or folders "
                                  f"(default: {DEFAULT_FEATURES}/ of the project folder)")
    # The project folder (the config's, else the working directory), wherever the feature files lie: pytest would
    # otherwise look for its configuration above the feature paths. Every value as --option=value, likewise.
    config = next((root / name for name in _PYTEST_CONFIGS if (root / name).is_file()), None)
    arguments = [*(str(feature) for feature in features), f"--rootdir={root}",
                 *([f"--config-file={config}"] if config else []), "-p", "no:cacheprovider",
                 "-p", "visionspec.pytest_plugin", f"--device={args.device}",
                 f"--alluredir={results}", f"--summary-json={results / 'summary.json'}",
                 "-o", "junit_family=xunit1", "-q", "--tb=short",
                 "-W", "ignore::pytest.PytestAssertRewriteWarning"]  # the plugin is imported before pytest starts
    if args.markers:
        arguments += ["-m", args.markers]  # a tag expression, never a path
    options = {"--detector": args.detector, "--card": getattr(args, "card", None),
               "--backend": getattr(args, "backend", None),
               "--colour-model": args.colour_model, "--datasets": args.datasets,
               "--junitxml": args.junit, "--cucumberjson": args.cucumber_json,
               "--checkpoint-name": checkpoint, "--build-order": build_order}
    for flag, value in options.items():
        if value is not None:
            arguments.append(f"{flag}={value}")
    return arguments + list(getattr(args, "passthrough", []))


def run_goals(arguments: list[str], results: Path) -> int:
    """Run pytest in this process, writing into the held folder ``results``; map its exit status onto 0 / 1 / 2.

    Raises:
        ResultsError: a results file could not be written (full or read-only disk).
    """
    import pytest

    from visionspec.cli.run_guard import RunGuard

    guard = RunGuard()
    try:
        status = int(pytest.main(arguments, plugins=[guard]))
    except OSError as err:  # raised by a session-finish hook (summary.json, environment.properties)
        raise _write_failure(results, err) from err
    if guard.write_error is not None:
        raise _write_failure(results, guard.write_error) from guard.write_error
    return status if status in (0, 1, 2) else 2


def _write_failure(results: Path, err: OSError) -> ResultsError:
    """The error of a run that could not write its results."""
    where = f"{err.filename}: " if err.filename else ""
    return ResultsError(f"{results}: the run could not write its results ({where}{write_problem(err)})")


def say_waiting(line: str) -> None:
    """Tell the user, on one stderr line, that this run waits for another one."""
    print(f"visionspec: {line}", file=sys.stderr, flush=True)


def apply_project(args: argparse.Namespace) -> Path:
    """Fill what the command line leaves open from the project config; returns the project folder."""
    from visionspec.project import find_project

    project = find_project()
    if project.source is not None:
        if args.results == DEFAULT_RESULTS:
            args.results = project.results
        if not args.features:
            args.features = [path for path in project.features if path.exists()] or list(project.features)
        if args.datasets is None and not os.environ.get("VISIONSPEC_DATASETS"):
            args.datasets = project.datasets
    return project.root


def run_command(args: argparse.Namespace) -> int:
    apply_project(args)
    with held_results(args.results, wait_s=args.lock_timeout, on_wait=say_waiting):
        status = run_goals(pytest_arguments(args, features=list(args.features), results=args.results), args.results)
        report = None
        if args.report is not None:
            from visionspec.report.allure_cli import generate

            report = generate(args.results, args.report)
    for line in where_lines(args.results, report):
        print(line)
    return status


def where_lines(results: Path, report: Path | None) -> list[str]:
    """The run's last lines: the decision, where the results went, and the command that opens the report."""
    from visionspec.report.decision import DECISION_FILE, report_title

    decision = report_title(results)
    lines = [f"decision: {decision}"] if decision else []
    lines.append(f"results: {results}/ (summary.json, {DECISION_FILE}, Allure results)")
    if report is None:
        lines.append(f"make the report: visionspec report --results {results}")
    else:
        lines.append(f"report: {report}")
        lines.append(f"open it: xdg-open {report}  (macOS: open {report})")
    return lines
