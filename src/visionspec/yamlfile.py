"""The one way visionspec reads YAML (model cards, data set definitions, YOLO ``data.yaml``): safe and bounded.

- Safe: PyYAML's ``SafeLoader`` (plain data only; ``!!python/object`` and other tags are refused).
- No anchors or aliases (``&name`` / ``*name``, merge keys ``<<: *name``): nested aliases let a 1 KB file
  expand to gigabytes ("billion laughs"), and a card or a data set definition never needs them.
- Bounded: a file over ``MAX_BYTES``, or nested deeper than ``MAX_DEPTH`` brackets (PyYAML's scanner slows
  down with the square of the depth) or than Python can follow, is refused.
- UTF-8: a file that is not UTF-8 text is refused, naming the file and the first bad byte.

Every problem is raised as the caller's error class (``ModelCardError``, ``DatasetError``) with the source
named and the fix, so each reader keeps its own place in the error hierarchy.

Example:
    >>> from visionspec.errors import DatasetError
    >>> load_yaml_text("classes: [balloon]", "dataset.yaml", DatasetError)
    {'classes': ['balloon']}
    >>> load_yaml_text("a: &x [1]\\nb: *x", "dataset.yaml", DatasetError)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    visionspec.errors.DatasetError: dataset.yaml: line 1: YAML anchors and aliases (& and *) are not accepted; ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

from visionspec.errors import VisionSpecError

MAX_BYTES = 4 * 1024 * 1024
"""The largest YAML file read (4 MiB): a card or data set definition is a few kilobytes."""
MAX_DEPTH = 64
"""The deepest nesting of ``[`` and ``{`` accepted: a card needs three."""

_ALIASES = "anchors and aliases"
_DEPTH = "nesting depth"


class _NoAliasLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses anchors and aliases before anything is built from them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, _ALIASES, event.start_mark)
        return super().compose_node(parent, index)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803 - PyYAML's name
        if self.flow_level >= MAX_DEPTH:
            raise ComposerError(None, None, _DEPTH, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)


def load_yaml_text(text: str, source: str, error: type[VisionSpecError]) -> object:
    """Parse YAML ``text`` (from ``source``, for messages) into plain data; problems raise ``error``."""
    if len(text) > MAX_BYTES:
        raise error(f"{source}: {len(text):,} characters of YAML, more than the {MAX_BYTES:,} accepted; fix: this "
                    "is not a card or a data set definition, check the file")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except ComposerError as err:
        line = f"line {err.problem_mark.line + 1}: " if err.problem_mark is not None else ""
        if err.problem == _ALIASES:
            raise error(f"{source}: {line}YAML anchors and aliases (& and *) are not accepted; fix: write the "
                        "value out in full") from None
        if err.problem == _DEPTH:
            raise error(f"{source}: {line}YAML nested deeper than {MAX_DEPTH} levels; fix: check the file") from None
        raise error(f"{source}: not valid YAML ({err}); fix: correct the syntax") from err
    except yaml.YAMLError as err:
        raise error(f"{source}: not valid YAML ({err}); fix: correct the syntax") from err
    except RecursionError:
        raise error(f"{source}: YAML nested too deeply to read; fix: check the file") from None


def read_yaml_file(path: Path, error: type[VisionSpecError]) -> object:
    """Read and parse the YAML file at ``path``; a missing, unreadable, oversized, non-UTF-8 or invalid file
    raises ``error`` naming it (``FileNotFoundError`` is raised as it is, for the caller to word)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise error(f"{path}: {size:,} bytes, more than the {MAX_BYTES:,} accepted for a YAML file; fix: this "
                        "is not a card or a data set definition, check the path")
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror or err}); fix: check the path and its permissions") \
            from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise error(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); fix: save the file "
                    "as UTF-8") from None
    return load_yaml_text(text, str(path), error)
