"""``visionspec report``: the Allure HTML report of a run, one self-contained file for the product owner."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from visionspec.goals.verdict import ExitCode
from visionspec.report.allure_cli import DEFAULT_REPORT_NAME, DEFAULT_TOOLS_DIR, SITE_FOLDER, generate

DEFAULT_RESULTS = Path("allure-results")
DEFAULT_OUT = Path("allure-report")


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="make the Allure report: one self-contained HTML file (printed) plus a directory build keeping history",
        description=(
            "Generate the Allure 2 report from a run's results. Installs Allure into .tools/allure on first use "
            "(needs npm once, and Java). Prints the path of the single-file report."
        ),
    )
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help=f"the Allure results a run wrote (default: the config's results, else {DEFAULT_RESULTS})")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"where the reports go: DIR/visionspec-report.html and DIR/{SITE_FOLDER}/ "
                             f"(default: the config's report, else {DEFAULT_OUT})")
    parser.add_argument("--name", help=f"the report's title (default: the decision, else {DEFAULT_REPORT_NAME!r})")
    parser.add_argument("--tools", type=Path, default=DEFAULT_TOOLS_DIR, metavar="DIR",
                        help=f"where Allure is installed (default: {DEFAULT_TOOLS_DIR})")
    parser.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Generate both reports; print the single file's path."""
    from visionspec.project import find_project

    project = find_project()
    configured = project.source is not None
    results = args.results or (project.results if configured else DEFAULT_RESULTS)
    out = args.out or (project.report if configured else DEFAULT_OUT)
    single_file = generate(results, out, tools_dir=args.tools, report_name=args.name)
    print(single_file.resolve())
    return ExitCode.MET
