"""Writing a data set: its annotation file, its manifest and its ``dataset.yaml``.

The synthetic builder and the importers put the image files into ``<folder>/images/`` and then call
``write_dataset`` with the COCO annotations, whose ``file_name`` are relative to that images folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from visionspec.datasets.coco import CocoFile, parse_coco
from visionspec.datasets.counts import compare_expect, count_expect
from visionspec.datasets.manifest import images_digest, scan_files, sha256_bytes
from visionspec.datasets.paths import ANNOTATIONS_FILE, IMAGES_FOLDER, SPEC_FILE
from visionspec.datasets.spec import DatasetSpec, Manifest, dump_spec, load_spec
from visionspec.errors import DatasetError

__all__ = ["check_classes", "count_expect", "encode_coco", "write_dataset"]


def write_dataset(
    folder: Path,
    spec: DatasetSpec,
    coco: Mapping[str, Any],
    *,
    expect_as_found: bool,
    workers: int | None = None,
) -> DatasetSpec:
    """Validate ``coco``, write ``annotations.json`` and ``dataset.yaml`` with a fresh manifest.

    Steps: the annotations are validated against ``spec`` (classes, declared attributes); each
    image's ``sha256`` is filled from its file under ``folder / "images"`` where absent; the
    annotation file is written compact with sorted keys (so the same content gives the same bytes);
    the manifest is computed. When ``spec.manifest`` is set (a committed definition), the new
    manifest must equal it: the build must reproduce the committed files. ``dataset.yaml`` is only
    (re)written when its content changes.

    Args:
        folder: the data set folder; the image files are already in ``folder / "images"``.
        spec: the definition; its ``manifest`` is the one to reproduce, or ``None`` to record a new one.
        coco: COCO data (``images``, ``categories``, ``annotations``); NumPy scalars are accepted.
            Not modified.
        expect_as_found: record the counts found as ``expect`` (an import, a new data set), instead
            of checking them against ``spec.expect``.
        workers: threads for hashing image files.

    Returns:
        The definition as written, with ``expect`` and ``manifest`` filled.

    Raises:
        DatasetError: invalid annotations, a missing or escaping image file, a count that differs
            from ``spec.expect`` (nothing is written then), or a manifest that differs from
            ``spec.manifest`` (``annotations.json`` is written, ``dataset.yaml`` is not).

    Example:
        >>> spec = write_dataset(Path("datasets/mine"), spec, coco, expect_as_found=True)  # doctest: +SKIP
    """
    annotations_path = folder / ANNOTATIONS_FILE
    data = json.loads(encode_coco(coco))  # plain JSON types from here on, exactly what will be written
    parsed = parse_coco(data, source=f"{annotations_path} (being written)", declared_attributes=spec.attributes)
    check_classes(parsed, spec, str(annotations_path))
    found = count_expect(parsed, declared_attributes=spec.attributes)
    if not expect_as_found:
        mismatches = compare_expect(spec.expect, found)
        if mismatches:
            listed = "; ".join(str(mismatch) for mismatch in mismatches)
            raise DatasetError(f"data set {spec.id} in {folder}: the annotations do not keep the counts promised "
                               f"under 'expect' ({listed}); fix: correct the source data or the generator, or the "
                               "expect section of dataset.yaml. Nothing was written.")
    digests = _fill_sha256(folder, data, parsed, workers)
    encoded = encode_coco(data)
    manifest = Manifest(
        annotations=ANNOTATIONS_FILE,
        annotations_sha256=sha256_bytes(encoded),
        images=len(parsed.images),
        images_digest=images_digest(parsed.images.file_names, digests),
    )
    _write_atomically(annotations_path, encoded)
    written = spec.with_build(expect=found if expect_as_found else spec.expect, manifest=manifest)
    if spec.manifest is not None and spec.manifest != manifest:
        raise DatasetError(_manifest_difference(spec, manifest, folder))
    spec_path = folder / SPEC_FILE
    if not spec_path.exists() or _read_quietly(spec_path) != written:
        dump_spec(written, spec_path)
    return written


def encode_coco(coco: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same content always gives the same bytes."""
    try:
        text = json.dumps(coco, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"COCO data cannot be written as JSON ({err}); fix: use numbers, text, lists and "
                           "dictionaries only (no NaN)") from err
    return text.encode("utf-8")


def check_classes(coco: CocoFile, spec: DatasetSpec, source: str) -> None:
    """Refuse annotations whose category names differ from the definition's ``classes``."""
    names = [category.name for category in coco.categories]
    if sorted(names) != sorted(spec.classes):
        raise DatasetError(f"{source}: the categories ({', '.join(names) or 'none'}) differ from the classes of data "
                           f"set {spec.id} ({', '.join(spec.classes)}); fix: make 'categories' and the 'classes' "
                           "of dataset.yaml name the same classes")


def _plain(value: object) -> Any:
    """JSON for NumPy scalars and arrays (``json.dumps`` ``default``)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON")


def _fill_sha256(folder: Path, data: dict[str, Any], parsed: CocoFile, workers: int | None) -> list[str]:
    """Each image's ``sha256``, hashing the files that have none; writes them into ``data``."""
    digests = list(parsed.images.sha256)
    unknown = [row for row, digest in enumerate(digests) if not digest]
    if not unknown:
        return digests
    images_folder = folder / IMAGES_FOLDER
    scan = scan_files(images_folder, [parsed.images.file_names[row] for row in unknown], workers=workers)
    for kind, names in (("missing", scan.missing), ("leads out of the data set folder", scan.escaping)):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise DatasetError(f"{images_folder / names[0]}: image file {kind}{more}; fix: put the image files under "
                               f"{images_folder} as named by the annotations' file_name")
    for row, digest in zip(unknown, scan.sha256, strict=True):
        assert digest is not None  # neither missing nor escaping
        digests[row] = digest
        data["images"][row]["sha256"] = digest
    return digests


def _write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(content)
        temporary.replace(path)
    except OSError as err:
        raise DatasetError(f"{path}: cannot be written ({err}); fix: check permissions and free space") from err


def _read_quietly(path: Path) -> DatasetSpec | None:
    """The definition at ``path``, or ``None`` when it cannot be read."""
    try:
        return load_spec(path)
    except DatasetError:
        return None


def _manifest_difference(spec: DatasetSpec, manifest: Manifest, folder: Path) -> str:
    """The message for a build that does not reproduce the committed manifest."""
    committed = spec.manifest
    assert committed is not None
    differences = [
        f"{key}: committed {old}, built {new}"
        for key, old, new in (
            ("images", committed.images, manifest.images),
            ("images_digest", committed.images_digest, manifest.images_digest),
            ("annotations_sha256", committed.annotations_sha256, manifest.annotations_sha256),
        )
        if old != new
    ]
    return (f"data set {spec.id}: the files built in {folder} do not reproduce the committed manifest "
            f"({'; '.join(differences)}); the generator, its parameters or the library versions (Pillow, NumPy) "
            f"differ from those that made the committed files; fix: install the pinned versions, or accept the new "
            f"files with `visionspec datasets build {spec.id} --update-manifest` and commit dataset.yaml")
