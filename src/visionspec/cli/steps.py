"""``visionspec steps``: the step catalogue, generated from the step definitions themselves."""

from __future__ import annotations

import argparse
import textwrap
from importlib import import_module
from typing import Any

from visionspec.goals.verdict import ExitCode

# Parameter forms shared by many phrases: explained once, at the top.
_COMMON = ("comparison", "quantity", "confidence", "subject")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("steps", help="the step catalogue: every phrase, with an example")
    parser.add_argument("--markdown", action="store_true", help="write Markdown (for docs/steps.md)")
    parser.set_defaults(handler=run)


def _import_step_modules() -> None:
    from visionspec import pytest_plugin

    for module in pytest_plugin.pytest_plugins:
        import_module(module)


def _markdown_entry(entry: Any) -> None:
    print(f"- **{entry.keyword}** `{entry.phrase}`: {entry.summary}  \n  e.g. `{entry.example}`")
    for name, form in entry.forms:
        if name not in _COMMON:
            print(f"  - `<{name}>`: {form}")
    if entry.table:
        print("\n  ```gherkin\n" + "\n".join(f"    {line}" for line in entry.table) + "\n  ```")


def _text_entry(entry: Any) -> None:
    print(f"  {entry.keyword} {entry.phrase}")
    for line in textwrap.wrap(entry.summary, 96):
        print(f"      {line}")
    for name, form in entry.forms:
        if name not in _COMMON:
            print(f"      <{name}>: {form}")
    if entry.example:
        print(f"      e.g. {entry.example}")
    for line in entry.table:
        print(f"          {line}")


def run(args: argparse.Namespace) -> int:
    from visionspec.pytest_plugin import step_catalogue

    _import_step_modules()
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
        (_markdown_entry if args.markdown else _text_entry)(entry)
    print("\nQuotes are optional anywhere in a phrase and words match in any case: "
          'Given "data set 12345" is Given data set "12345".' if not args.markdown else
          "\nQuotes are optional anywhere in a phrase and words match in any case: "
          '`Given "data set 12345"` is `Given data set "12345"`.')
    return ExitCode.MET
