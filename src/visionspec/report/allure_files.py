"""The metadata files Allure reads from a results folder: environment, executor and categories.

- ``environment.properties``: what was judged and on what (model files and SHA-256s, data set digests,
  the execution provider actually used, the GPU or CPU, software versions).
- ``executor.json``: names the checkpoint (``buildName``, ``reportName``) and its place in the sequence
  (``buildOrder``), so history and trend read by checkpoint.
- ``categories.json``: sorts failures into "goal missed" and the kinds of "broken" (data, model, step,
  precondition), so a product owner tells a worse model from a broken suite at a glance.

Example:
    >>> env = RunEnvironment(models=(ModelFile("detector", Path("epoch-10.onnx"), "ab12"),),
    ...                      datasets={"12345": "9f00"}, provider="CPUExecutionProvider")
    >>> write_environment(Path("allure-results"), env)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import visionspec
from visionspec.files import write_text_atomic

ENVIRONMENT_FILE = "environment.properties"
EXECUTOR_FILE = "executor.json"
CATEGORIES_FILE = "categories.json"

# The sentence of a missed goal always carries "; goal: " (visionspec.goals.verdict.judge).
GOAL_MISSED_REGEX = r"(?s).*\bgoal: .*"

# Allure applies the first category whose statuses and regexes match (Java ``String.matches``: the whole
# message, hence ``(?s).*`` on both sides). Messages start with the exception's qualified class name.
CATEGORIES: tuple[Mapping[str, Any], ...] = (
    {
        "name": "Goal missed",
        "description": "The model was judged and is not good enough for this goal.",
        "matchedStatuses": ["failed"],
        "messageRegex": GOAL_MISSED_REGEX,
    },
    {
        "name": "Broken: data set",
        "description": "The data set is missing, malformed or does not match its manifest.",
        "matchedStatuses": ["broken"],
        "messageRegex": r"(?s).*\bDatasetError\b.*",
    },
    {
        "name": "Broken: model",
        "description": "The model file, its card, its output or the requested device is unusable.",
        "matchedStatuses": ["broken"],
        "messageRegex": r"(?s).*\b(ModelError|ModelCardError|InferenceError|DeviceError)\b.*",
    },
    {
        "name": "Broken: step",
        "description": "A step matches no phrase of the catalogue, or a phrase cannot be understood.",
        "matchedStatuses": ["broken"],
        "messageRegex": r"(?s).*\b(StepDefinitionNotFoundError|GoalPhraseError)\b.*",
    },
    {
        "name": "Broken: precondition not met",
        "description": "What the scenario takes for granted does not hold, so its goals cannot be judged.",
        "matchedStatuses": ["broken"],
        "messageRegex": r"(?s).*\bPreconditionError\b.*",
    },
    {
        "name": "Broken: other",
        "description": "Something else stopped the suite from judging; the trace says what.",
        "matchedStatuses": ["broken"],
    },
)


@dataclass(frozen=True)
class ModelFile:
    """A model file under test.

    Attributes:
        role: what it is in the run, e.g. ``detector`` or ``colour model``.
        path: the ONNX file as given on the command line.
        sha256: its SHA-256 hex digest.
        card: the card it was judged with and its origin (file, ONNX metadata, or both), as
            ``ModelSession.card_source`` words it; empty when unknown.
    """

    role: str
    path: Path
    sha256: str
    card: str = ""


@dataclass(frozen=True)
class RunEnvironment:
    """What a run judged and on what; ``environment.properties`` is written from it.

    Attributes:
        models: the model files under test.
        datasets: data set id to its digest.
        provider: the onnxruntime execution provider actually used (``session.get_providers()[0]``).
        device: the GPU's name, or ``CPU``.
        extra: more entries shown as given (e.g. score threshold), after the standard ones.
    """

    models: Sequence[ModelFile]
    datasets: Mapping[str, str]
    provider: str
    device: str = "CPU"
    extra: Mapping[str, str] = field(default_factory=dict)


def software_versions() -> dict[str, str]:
    """Versions of Python, onnxruntime, NumPy, Pillow and visionspec, as the environment shows them."""
    return {
        "Python": platform.python_version(),
        "onnxruntime": _distribution_version("onnxruntime-gpu") or _distribution_version("onnxruntime") or "absent",
        "NumPy": np.__version__,
        "Pillow": _distribution_version("pillow") or "absent",
        "visionspec": visionspec.__version__,
    }


def environment_entries(environment: RunEnvironment) -> dict[str, str]:
    """The environment as ordered, readable key-value pairs (keys as the report shows them).

    The overview shows the first five entries before "Show all": model files, provider and device come
    first, hashes and versions after.
    """
    roles = [(model.role[:1].upper() + model.role[1:], model) for model in environment.models]
    entries = {role: shown_path(model.path) for role, model in roles}
    entries["Execution provider"] = environment.provider
    entries["Device"] = environment.device
    entries.update({f"{role} SHA-256": model.sha256 for role, model in roles})
    entries.update({f"{role} card": _shown_card(model.card) for role, model in roles if model.card})
    entries.update({f"Data set {dataset_id} digest": digest for dataset_id, digest in environment.datasets.items()})
    entries.update(software_versions())
    entries.update(environment.extra)
    return entries


def shown_path(path: Path, start: Path | None = None) -> str:
    """``path`` relative to the project folder (``start``, default the working directory) when it lies below it.

    The report is read on other machines: ``/home/ci/work/models/x.onnx`` means nothing there.
    """
    base = (start or Path.cwd()).resolve()
    resolved = path.resolve() if path.is_absolute() else (base / path).resolve()
    return str(resolved.relative_to(base)) if resolved.is_relative_to(base) else str(path)


def _shown_card(card: str) -> str:
    """A card's words (``/abs/models/x/model.yaml (found)``) with its path relative to the project folder."""
    path, space, rest = card.partition(" ")
    return shown_path(Path(path)) + space + rest if path.startswith("/") else card


