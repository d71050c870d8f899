"""``visionspec demo``: the whole loop on the built-in data and reference models, ending with the report.

Builds the data sets the shipped goals use (once; later runs only verify them), judges the goals on
the reference checkpoints and prints the path of the single-file report for the product owner.
"""

from __future__ import annotations

import argparse
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from visionspec.cli.run import add_run_options, pytest_arguments, run_goals
from visionspec.datasets.registry import DatasetRegistry

DEMO_DATASETS = ("12345", "balloons-crowd")
DEFAULT_REPORT = Path("reports") / "demo"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="build the data, judge the reference checkpoints, write the report")
    add_run_options(parser)
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, metavar="DIR", help="where the report goes")
    parser.set_defaults(handler=demo_command)


def ensure_built(registry: DatasetRegistry, dataset_id: str) -> None:
    """Build a synthetic data set unless it is built and verified already."""
    if registry.is_built(dataset_id) and registry.verify(dataset_id).ok:
        print(f"data set {dataset_id}: built and verified")
        return
    started = time.perf_counter()
    print(f"data set {dataset_id}: building ...", flush=True)
    import_module("visionspec.datasets.synthetic").build(registry.spec(dataset_id), registry.folder(dataset_id),
                                                        workers=None)
    report = DatasetRegistry(registry.root).verify(dataset_id)
    if not report.ok:
        from visionspec.errors import DatasetError

        raise DatasetError(str(report))
    print(f"data set {dataset_id}: built and verified in {time.perf_counter() - started:.0f} s")


def demo_command(args: argparse.Namespace) -> int:
    registry = DatasetRegistry(args.datasets)
    for dataset_id in DEMO_DATASETS:
        ensure_built(registry, dataset_id)
    status = run_goals(pytest_arguments(args, features=[], results=args.results))
    from visionspec.report.allure_cli import generate

    report = generate(args.results, args.report)
    print(f"\nThe product owner's report: {report.resolve()}")
    return 2 if status == 2 else 0
