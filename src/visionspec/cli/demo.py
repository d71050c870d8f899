"""``visionspec demo``: the whole loop on the built-in data and reference models, ending with the report.

Builds the data sets the shipped goals use (once; later runs only verify them), judges the goals on
the reference checkpoints and prints the path of the single-file report for the product owner. Then, with
the extra ``serve``, it starts the reference analysis service on 127.0.0.1, judges ``features/service``
through it (the service against the candidate it serves: what users get), prints that report too and
stops the service.
"""

from __future__ import annotations

import argparse
import os
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from visionspec.checkpoints import REFERENCE_COLOUR_MODEL, REFERENCE_DETECTOR, newest_checkpoint
from visionspec.cli.run import DEFAULT_RESULTS
from visionspec.datasets.registry import DatasetRegistry
from visionspec.goals.verdict import ExitCode
from visionspec.report.allure_cli import SINGLE_FILE_NAME
from visionspec.report.decision import DECISION_FILE

DEMO_DATASETS = ("12345", "balloons-crowd")
DEFAULT_REPORT = Path("reports") / "demo"
SERVICE_FEATURES = Path("features") / "service"
SERVICE_DATASETS = ("balloons-smoke",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="build the data, judge the reference checkpoints, write the report")
    parser.add_argument("--datasets", type=Path, metavar="DIR", help="data set folder (default: ./datasets)")
    parser.add_argument("--models", type=Path, default=Path("models"), metavar="DIR", help="model registry")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, metavar="DIR", help="Allure results")
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
    """Build the data, judge every reference detector checkpoint in order, print the report's path.

    Early checkpoints missing goals is the story (the trend shows training progress); the exit code is the
    verdict the demo ends with, on the newest checkpoint (and the service): 0 every goal met, 1 a goal
    missed, 2 something could not be judged.
    """
    registry = DatasetRegistry(args.datasets)
    for dataset_id in DEMO_DATASETS:
        ensure_built(registry, dataset_id)
    from visionspec.cli import build_parser
    from visionspec.cli.checkpoints import checkpoints_command

    detector_checkpoints = args.models / REFERENCE_DETECTOR / "checkpoints"
    sequence = build_parser().parse_args([
        "checkpoints", str(detector_checkpoints), "--results", str(args.results), "--report", str(args.report),
        "--clean-history", "--colour-model", str(newest_checkpoint(args.models, REFERENCE_COLOUR_MODEL)),
        *(["--datasets", str(args.datasets)] if args.datasets else []),
    ])
    status = checkpoints_command(sequence)
    print(f"\nThe product owner's report: {(args.report / SINGLE_FILE_NAME).resolve()}")
    service_report = args.report.parent / f"{args.report.name}-service"
    service_status = judge_service(registry, args.models, args.results.parent / f"{args.results.name}-service",
                                   service_report, SERVICE_DATASETS, datasets=args.datasets)
    if service_status is not None:
        print(f"The analysis service's report: {(service_report / SINGLE_FILE_NAME).resolve()}")
    code = max(ExitCode(status), ExitCode(service_status or 0))
    decision = args.results / DECISION_FILE
    if decision.is_file():  # its head: the verdict and the release gate (every goal follows in the file)
        head = decision.read_text(encoding="utf-8").split("\n## Every goal")[0].strip()
        print(f"\nThe decision on the newest checkpoint ({decision}):\n\n{head}")
    print(f"\nvisionspec demo: exit {int(code)} ({_ENDING[code]})")
    return code


_ENDING = {
    ExitCode.MET: "the newest checkpoint meets every goal",
    ExitCode.MISSED: "the newest checkpoint misses goals: see the decision above and the report",
    ExitCode.BROKEN: "something could not be judged: see the BROKEN lines above",
}


def judge_service(registry: DatasetRegistry, models: Path, results: Path, report: Path | None,
                  dataset_ids: tuple[str, ...], *, datasets: Path | None = None) -> int | None:
    """Serve the newest checkpoints on 127.0.0.1, judge ``features/service`` through the service, stop it.

    Returns the run's exit code, or None when there is nothing to judge (no ``features/service``) or the
    extra ``serve`` is not installed (said on the terminal).
    """
    if not SERVICE_FEATURES.is_dir():
        return None
    try:
        from visionspec.service.background import background_service
    except ImportError as err:
        print(f"\nthe analysis service: not judged ({err.name} is missing; pip install 'visionspec[serve]')")
        return None
    for dataset_id in dataset_ids:
        ensure_built(registry, dataset_id)
    from visionspec.cli import build_parser
    from visionspec.cli.run import run_command
    from visionspec.service.contract import SERVICE_URL_ENV

    print("\nthe analysis service: starting visionspec serve on 127.0.0.1 ...", flush=True)
    with background_service(models) as url:
        print(f"the analysis service: {url}; judging {SERVICE_FEATURES} through it", flush=True)
        run = build_parser().parse_args([
            "run", str(SERVICE_FEATURES), "--results", str(results), *(["--report", str(report)] if report else []),
            *(["--datasets", str(datasets)] if datasets else []),
        ])
        before = os.environ.get(SERVICE_URL_ENV)
        os.environ[SERVICE_URL_ENV] = url
        try:
            return run_command(run)
        finally:
            if before is None:
                os.environ.pop(SERVICE_URL_ENV, None)
            else:
                os.environ[SERVICE_URL_ENV] = before
