"""Declaring the card keys of an output adapter once: a frozen dataclass whose fields are the keys.

Each field's type says how the value is read (an enum: one of its values; ``float``/``int``/``bool``; ``str``:
a tensor name or text; ``tuple[float, ...]``: a list of numbers; ``tuple[tuple[float, ...], ...]``: a list of
lists), its default is the key's default (no default: required), and its ``metadata=key(...)`` holds the
documentation and the accepted range. The same declaration validates cards (``read_settings``) and writes
the reference page (``visionspec cards``).

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True, kw_only=True)
    ... class Example(Settings):
    ...     scores: str = field(default="scores", metadata=key("the scores tensor", tensor=True))
    ...     iou_threshold: float = field(default=0.5, metadata=key("NMS IoU threshold", check=UNIT_INTERVAL))
    >>> [info.name for info in describe_keys(Example)]
    ['scores', 'iou_threshold']
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from enum import Enum, StrEnum
from typing import Any, TypeAlias

from visionspec.errors import shown

Check: TypeAlias = tuple[Callable[[float], bool], str]
"""A predicate on a number and its wording for messages (``"a number from 0 to 1"``)."""

Fail: TypeAlias = Callable[[str, str], Exception]
"""Builds the error for a key path and a problem (the card's reader: it names the key's source)."""

UNIT_INTERVAL: Check = (lambda v: 0.0 <= v <= 1.0, "a number from 0 to 1")
POSITIVE: Check = (lambda v: v > 0, "a positive number")
ANY_NUMBER: Check = (lambda v: True, "a number")

_META = "visionspec.key"


@dataclass(frozen=True)
class _KeyMeta:
    doc: str
    check: Check | None
    tensor: bool
    shown_default: str | None


def key(doc: str, *, check: Check | None = None, tensor: bool = False,
        shown_default: str | None = None) -> dict[str, Any]:
    """A card key's documentation, as the ``metadata`` of its dataclass field (whose default is the key's).

    Args:
        doc: one sentence for the reference page.
        check: the accepted range of a number (or of every number in a list).
        tensor: the key names an output tensor (None: the file's first output).
        shown_default: the default as the reference page shows it, when the value alone says too little.
    """
    return {_META: _KeyMeta(doc, check, tensor, shown_default)}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Base of an adapter's settings: the validated ``output`` keys of a card."""

    def to_dict(self) -> dict[str, Any]:
        """Plain values of every key, for JSON, cache keys and reports."""
        return {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}

    def tensor_names(self) -> dict[str, str]:
        """Output tensor names by role, as the card gives them (roles left to the default are absent)."""
        return {info.name: value for info in describe_keys(type(self))
                if info.tensor and isinstance(value := getattr(self, info.name), str)}


@dataclass(frozen=True)
class KeyInfo:
    """One key as the reference page shows it.

    Attributes:
        name: the key.
        type: its type in words (``number``, ``tensor name``, ``list of numbers``, ...).
        default: its default in words, or None for a required key.
        accepted: the accepted values in words.
        doc: what it means.
        tensor: whether it names an output tensor.
    """

    name: str
    type: str
    default: str | None
    accepted: str
    doc: str
    tensor: bool


def describe_keys(settings: type[Settings]) -> tuple[KeyInfo, ...]:
    """The keys of a settings class, in declaration order."""
    hints = typing.get_type_hints(settings)
    described = []
    for field in dataclasses.fields(settings):
        meta: _KeyMeta = field.metadata[_META]
        kind = hints[field.name]
        default = None if field.default is MISSING else (meta.shown_default or _shown(field.default, meta.tensor))
        described.append(KeyInfo(field.name, _type_words(kind, meta.tensor), default, _accepted(kind, meta),
                                 meta.doc, meta.tensor))
    return tuple(described)


def key_names(settings: type[Settings]) -> tuple[str, ...]:
    """The accepted key names of a settings class."""
    return tuple(field.name for field in dataclasses.fields(settings))


def read_settings(settings: type[Settings], data: Mapping[str, Any], prefix: str, fail: Fail) -> Settings:
    """Validate raw card values against a settings class.

    Args:
        settings: the class declaring the keys.
        data: the raw section (unknown keys are the caller's to reject).
        prefix: the section's path for messages (``output.``).
        fail: builds the error for a key path and a problem.

    Raises:
        Whatever ``fail`` builds: a missing required key, a value of the wrong type or out of range.
    """
    hints = typing.get_type_hints(settings)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        path = f"{prefix}{field.name}"
        meta: _KeyMeta = field.metadata[_META]
        raw = data.get(field.name)
        if raw is None:
            if field.default is MISSING:
                raise fail(path, f"missing key '{path}' ({meta.doc})")
            continue
        values[field.name] = _read_value(hints[field.name], raw, path, meta, fail)
    return settings(**values)


def _read_value(kind: Any, raw: Any, path: str, meta: _KeyMeta, fail: Fail) -> Any:
    """One raw value read as ``kind``."""
    kind = _without_none(kind)
    bad = fail(path, f"bad value {shown(raw)} for '{path}' (accepted values: {_accepted(kind, meta)})")
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(raw)
        except ValueError:
            raise bad from None
    scalar_ok = {
        bool: lambda: isinstance(raw, bool),
        str: lambda: isinstance(raw, str) and bool(raw.strip()),
        int: lambda: isinstance(raw, int) and not isinstance(raw, bool) and (meta.check or ANY_NUMBER)[0](raw),
        float: lambda: _number_ok(raw, meta.check),
    }
    if kind in scalar_ok:
        if not scalar_ok[kind]():
            raise bad
        return float(raw) if kind is float else raw
    return _read_list(kind, raw, meta, bad)


def _read_list(kind: Any, raw: Any, meta: _KeyMeta, bad: Exception) -> Any:
    """``tuple[float, ...]`` or ``tuple[tuple[float, ...], ...]``: non-empty lists of numbers."""
    inner = typing.get_args(kind)[0]
    if not isinstance(raw, list) or not raw:
        raise bad
    if inner is float:
        if not all(_number_ok(value, meta.check) for value in raw):
            raise bad
        return tuple(float(value) for value in raw)
    rows = [row if isinstance(row, list) else [row] for row in raw]
    if not all(row and all(_number_ok(value, meta.check) for value in row) for row in rows):
        raise bad
    return tuple(tuple(float(value) for value in row) for row in rows)


def _number_ok(value: Any, check: Check | None) -> bool:
    """A finite number (not a bool) within ``check``."""
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and (check or ANY_NUMBER)[0](value))


