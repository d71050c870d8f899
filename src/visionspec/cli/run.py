"""``visionspec run``: judge the goals (pytest underneath) and write Allure results, JUnit, JSON summary.

Anything after ``--`` goes to pytest unchanged (``-k``, ``-x``, ``-n``...). Exit codes: 0 every goal
met, 1 at least one missed, 2 the suite could not judge.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from visionspec.errors import VisionSpecError

DEFAULT_RESULTS = Path("allure-results")
BINDING_MODULE = Path("features") / "test_features.py"


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
    parser.add_argument("--colour-model", type=Path, metavar="ONNX", help="colour model checkpoint (default: newest)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("-m", dest="markers", metavar="TAGS", help="only scenarios with these tags (pytest -m)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, metavar="DIR", help="Allure results folder")
    parser.add_argument("--datasets", type=Path, metavar="DIR", help="data set folder (default: ./datasets)")
    parser.add_argument("--junit", type=Path, metavar="XML", help="also write JUnit XML (scenario names)")
    parser.add_argument("--cucumber-json", type=Path, metavar="JSON", help="also write Cucumber JSON")


def pytest_arguments(args: argparse.Namespace, *, features: list[Path], results: Path,
                     checkpoint: str | None = None, build_order: int | None = None) -> list[str]:
    """The pytest command line for one run of the goals."""
    if not BINDING_MODULE.is_file():
        raise VisionSpecError(f"{BINDING_MODULE} not found: run visionspec from the project root")
    # Every value as --option=value: pytest takes a bare path argument (even an option's value) as a
    # place to look for its configuration, and would then leave the project's pyproject.toml.
    arguments = [str(BINDING_MODULE), "-p", "no:cacheprovider", f"--device={args.device}",
                 f"--alluredir={results}", "--clean-alluredir", f"--summary-json={results / 'summary.json'}",
                 "-o", "junit_family=xunit1", "-q"]
    for feature in features:
        if not feature.exists():
            raise VisionSpecError(f"{feature}: no such feature file or folder")
        arguments.append(f"--goals={feature}")
    if args.markers:
        arguments += ["-m", args.markers]  # a tag expression, never a path
    options = {"--detector": args.detector, "--colour-model": args.colour_model, "--datasets": args.datasets,
               "--junitxml": args.junit, "--cucumberjson": args.cucumber_json,
               "--checkpoint-name": checkpoint, "--build-order": build_order}
    for flag, value in options.items():
        if value is not None:
            arguments.append(f"{flag}={value}")
    return arguments + list(getattr(args, "passthrough", []))


def run_goals(arguments: list[str]) -> int:
    """Run pytest in this process; map its exit status onto 0 / 1 / 2."""
    import pytest

    status = int(pytest.main(arguments))
    return status if status in (0, 1, 2) else 2


def run_command(args: argparse.Namespace) -> int:
    status = run_goals(pytest_arguments(args, features=list(args.features), results=args.results))
    if args.report is not None:
        from visionspec.report.allure_cli import generate

        print(generate(args.results, args.report).resolve())
    return status
