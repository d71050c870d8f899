"""The step catalogue, read from the step definitions themselves, and the closest phrases to a typo."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from visionspec.pytest_plugin.compat import step_contexts

_KEYWORD_ORDER = {"Given": 0, "When": 1, "Then": 2}


@dataclass(frozen=True)
class CatalogueEntry:
    """One phrase of the step library, read from its step definition.

    Attributes:
        keyword: Given, When or Then.
        phrase: the pattern with ``<parameter>`` placeholders.
        parameters: the parameters, in order.
        summary: what the step does (the docstring's first paragraph).
        example: a line a tester can copy.
        table: the example table of a table step (its lines), else empty.
        concept: the step module (data sets, models, actions, goals, baseline).
        forms: (parameter, accepted forms) of every parameter.
    """

    keyword: str
    phrase: str
    parameters: tuple[str, ...]
    summary: str
    example: str
    table: tuple[str, ...]
    concept: str
    forms: tuple[tuple[str, str], ...]


def _entry(context: Any) -> CatalogueEntry:
    func = context.step_func
    lines = [line.strip() for line in (func.__doc__ or "").strip().splitlines()]
    summary_lines = []
    for line in lines:
        if not line or line.startswith(("Example:", "Table:")):
            break
        summary_lines.append(line)
    examples = [line.removeprefix("Example:").strip() for line in lines if line.startswith("Example:")]
    table = tuple(line for line in lines if line.startswith("|"))
    name = context.parser.name
    forms_of = getattr(context.parser, "forms", None)
    return CatalogueEntry(
        keyword=(context.type or "step").capitalize(),
        phrase=re.sub(r"{(\w+)(?::\w+)?}", r"<\1>", name),
        parameters=tuple(dict.fromkeys(re.findall(r"{(\w+)(?::\w+)?}", name))),
        summary=" ".join(summary_lines),
        example=examples[0] if examples else "",
        table=table,
        concept=func.__module__.rpartition(".")[2],
        forms=forms_of() if callable(forms_of) else (),
    )


_CONCEPT_ORDER = {"datasets": 0, "models": 1, "actions": 2, "goals": 3, "baseline": 4}


def step_catalogue() -> list[CatalogueEntry]:
    """Every registered step definition: Given, then When, then Then, by concept and phrase."""
    entries = {_entry(context) for context in step_contexts()}
    return sorted(entries, key=lambda e: (_KEYWORD_ORDER.get(e.keyword, 3), _CONCEPT_ORDER.get(e.concept, 9),
                                          e.concept, e.phrase))


def closest_phrases(text: str, limit: int = 3) -> list[str]:
    """The examples of the registered phrases closest to ``text`` (a step that matched nothing)."""
    by_example = {(e.example.split(" ", 1)[1] if e.example else e.phrase): e for e in step_catalogue()}
    matches = difflib.get_close_matches(text, list(by_example), n=limit, cutoff=0.5)
    return [by_example[m].example or f"{by_example[m].keyword} {by_example[m].phrase}" for m in matches]


def unknown_step_message(keyword: str, text: str, line: int) -> str:
    """What a tester reads for a step that matches no phrase: the line and the closest phrases."""
    suggestions = closest_phrases(text)
    hint = "; closest phrases: " + " | ".join(suggestions) if suggestions else ""
    return f'no step matches "{keyword} {text}" (line {line}){hint}. Run `visionspec steps` for the catalogue.'
