"""The data set definition: ``datasets/<id>/dataset.yaml`` read into a typed, immutable ``DatasetSpec``.

Example of a definition::

    id: "12345"
    title: Balloons, the product's own goal
    description: 5,000 pictures, 1,000 balloons of which 100 red
    source: {kind: synthetic, generator: balloon-world, seed: 12345, params: {size: 256}}
    classes: [balloon]
    attributes: {colour: [red, orange], occluded: ["yes", "no"]}
    expect: {images: 5000, images_without_objects: 4000, objects: {balloon: 1000},
             attributes: {colour: {red: 100}}}
    manifest: {annotations: annotations.json, annotations_sha256: <hex>, images: 5000,
               images_digest: <hex>}

``expect`` promises counts; any count left out is simply not checked. ``manifest`` is absent until
the data set has been built or imported once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from visionspec.errors import DatasetError, shown
from visionspec.yamlfile import read_yaml_file

SOURCE_KINDS = ("synthetic", "coco", "yolo", "voc")
_TOP_KEYS = ("id", "title", "description", "source", "classes", "attributes", "expect", "manifest")
_EXPECT_KEYS = ("images", "images_without_objects", "objects", "attributes")
_MANIFEST_KEYS = ("annotations", "annotations_sha256", "images", "images_digest")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Expect:
    """The counts a data set promises; ``None`` (or a missing entry) means "not promised".

    Attributes:
        images: number of images.
        images_without_objects: number of images with no annotated object.
        objects: objects per class name.
        attributes: objects per attribute value, by attribute name (``{"colour": {"red": 100}}``).
    """

    images: int | None = None
    images_without_objects: int | None = None
    objects: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def items(self) -> list[tuple[str, int]]:
        """Every promised count as ``(name, value)``, named as in ``dataset.yaml`` (``objects.balloon``)."""
        named: list[tuple[str, int]] = []
        if self.images is not None:
            named.append(("images", self.images))
        if self.images_without_objects is not None:
            named.append(("images_without_objects", self.images_without_objects))
        named.extend((f"objects.{name}", count) for name, count in self.objects.items())
        for attribute, counts in self.attributes.items():
            named.extend((f"attributes.{attribute}.{value}", count) for value, count in counts.items())
        return named

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary as written in ``dataset.yaml`` (unpromised counts left out)."""
        data: dict[str, Any] = {}
        if self.images is not None:
            data["images"] = self.images
        if self.images_without_objects is not None:
            data["images_without_objects"] = self.images_without_objects
        if self.objects:
            data["objects"] = dict(self.objects)
        if self.attributes:
            data["attributes"] = {name: dict(counts) for name, counts in self.attributes.items()}
        return data


@dataclass(frozen=True)
class Manifest:
    """What the data set's files must hash to.

    Attributes:
        annotations: the annotation file name, relative to the data set folder.
        annotations_sha256: hex SHA-256 of the annotation file's bytes.
        images: number of image files.
        images_digest: hex SHA-256 over the sorted ``file_name<TAB>sha256<LF>`` lines of the images.
    """

    annotations: str
    annotations_sha256: str
    images: int
    images_digest: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary as written in ``dataset.yaml``."""
        return {
            "annotations": self.annotations,
            "annotations_sha256": self.annotations_sha256,
            "images": self.images,
            "images_digest": self.images_digest,
        }


@dataclass(frozen=True)
class DatasetSpec:
    """One data set definition (``dataset.yaml``), validated.

    Attributes:
        id: the data set id, also its folder name.
        title: one line for people.
        description: a paragraph for people.
        source: where the data comes from: ``{"kind": "synthetic", "generator": ..., "seed": ...,
            "params": {...}}`` or ``{"kind": "coco" | "yolo" | "voc", "path": ...}`` (read-only).
        classes: the object class names, in category id order (id 1 is ``classes[0]``).
        attributes: per-object attribute names and their allowed values.
        expect: the counts the data set promises.
        manifest: the hashes of the files, or ``None`` before the first build or import.
    """

    id: str
    title: str
    description: str
    source: Mapping[str, Any]
    classes: tuple[str, ...]
    attributes: Mapping[str, tuple[str, ...]]
    expect: Expect
    manifest: Manifest | None

    def with_build(self, expect: Expect, manifest: Manifest | None) -> DatasetSpec:
        """A copy with new ``expect`` and ``manifest`` (after building or importing)."""
        return replace(self, expect=expect, manifest=manifest)

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data in ``dataset.yaml`` order, ready for ``yaml.safe_dump(..., sort_keys=False)``."""
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "source": _thaw(self.source),
            "classes": list(self.classes),
            "attributes": {name: list(values) for name, values in self.attributes.items()},
            "expect": self.expect.to_dict(),
        }
        if self.manifest is not None:
            data["manifest"] = self.manifest.to_dict()
        return data


