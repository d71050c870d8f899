"""The HTTP contract of an analysis service, the mapping for services whose JSON differs, and reading answers.

The reference contract (``visionspec serve``; docs/service.md)::

    POST /v1/analyse   multipart/form-data, field "image" (a JPEG or PNG)
      200 {"items": [{"box": [x, y, w, h], "score": s, "label": "balloon", "colour": "red", "colour_score": c}],
           "model": {"detector": "<SHA-256>", "colour": "<SHA-256>"}}
      4xx {"error": {"code": "...", "message": "..."}}
    GET  /v1/version   {"service": "visionspec", "version": "0.1.0", "model": {...}, "classes": {...},
                        "score_threshold": 0.5}
    GET  /v1/health    {"status": "ok"}

A team's own service may answer in other words: ``ServiceMapping`` names its fields (a dotted path for the
list of items, e.g. ``result.objects``), its box format (``xywh``, ``xyxy``, ``cxcywh``), its labels and colour
values in the data set's words, its endpoints and how to call it (concurrency, timeout, retries). It is the
project config's ``service`` table, or a ``service.yaml`` (``load_mapping``); every key is optional.

An answer is validated once, here, where it enters: a malformed one is a ``ServiceError`` naming the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import frozen_array
from visionspec.errors import ServiceError, shown
from visionspec.runtime.boxes import to_xyxy, xyxy_to_xywh
from visionspec.runtime.card import BoxFormat
from visionspec.yamlfile import read_yaml_file

ANALYSE_PATH = "/v1/analyse"
VERSION_PATH = "/v1/version"
HEALTH_PATH = "/v1/health"
UPLOAD_FIELD = "image"
MAX_ITEMS = 10_000
"""The most items one answer may hold: more is a malformed answer, not a picture's content."""