def properties_text(entries: Mapping[str, str]) -> str:
    r"""Entries in Java ``.properties`` syntax, ASCII only, as ``java.util.Properties.load`` reads them back.

    Example:
        >>> print(properties_text({"Data set digest": "a=b", "Device": "NVIDIA H200 ≥ 1"}), end="")
        Data\ set\ digest=a\=b
        Device=NVIDIA H200 \u2265 1
    """
    return "".join(f"{_escape(key, is_key=True)}={_escape(value, is_key=False)}\n" for key, value in entries.items())


def write_environment(results_dir: Path, environment: RunEnvironment) -> Path:
    """Write ``environment.properties`` into ``results_dir`` (created if needed); return its path."""
    return _write(results_dir / ENVIRONMENT_FILE, properties_text(environment_entries(environment)))


def executor_info(checkpoint: str, build_order: int, *, report_url: str | None = None) -> dict[str, Any]:
    """The ``executor.json`` content for one checkpoint's run.

    Allure 2 labels its trend axis ``#<buildOrder>`` and nothing else (checked in its 2.46.1 UI code),
    so pass the checkpoint's own number when its name carries one (``checkpoint_number("epoch-10")``
    is 10, shown as ``#10``), else its position. The name shows in the Executors widget.

    Args:
        checkpoint: the checkpoint's name (e.g. ``epoch-10``): buildName and reportName.
        build_order: a non-negative integer that increases along the sequence; Allure orders history by it.
        report_url: where this run's report will be, linked from later trends; None to omit.

    Returns:
        The JSON object.
    """
    if build_order < 0:
        raise ValueError(f"build_order must be a non-negative integer, got {build_order}")
    info: dict[str, Any] = {
        "name": "visionspec",
        "type": "visionspec",
        "buildName": checkpoint,
        "buildOrder": build_order,
        "reportName": checkpoint,
    }
    if report_url is not None:
        info["reportUrl"] = report_url
    return info


def checkpoint_number(checkpoint: str) -> int | None:
    """The number a checkpoint's name ends with (``epoch-10.onnx`` -> 10), or None.

    Example:
        >>> checkpoint_number("epoch-04.onnx"), checkpoint_number("best")
        (4, None)
    """
    match = re.search(r"(\d+)\D*$", checkpoint)
    return int(match.group(1)) if match else None


def write_executor(results_dir: Path, checkpoint: str, build_order: int, *, report_url: str | None = None) -> Path:
    """Write ``executor.json`` into ``results_dir``; return its path (see ``executor_info``)."""
    info = executor_info(checkpoint, build_order, report_url=report_url)
    return _write(results_dir / EXECUTOR_FILE, json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def write_categories(results_dir: Path) -> Path:
    """Write ``categories.json`` (goal missed, broken data, model, step, precondition, other); return its path."""
    return _write(results_dir / CATEGORIES_FILE, json.dumps(list(CATEGORIES), indent=2) + "\n")


def _distribution_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _escape(text: str, *, is_key: bool) -> str:
    """Escape one key or value for ``Properties.load`` (ISO-8859-1 stream: non-ASCII as ``\\uXXXX``)."""
    out = []
    for index, char in enumerate(text):
        code = ord(char)
        if char in "\\=:#!":
            out.append("\\" + char)
        elif char == " " and (is_key or index == 0):
            out.append("\\ ")  # spaces end a key, and lead spaces of a value are dropped
        elif char in "\t\n\r\f":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
        elif code < 0x20 or code > 0x7E:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    """The UTF-16 code units of one character (two, a surrogate pair, beyond the BMP)."""
    encoded = char.encode("utf-16-be")
    return [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]


def _write(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8, creating the folder; atomically, so a full disk leaves no half-written file."""
    return write_text_atomic(path, text)
