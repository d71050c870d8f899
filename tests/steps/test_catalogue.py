"""The step catalogue is enough to write goals: every parameter defined, examples that run, real files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from visionspec.cli.steps import _import_step_modules
from visionspec.pytest_plugin import step_catalogue
from visionspec.pytest_plugin.compat import step_contexts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _steps() -> None:
    _import_step_modules()


def test_every_parameter_of_every_phrase_says_its_accepted_forms() -> None:
    for entry in step_catalogue():
        assert set(entry.parameters) == {name for name, _ in entry.forms}, entry.phrase


def test_phrases_are_ordered_given_when_then() -> None:
    keywords = [entry.keyword for entry in step_catalogue()]
    assert keywords == sorted(keywords, key=["Given", "When", "Then"].index)


def test_every_example_matches_its_own_phrase_and_names_files_that_exist() -> None:
    contexts = {context.step_func: context for context in step_contexts()
                if context.step_func.__module__.startswith("visionspec.")}
    for context in contexts.values():
        lines = (context.step_func.__doc__ or "").splitlines()
        examples = [line.strip().removeprefix("Example:").strip() for line in lines if "Example:" in line]
        assert examples, f"{context.step_func.__module__}.{context.step_func.__name__} has no example"
        example = examples[0]
        assert context.parser.is_matching(example.split(" ", 1)[1]), example
        for path in re.findall(r'"([^"]+\.onnx)"', example):
            assert (ROOT / path).is_file(), f"{example}: {path} does not exist"


def test_a_table_step_shows_its_table() -> None:
    bars = next(entry for entry in step_catalogue() if entry.phrase.startswith("every colour"))
    assert bars.table[0] == "| colour | recall | precision |"


def test_the_committed_catalogue_page_is_the_generated_one() -> None:
    generated = subprocess.run([sys.executable, "-m", "visionspec", "steps", "--markdown"], capture_output=True,
                               text=True, check=True, cwd=ROOT).stdout
    assert (ROOT / "docs" / "steps.md").read_text(encoding="utf-8") == generated, (
        "docs/steps.md is stale: regenerate it with `visionspec steps --markdown > docs/steps.md`")