def load_spec(path: Path) -> DatasetSpec:
    """Read and validate a ``dataset.yaml``.

    Args:
        path: the ``dataset.yaml`` file.

    Returns:
        The validated definition.

    Raises:
        DatasetError: the file is missing or not YAML, or has an unknown key or a value of the wrong
            type; the message names the file and the key.

    Example:
        >>> spec = load_spec(Path("datasets/12345/dataset.yaml"))  # doctest: +SKIP
        >>> spec.classes
        ('balloon',)
    """
    try:
        data = read_yaml_file(path, DatasetError)
    except FileNotFoundError as err:
        raise DatasetError(f"{path}: data set definition not found; fix: create it or check the data set id") from err
    return spec_from_dict(data, source=str(path))


def spec_from_dict(data: object, *, source: str) -> DatasetSpec:
    """Validate plain data (as read from YAML) into a ``DatasetSpec``; ``source`` names it in errors."""
    check = _Checker(source)
    top = check.mapping(data, "the top level", _TOP_KEYS, required=("id", "source", "classes"))
    classes = check.str_list(top["classes"], "classes")
    if not classes:
        raise DatasetError(f"{source}: key 'classes' is empty; fix: list at least one class name")
    check.unique(classes, "classes")
    attributes = _read_attributes(check, top.get("attributes", {}))
    expect = _read_expect(check, top.get("expect", {}))
    manifest = _read_manifest(check, top["manifest"]) if top.get("manifest") is not None else None
    return DatasetSpec(
        id=check.text(top["id"], "id", hint='quote it, e.g. id: "12345"'),
        title=check.text(top.get("title", ""), "title"),
        description=check.text(top.get("description", ""), "description"),
        source=_read_source(check, top["source"]),
        classes=tuple(classes),
        attributes=attributes,
        expect=expect,
        manifest=manifest,
    )


