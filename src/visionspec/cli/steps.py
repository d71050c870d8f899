"""``visionspec steps``: the step catalogue, generated from the step definitions themselves."""

from __future__ import annotations

import argparse
import sys
import textwrap
from importlib import import_module
from pathlib import Path
from typing import Any

from visionspec.errors import VisionSpecError

# Parameter forms shared by many phrases: explained once, at the top.
_COMMON = ("comparison", "quantity", "confident")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("steps", help="the step catalogue: every phrase, with an example")
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="project root holding steps/ (default: .)")
    parser.add_argument("--markdown", action="store_true", help="write Markdown (for docs/steps.md)")
    parser.set_defaults(handler=run)


def _import_step_modules(project: Path) -> None:
    folder = project / "steps"
    if not (folder / "__init__.py").is_file():
        raise VisionSpecError(f"{folder} is not a step library folder: run `visionspec steps` from the project root")
    sys.path.insert(0, str(project))
    for module in sorted(folder.glob("[!_]*.py")):
        import_module(f"steps.{module.stem}")


def run(args: argparse.Namespace) -> int:
    from visionspec.pytest_plugin import step_catalogue

    _import_step_modules(args.project.resolve())
    entries = step_catalogue()
    common = {name: form for entry in entries for name, form in entry.forms if name in _COMMON}
    print("# Step catalogue\n" if args.markdown else "STEP CATALOGUE (generated from the step definitions)\n")
    for name, form in common.items():
        print(f"- `<{name}>`: {form}" if args.markdown else f"  <{name}>: {form}")
    concept = None
    for entry in entries:
        if entry.concept != concept:
            concept = entry.concept
            print(f"\n## {concept}\n" if args.markdown else f"\n{concept.upper()}")
        if args.markdown:
            print(f"- **{entry.keyword}** `{entry.phrase}`: {entry.summary}  \n  e.g. `{entry.example}`")
            continue
        print(f"  {entry.keyword} {entry.phrase}")
        for line in textwrap.wrap(entry.summary, 96):
            print(f"      {line}")
        for name, form in entry.forms:
            if name not in _COMMON:
                print(f"      <{name}>: {form}")
        if entry.example:
            print(f"      e.g. {entry.example}")
    return 0
