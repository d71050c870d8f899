"""Allure result files visionspec writes itself, and the tidying of those allure-pytest-bdd wrote.

- ``write_result``: a hand-made test result with attachments (the decision, the trend across
  checkpoints), in Allure 2's result format.
- ``tidy_results``: after a run, each scenario's result is put in a suite named by its feature (and a
  sub-suite by its rule), and the verdict's own exception class (``GoalMissed``) is dropped from the
  messages a product owner reads, with the message shown once (not repeated as the trace).

The tidying is done on the written files (post-processing), not in pytest hooks: allure-pytest-bdd
builds the message from ``excinfo.exconly()`` in its own hook wrapper, after the plugin's.

Example:
    >>> write_result(Path("allure-results"), name="Decision: ship epoch-22?", status="failed",
    ...              description_html="<p>do not ship</p>", history_key="visionspec decision")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from visionspec.files import write_text_atomic

ResultStatus = Literal["passed", "failed", "broken", "skipped", "unknown"]

VERDICT_EXCEPTIONS = (
    "visionspec.pytest_plugin.outcomes.GoalMissed",
    "visionspec.pytest_plugin.outcomes.PreconditionMissed",
)
"""Exceptions that carry a verdict: their class name means nothing to a product owner."""


@dataclass(frozen=True)
class Attachment:
    """One file attached to a hand-made result."""

    name: str
    data: bytes
    media_type: str
    extension: str


def write_result(
    folder: Path,
    *,
    name: str,
    status: ResultStatus,
    history_key: str,
    description_html: str = "",
    status_message: str = "",
    attachments: Sequence[Attachment] = (),
    labels: Sequence[tuple[str, str]] = (),
    start_ms: int = 0,
    stop_ms: int = 0,
) -> Path:
    """Write one Allure test result (and its attachment files) into ``folder``; return the result's path.

    Args:
        folder: the Allure results folder.
        name: the test's name in the report.
        status: its status; ``unknown`` and ``skipped`` are not counted as passing.
        history_key: fixes the history id, so the report keeps it as one test from run to run.
        description_html: shown on the test's page above its steps.
        status_message: the message under its status.
        attachments: files shown with the test (a ``text/html`` one as a frame, ``application/json`` as a file).
        labels: Allure labels as (name, value) (``suite``, ``feature``, ``severity``...).
        start_ms: when it started, in ms since the epoch (Allure orders the tree and the timeline by it).
        stop_ms: when it stopped.
    """
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for attachment in attachments:
        source = f"{uuid.uuid4()}-attachment.{attachment.extension}"
        (folder / source).write_bytes(attachment.data)
        entries.append({"name": attachment.name, "source": source, "type": attachment.media_type})
    history_id = hashlib.md5(history_key.encode(), usedforsecurity=False).hexdigest()
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "historyId": history_id,
        "testCaseId": history_id,
        "name": name,
        "fullName": f"visionspec: {history_key}",
        "status": status,
        "stage": "finished",
        "start": start_ms,
        "stop": stop_ms or start_ms,
        "labels": [{"name": key, "value": value} for key, value in labels],
        "attachments": entries,
        "parameters": [],
        "steps": [],
    }
    if description_html:
        result["descriptionHtml"] = description_html
    if status_message:
        result["statusDetails"] = {"message": status_message}
    path = folder / f"{result['uuid']}-result.json"
    write_text_atomic(path, json.dumps(result, indent=2, ensure_ascii=False))
    return path


def earliest_start(folder: Path) -> int | None:
    """The earliest ``start`` of the results in ``folder`` (ms since the epoch), or None when there are none."""
    starts = []
    for path in folder.glob("*-result.json"):
        try:
            start = json.loads(path.read_text(encoding="utf-8")).get("start")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(start, int):
            starts.append(start)
    return min(starts, default=None)


def shown_message(message: str) -> str:
    """A result's message without the qualified name of a verdict exception (``...GoalMissed: ``)."""
    for name in VERDICT_EXCEPTIONS:
        for prefix in (f"{name}: ", f"{name.rpartition('.')[2]}: "):
            if message.startswith(prefix):
                return message[len(prefix):]
    return message


def _tidy_details(node: dict[str, Any], shown_above: str = "") -> bool:
    """Tidy the status details of a result or step, and of its steps; True when something changed.

    A step's message that the result already shows above (its one missed goal) is dropped: said once.
    """
    changed = False
    details = node.get("statusDetails")
    if isinstance(details, dict) and isinstance(details.get("message"), str):
        cleaned = shown_message(details["message"])
        if cleaned != details["message"]:
            details["message"] = cleaned
            changed = True
            trace = details.get("trace")
            if isinstance(trace, str) and shown_message(trace.strip()) in (cleaned.strip(), ""):
                del details["trace"]  # the message again, or the exception line: say it once
    message = details.get("message") if isinstance(details, dict) else None
    above = shown_above or (message.strip() if isinstance(message, str) else "")
    for step in node.get("steps") or ():
        if isinstance(step, dict):
            changed = _tidy_details(step, above) or changed
    if shown_above and isinstance(details, dict) and isinstance(message, str) and message.strip() == shown_above:
        del details["message"]
        details.pop("trace", None)
        changed = True
    return changed


def _suite_labels(result: dict[str, Any]) -> bool:
    """Put a scenario's result in the suite of its feature and the sub-suite of its rule; True when it changed.

    The plugin gives a scenario the ``story`` label of its Rule (Allure's behaviours read feature, story).
    """
    labels = [label for label in result.get("labels") or () if isinstance(label, dict)]
    feature = next((label.get("value") for label in labels if label.get("name") == "feature"), None)
    if not feature or any(label.get("name") in ("suite", "parentSuite") for label in labels):
        return False
    kept = [label for label in labels if label.get("name") != "subSuite"]
    kept.append({"name": "suite", "value": feature})
    rule = next((label.get("value") for label in labels if label.get("name") == "story"), None)
    if rule:
        kept.append({"name": "subSuite", "value": rule})
    result["labels"] = kept
    return True


def tidy_results(folder: Path) -> int:
    """Tidy every result file in ``folder`` (see the module's docstring); return how many changed."""
    changed = 0
    for path in sorted(folder.glob("*-result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours to judge: Allure reports an unreadable file itself
        if not isinstance(result, dict):
            continue
        touched = _tidy_details(result)
        touched = _suite_labels(result) or touched
        if touched:
            write_text_atomic(path, json.dumps(result, ensure_ascii=False))
            changed += 1
    return changed