@dataclass(frozen=True)
class ServiceMapping:
    """How to call a service and read its JSON (defaults: the reference contract).

    Attributes:
        url: the service when a scenario names none (``Given the analysis service``).
        items: the list of found objects in an answer (a dotted path, e.g. ``result.objects``).
        box: an item's box field; box_format: its encoding, in picture pixels.
        score: an item's confidence field.
        label: an item's class field; labels: the service's class names in the data set's words.
        colour: an item's colour field (None: the service names no colour); values: its values in the data
            set's words; colour_score: the colour's confidence field (None: not reported).
        colours: the colour classes, when the service's version endpoint does not list them.
        upload_field: the multipart field of the picture.
        analyse_path, version_path: the endpoints.
        version_field, models_field: the version and the model hashes in the version answer.
        concurrency: uploads in flight at once.
        timeout: seconds to connect, send and wait for each answer.
        retries: further tries of an upload that got no answer or a 429, 502, 503 or 504.
    """

    url: str | None = None
    items: str = "items"
    box: str = "box"
    box_format: BoxFormat = BoxFormat.XYWH
    score: str = "score"
    label: str = "label"
    labels: Mapping[str, str] = field(default_factory=dict)
    colour: str | None = "colour"
    colour_score: str | None = "colour_score"
    values: Mapping[str, str] = field(default_factory=dict)
    colours: tuple[str, ...] = ()
    upload_field: str = UPLOAD_FIELD
    analyse_path: str = ANALYSE_PATH
    version_path: str = VERSION_PATH
    version_field: str = "version"
    models_field: str = "model"
    concurrency: int = 4
    timeout: float = 30.0
    retries: int = 3

    def answer_key(self) -> dict[str, Any]:
        """What changes how an answer is read (part of the cache key)."""
        return {
            "items": self.items, "box": self.box, "box_format": self.box_format.value, "score": self.score,
            "label": self.label, "labels": dict(self.labels), "colour": self.colour,
            "colour_score": self.colour_score, "values": dict(self.values), "upload_field": self.upload_field,
            "analyse_path": self.analyse_path,
        }

    @classmethod
    def from_dict(cls, data: object, source: str) -> ServiceMapping:
        """The mapping from a parsed ``service.yaml`` or config table; an unknown key or a bad value is a
        ``ServiceError``."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ServiceError(f"{source}: a service mapping is a YAML mapping of keys, got {shown(data)}")
        known = {item.name for item in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ServiceError(f"{source}: unknown key {unknown[0]!r}; fix: use one of {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            values[name] = _mapping_value(name, value, source)
        return cls(**values)


def _words(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ServiceError(f"{where}: a mapping of the service's words to the data set's, got {shown(value)}")
    return dict(value)


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ServiceError(f"{where}: a list of colour names, got {shown(value)}")
    return tuple(value)


def _box_format(value: object, where: str) -> BoxFormat:
    try:
        return BoxFormat(str(value))
    except ValueError:
        raise ServiceError(f"{where}: one of {', '.join(f.value for f in BoxFormat)}, got {shown(value)}") from None


def _whole(least: int) -> Callable[[object, str], int]:
    def check(value: object, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= 64:
            raise ServiceError(f"{where}: a whole number from {least} to 64, got {shown(value)}")
        return value
    return check


def _seconds(value: object, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 3600:
        raise ServiceError(f"{where}: seconds, above 0 and at most 3600, got {shown(value)}")
    return float(value)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(f"{where}: a non-empty text, got {shown(value)}")
    return value.strip()


def _text_or_none(value: object, where: str) -> str | None:
    """None for null or "" (TOML has no null: ``colour = ""`` says the service names no colour)."""
    return None if value is None or value == "" else _text(value, where)


_CHECKS: dict[str, Callable[[object, str], Any]] = {
    "labels": _words, "values": _words, "colours": _names, "box_format": _box_format,
    "concurrency": _whole(1), "retries": _whole(0), "timeout": _seconds,
    "url": _text_or_none, "colour": _text_or_none, "colour_score": _text_or_none,
}


def _mapping_value(name: str, value: object, source: str) -> Any:
    """One validated key of the mapping."""
    return _CHECKS.get(name, _text)(value, f"{source}: {name}")


SERVICE_CONFIG_ENV = "VISIONSPEC_SERVICE_CONFIG"
"""Environment variable: a service mapping file for the whole run (else ``service.yaml`` beside a feature file, else
the project config's ``service`` table)."""
SERVICE_URL_ENV = "VISIONSPEC_SERVICE_URL"
"""Environment variable: the service ``Given the analysis service`` means when no mapping names one."""
MAPPING_FILE = "service.yaml"


def load_mapping(path: Path | None) -> ServiceMapping:
    """The mapping in ``path`` (None: the reference contract).

    Raises:
        ServiceError: the file is missing, not YAML, or has an unknown key or a bad value.
    """
    if path is None:
        return ServiceMapping()
    try:
        data = read_yaml_file(path, ServiceError)
    except FileNotFoundError:
        raise ServiceError(f"{path}: no such service mapping file (from {SERVICE_CONFIG_ENV}); fix: the path") \
            from None
    return ServiceMapping.from_dict(data, str(path))


@dataclass(frozen=True, eq=False)
class PictureAnswer:
    """What a service found on one picture, in the data set's words.

    Attributes:
        boxes: (K, 4) float64 ``x, y, width, height`` in picture pixels.
        scores: (K,) float64.
        labels: (K,) the class of each item.
        colours: (K,) the colour of each item (``""`` when the service names none).
        colour_scores: (K,) float64 the colour's confidence (1 when not reported).
    """

    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]
    labels: NDArray[np.str_]
    colours: NDArray[np.str_]
    colour_scores: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The cache payload."""
        return {"boxes": self.boxes, "scores": self.scores, "labels": self.labels, "colours": self.colours,
                "colour_scores": self.colour_scores}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> PictureAnswer:
        """From a cache payload."""
        return cls(
            boxes=frozen_array(np.asarray(arrays["boxes"]).reshape(-1, 4), np.float64),
            scores=frozen_array(arrays["scores"], np.float64),
            labels=np.asarray(arrays["labels"], dtype=np.str_),
            colours=np.asarray(arrays["colours"], dtype=np.str_),
            colour_scores=frozen_array(arrays["colour_scores"], np.float64),
        )


def read_answer(payload: object, mapping: ServiceMapping, picture: str) -> PictureAnswer:
    """The items of a service's answer on ``picture``, validated and in the data set's words.

    Raises:
        ServiceError: the answer is not the JSON the mapping describes (names the picture and the field).

    Example:
        >>> answer = read_answer({"items": [{"box": [1, 2, 3, 4], "score": 0.9, "label": "balloon",
        ...                                  "colour": "red", "colour_score": 0.8}]}, ServiceMapping(), "a.png")
        >>> answer.boxes.tolist(), answer.colours.tolist()
        ([[1.0, 2.0, 3.0, 4.0]], ['red'])
    """
    items = _items(payload, mapping, picture)
    boxes, scores, labels, colours, colour_scores = [], [], [], [], []
    for index, item in enumerate(items):
        where = f"{picture}: item {index}"
        if not isinstance(item, dict):
            raise _malformed(where, f"an object, got {shown(item)}")
        boxes.append(_box(_field(item, mapping.box, where), where))
        scores.append(_number(_field(item, mapping.score, where), f"{where}: {mapping.score}"))
        label = _field(item, mapping.label, where)
        if not isinstance(label, str):
            raise _malformed(f"{where}: {mapping.label}", f"a class name, got {shown(label)}")
        labels.append(mapping.labels.get(label, label))
        colour, colour_score = _colour(item, mapping, where)
        colours.append(colour)
        colour_scores.append(colour_score)
    xyxy = to_xyxy(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), mapping.box_format)
    if (xyxy[:, 2:] < xyxy[:, :2]).any():
        row = int(np.flatnonzero((xyxy[:, 2:] < xyxy[:, :2]).any(axis=1))[0])
        raise _malformed(f"{picture}: item {row}: {mapping.box}",
                         f"a {mapping.box_format.value} box with a positive size, got {boxes[row]}")
    return PictureAnswer(
        boxes=frozen_array(xyxy_to_xywh(xyxy), np.float64),
        scores=frozen_array(scores, np.float64),
        labels=np.asarray(labels, dtype=np.str_),
        colours=np.asarray(colours, dtype=np.str_),
        colour_scores=frozen_array(colour_scores, np.float64),
    )


def _items(payload: object, mapping: ServiceMapping, picture: str) -> list[Any]:
    """The list of items at the mapping's dotted path."""
    found = payload
    for part in mapping.items.split("."):
        if not isinstance(found, dict) or part not in found:
            raise _malformed(picture, f"a JSON object with {mapping.items!r}, got {shown(payload)}")
        found = found[part]
    if not isinstance(found, list):
        raise _malformed(f"{picture}: {mapping.items}", f"a list of items, got {shown(found)}")
    if len(found) > MAX_ITEMS:
        raise _malformed(f"{picture}: {mapping.items}", f"at most {MAX_ITEMS:,} items, got {len(found):,}")
    return found