def _without_none(kind: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        remaining = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return remaining[0]
    return kind


def _type_words(kind: Any, tensor: bool) -> str:
    """A key's type for the reference page."""
    kind = _without_none(kind)
    if tensor:
        return "tensor name"
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "one of"
    words = {bool: "true or false", str: "text", int: "integer", float: "number"}
    if kind in words:
        return words[kind]
    inner = typing.get_args(kind)[0]
    return "list of numbers" if inner is float else "list of lists of numbers"


def _accepted(kind: Any, meta: _KeyMeta) -> str:
    """The accepted values in words."""
    kind = _without_none(kind)
    if meta.tensor:
        return "a non-empty string"
    if isinstance(kind, type) and issubclass(kind, Enum):
        return ", ".join(str(member.value) for member in kind)
    if kind is bool:
        return "true, false"
    if kind is str:
        return "a non-empty string"
    check = (meta.check or ANY_NUMBER)[1]
    if kind is int:
        return {"a positive number": "a positive integer", "a number": "an integer"}.get(check, check)
    if kind is float:
        return check
    inner = typing.get_args(kind)[0]
    return f"a list of numbers, each {check}" if inner is float else f"a list of lists of numbers, each {check}"


def _shown(default: Any, tensor: bool) -> str:
    """A default value as the card would write it."""
    if default is None:
        return "the first output" if tensor else "none"
    if isinstance(default, StrEnum):
        return str(default.value)
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(list(default)) if isinstance(default, tuple) else str(default)


def _plain(value: Any) -> Any:
    """Enums to their values, tuples to lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value