class _Checker:
    """Type checks that raise ``DatasetError`` naming the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str, fix: str) -> DatasetError:
        return DatasetError(f"{self.source}: key {shown(key, limit=120)} {problem}; fix: {fix}")

    def mapping(
        self, value: object, key: str, allowed: tuple[str, ...] | None, required: tuple[str, ...] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}", "write it as 'name: value' lines")
        for name in value:
            if not isinstance(name, str):
                raise self.fail(f"{key}.{name}", "is not a text key", "quote the key")
            if allowed is not None and name not in allowed:
                raise self.fail(_join(key, name), "is unknown", f"remove it or use one of {', '.join(allowed)}")
        for name in required:
            if name not in value:
                raise self.fail(_join(key, name), "is missing", "add it")
        return value

    def text(self, value: object, key: str, hint: str = "quote it") -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, got {type(value).__name__} {shown(value)}", hint)
        return value

    def count(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"must be a whole number >= 0, got {shown(value)}", "write a count such as 100")
        return value

    def str_list(self, value: object, key: str) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, got {type(value).__name__}", "write it as [a, b]")
        for index, item in enumerate(value):
            self.text(item, f"{key}[{index}]", 'quote it (YAML reads yes/no/on/off as true/false), e.g. "yes"')
        return list(value)

    def unique(self, values: list[str], key: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise self.fail(key, f"lists {shown(value)} twice", "list each value once")
            seen.add(value)

    def sha256(self, value: object, key: str) -> str:
        text = self.text(value, key)
        if not _HEX64.fullmatch(text):
            raise self.fail(key, f"is not a SHA-256 hex digest: {shown(text)}", "rebuild with --update-manifest")
        return text


def _join(key: str, name: str) -> str:
    return name if key == "the top level" else f"{key}.{name}"


def _read_attributes(check: _Checker, value: object) -> Mapping[str, tuple[str, ...]]:
    """Attribute names to allowed values."""
    attributes = check.mapping(value, "attributes", None)
    result: dict[str, tuple[str, ...]] = {}
    for name, values in attributes.items():
        listed = check.str_list(values, f"attributes.{name}")
        check.unique(listed, f"attributes.{name}")
        result[name] = tuple(listed)
    return MappingProxyType(result)


def _read_expect(check: _Checker, value: object) -> Expect:
    """The promised counts."""
    expect = check.mapping(value, "expect", _EXPECT_KEYS)
    objects = {
        name: check.count(count, f"expect.objects.{name}")
        for name, count in check.mapping(expect.get("objects", {}), "expect.objects", None).items()
    }
    attributes: dict[str, Mapping[str, int]] = {}
    for name, counts in check.mapping(expect.get("attributes", {}), "expect.attributes", None).items():
        per_value = check.mapping(counts, f"expect.attributes.{name}", None)
        attributes[name] = MappingProxyType(
            {str(v): check.count(c, f"expect.attributes.{name}.{v}") for v, c in per_value.items()}
        )
    images = expect.get("images")
    without = expect.get("images_without_objects")
    return Expect(
        images=None if images is None else check.count(images, "expect.images"),
        images_without_objects=None if without is None else check.count(without, "expect.images_without_objects"),
        objects=MappingProxyType(objects),
        attributes=MappingProxyType(attributes),
    )


def _read_manifest(check: _Checker, value: object) -> Manifest:
    """The file hashes."""
    manifest = check.mapping(value, "manifest", _MANIFEST_KEYS, required=_MANIFEST_KEYS)
    return Manifest(
        annotations=check.text(manifest["annotations"], "manifest.annotations"),
        annotations_sha256=check.sha256(manifest["annotations_sha256"], "manifest.annotations_sha256"),
        images=check.count(manifest["images"], "manifest.images"),
        images_digest=check.sha256(manifest["images_digest"], "manifest.images_digest"),
    )


def _read_source(check: _Checker, value: object) -> Mapping[str, Any]:
    """Where the data comes from."""
    source = check.mapping(value, "source", None, required=("kind",))
    kind = source["kind"]
    if kind not in SOURCE_KINDS:
        raise check.fail("source.kind", f"is {shown(kind)}", f"use one of {', '.join(SOURCE_KINDS)}")
    if kind == "synthetic":
        check.mapping(source, "source", ("kind", "generator", "seed", "params"), required=("generator", "seed"))
        check.text(source["generator"], "source.generator")
        check.count(source["seed"], "source.seed")
        check.mapping(source.get("params", {}), "source.params", None)
    else:
        check.mapping(source, "source", ("kind", "path", "images"))
        for key in ("path", "images"):
            if key in source:
                check.text(source[key], f"source.{key}")
    frozen = _freeze(source)
    assert isinstance(frozen, Mapping)  # a mapping in gives a mapping out
    return frozen


def _freeze(value: Any) -> Any:
    """Read-only deep copy: mappings become ``MappingProxyType``, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    """Plain YAML-ready copy of a ``_freeze``-d value."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(item) for item in value]
    return value


def dump_spec(spec: DatasetSpec, path: Path) -> None:
    """Write ``spec`` as YAML to ``path`` (the inverse of ``load_spec``)."""
    text = yaml.safe_dump(spec.to_yaml_dict(), sort_keys=False, allow_unicode=True, width=100)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise DatasetError(f"{path}: cannot write the data set definition ({err}); fix: check permissions") from err