def _field(item: dict[str, Any], name: str, where: str) -> object:
    if name not in item:
        raise _malformed(where, f"a field {name!r}, got the fields {', '.join(map(repr, item)) or 'none'}")
    return item[name]


def _box(value: object, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) != 4:
        raise _malformed(f"{where}: box", f"four numbers, got {shown(value)}")
    return [_number(number, f"{where}: box") for number in value]


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _malformed(where, f"a finite number, got {shown(value)}")
    return float(value)


def _colour(item: dict[str, Any], mapping: ServiceMapping, where: str) -> tuple[str, float]:
    """The item's colour in the data set's words and its confidence (``""`` and 1 without a colour field)."""
    if mapping.colour is None:
        return "", 1.0
    colour = _field(item, mapping.colour, where)
    if not isinstance(colour, str):
        raise _malformed(f"{where}: {mapping.colour}", f"a colour name, got {shown(colour)}")
    if mapping.colour_score is None:
        return mapping.values.get(colour, colour), 1.0
    score = _number(_field(item, mapping.colour_score, where), f"{where}: {mapping.colour_score}")
    return mapping.values.get(colour, colour), score


def _malformed(where: str, expected: str) -> ServiceError:
    return ServiceError(f"{where}: the service answered HTTP 200 but not as its contract says: expected {expected}; "
                        "fix: the service, or the service mapping (project config, service.yaml)")


@dataclass(frozen=True)
class ServiceVersion:
    """What a service says it is: its version, the model hashes it reports, its classes.

    Attributes:
        version: the service's version (the cache key holds it: a service must change it when its answers change).
        models: role (``detector``, ``colour``) to the SHA-256 it reports.
        classes: role to the class names it reports (empty when it lists none).
        score_threshold: the score threshold it says it applies, if it says.
    """

    version: str
    models: Mapping[str, str]
    classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    score_threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """For cache keys and records."""
        return {"version": self.version, "models": dict(self.models),
                "classes": {role: list(names) for role, names in self.classes.items()},
                "score_threshold": self.score_threshold}


def read_version(payload: object, mapping: ServiceMapping, url: str) -> ServiceVersion:
    """The version answer of the service at ``url``, validated.

    Raises:
        ServiceError: not an object, or without a text version.
    """
    where = f"{url}{mapping.version_path}"
    if not isinstance(payload, dict):
        raise ServiceError(f"{where}: expected a JSON object, got {shown(payload)}; fix: the service's version "
                           "endpoint")
    version = payload.get(mapping.version_field)
    if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
        raise ServiceError(f"{where}: expected a version in {mapping.version_field!r}, got {shown(version)}; fix: "
                           "the service's version endpoint, or version_field in service.yaml")
    models = payload.get(mapping.models_field, {})
    if not isinstance(models, dict) or not all(isinstance(value, str) for value in models.values()):
        raise ServiceError(f"{where}: expected model hashes as an object of texts in {mapping.models_field!r}, "
                           f"got {shown(models)}")
    classes = payload.get("classes", {})
    listed: dict[str, tuple[str, ...]] = {}
    if isinstance(classes, dict):
        listed = {str(role): tuple(str(name) for name in names) for role, names in classes.items()
                  if isinstance(names, list)}
    threshold = payload.get("score_threshold")
    return ServiceVersion(str(version).strip(), {str(role): sha for role, sha in models.items()}, listed,
                          float(threshold) if isinstance(threshold, int | float) and not isinstance(threshold, bool)
                          else None)
