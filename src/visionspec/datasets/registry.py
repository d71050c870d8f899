"""Finding data sets by id, loading them once and verifying them once.

A data set lives in ``<root>/<id>/``: ``dataset.yaml``, ``annotations.json`` and ``images/``. The root
is ``$VISIONSPEC_DATASETS`` or ``./datasets`` unless given.

A data set is read and its files hashed once per process, not once per registry: ``visionspec checkpoints``
runs one pytest session a checkpoint in one process. A later registry reuses the verified data set only
while every file of its folder has the size and modification time it had when it was hashed; anything
else is read and hashed again.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionspec.datasets.coco import CocoFile, read_coco
from visionspec.datasets.counts import CountMismatch, compare_expect, count_expect
from visionspec.datasets.dataset import Dataset
from visionspec.datasets.manifest import dataset_digest, images_digest, list_files, scan_files
from visionspec.datasets.paths import ANNOTATIONS_FILE, SPEC_FILE
from visionspec.datasets.spec import DatasetSpec, Expect, load_spec
from visionspec.datasets.writer import check_classes
from visionspec.errors import DatasetError

ENVIRONMENT_VARIABLE = "VISIONSPEC_DATASETS"
# folder -> (the stat signature of its files, the entry read and verified from them), shared by every registry
_PROCESS_ENTRIES: dict[Path, tuple[tuple[tuple[str, int, int], ...], _Entry]] = {}
_PROCESS_LOCK = threading.Lock()
_LISTED = 5  # file names shown per kind of problem before "and N more"


@dataclass(frozen=True)
class VerifyReport:
    """What ``DatasetRegistry.verify`` found: the counts, and every way the files differ from the definition.

    Attributes:
        dataset_id: the data set.
        found: every count in the data, in the shape of ``expect``.
        count_mismatches: each promised count that differs.
        changed_files: images whose bytes differ from the SHA-256 recorded for them.
        missing_files: images listed in the annotations that are not on disk.
        extra_files: files under ``images/`` that the annotations do not list.
        escaping_files: images that are symlinks leading out of the data set folder.
        manifest_problems: differences of the annotation file and the digests from the manifest.
    """

    dataset_id: str
    found: Expect
    count_mismatches: tuple[CountMismatch, ...] = ()
    changed_files: tuple[str, ...] = ()
    missing_files: tuple[str, ...] = ()
    extra_files: tuple[str, ...] = ()
    escaping_files: tuple[str, ...] = ()
    manifest_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the files match the manifest and the counts match ``expect``."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One line for each kind of problem, naming the files or counts."""
        lines = list(self.manifest_problems)
        for kind, names in (
            ("changed since the manifest was made", self.changed_files),
            ("missing", self.missing_files),
            ("not listed in the annotations", self.extra_files),
            ("leading out of the data set folder", self.escaping_files),
        ):
            if names:
                more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
                shown = ", ".join(names[:_LISTED]) + more
                lines.append(f"{len(names)} image file(s) {kind}: {shown}")
        lines.extend(f"count {mismatch}" for mismatch in self.count_mismatches)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "dataset": self.dataset_id,
            "ok": self.ok,
            "found": self.found.to_dict(),
            "count_mismatches": [vars(mismatch) for mismatch in self.count_mismatches],
            "changed_files": list(self.changed_files),
            "missing_files": list(self.missing_files),
            "extra_files": list(self.extra_files),
            "escaping_files": list(self.escaping_files),
            "manifest_problems": list(self.manifest_problems),
        }

    def refusal(self, definition: Path, fix: str) -> str:
        """The message of a refusal. Its first line (all that the terminal and summary.json keep) names the
        definition, the first problem and the fix; every problem follows, one a line.

        Args:
            definition: the data set's ``dataset.yaml``.
            fix: what to do, unless the first problem says it.
        """
        problems = self.problems()
        head, _, own_fix = problems[0].partition("; fix: ")
        more = f" (and {len(problems) - 1} more problem(s) below)" if len(problems) > 1 else ""
        return (f"{definition}: data set {self.dataset_id} does not match its definition: {head}{more}; "
                f"fix: {own_fix or fix}\n  " + "\n  ".join(problems))

    def __str__(self) -> str:
        if self.ok:
            return f"data set {self.dataset_id}: files match the manifest and counts match expect"
        return f"data set {self.dataset_id} does not match its definition:\n  " + "\n  ".join(self.problems())


@dataclass
class _Entry:
    """What the registry holds for one data set."""

    dataset: Dataset
    annotations_sha256: str
    report: VerifyReport | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class DatasetRegistry:
    """The data sets under one root folder, each loaded and verified at most once.

    Example:
        >>> registry = DatasetRegistry()  # doctest: +SKIP
        >>> registry.ids()
        ['12345', 'balloons-crowd', 'balloons-smoke']
        >>> dataset = registry.load("12345")  # verified: files match the manifest, counts match expect
    """

    def __init__(self, root: Path | None = None, *, workers: int | None = None) -> None:
        """Use ``root`` (default: ``$VISIONSPEC_DATASETS`` or ``./datasets``); ``workers`` threads hash files."""
        if root is None:
            root = Path(os.environ.get(ENVIRONMENT_VARIABLE) or "datasets")
        self.root = root.absolute()
        self.workers = workers
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def ids(self) -> list[str]:
        """The ids of the data sets under the root (folders holding a ``dataset.yaml``), sorted."""
        if not self.root.is_dir():
            return []
        # Hidden folders are imports in progress (``.<id>.importing``), not data sets.
        return sorted(entry.name for entry in self.root.iterdir()
                      if not entry.name.startswith(".") and (entry / SPEC_FILE).is_file())

    def folder(self, dataset_id: str) -> Path:
        """The folder of data set ``dataset_id`` (it must exist)."""
        folder = self.root / dataset_id
        if not dataset_id or "/" in dataset_id or dataset_id.startswith(".") or not (folder / SPEC_FILE).is_file():
            known = ", ".join(self.ids()) or "none"
            raise DatasetError(f"no data set {dataset_id!r} under {self.root} (known: {known}); fix: use a known id, "
                               f"or point --datasets / ${ENVIRONMENT_VARIABLE} at the folder that holds it")
        return folder

    def spec(self, dataset_id: str) -> DatasetSpec:
        """The definition of data set ``dataset_id``, read from its ``dataset.yaml``."""
        path = self.folder(dataset_id) / SPEC_FILE
        spec = load_spec(path)
        if spec.id != dataset_id:
            raise DatasetError(f"{path}: id {spec.id!r} differs from its folder name {dataset_id!r}; fix: make them "
                               "the same")
        return spec

    def is_built(self, dataset_id: str) -> bool:
        """Whether the data set's annotation file exists (images are checked by ``verify``)."""
        return (self.folder(dataset_id) / ANNOTATIONS_FILE).is_file()

    def load(self, dataset_id: str, *, verify: bool = True) -> Dataset:
        """The data set, read once per registry; with ``verify``, refused unless ``verify`` finds it whole.

        Raises:
            DatasetError: unknown id, not built, invalid annotations, or (with ``verify``) a file or
                count that does not match the definition; the message names them.
        """
        entry = self._entry(dataset_id)
        if verify:
            report = self._verified(entry)
            if not report.ok:
                raise DatasetError(report.refusal(entry.dataset.folder / SPEC_FILE, rebuild_fix(dataset_id)))
        return entry.dataset

    def verify(self, dataset_id: str) -> VerifyReport:
        """Check the files against the manifest (existence and SHA-256 of every image) and the counts
        against ``expect``; done once per registry.

        Images are not decoded (5,000 decodes would not fit the 2 s budget); a truncated file is
        caught by its hash.
        """
        return self._verified(self._entry(dataset_id))

    def _entry(self, dataset_id: str) -> _Entry:
        """The cached entry, loading the data set on first use (or reusing this process's, files unchanged)."""
        with self._lock:
            entry = self._entries.get(dataset_id)
            if entry is None:
                folder = self.folder(dataset_id).resolve()
                signature = _stat_signature(folder)
                with _PROCESS_LOCK:
                    seen = _PROCESS_ENTRIES.get(folder)
                entry = seen[1] if seen is not None and seen[0] == signature else self._read(dataset_id)
                with _PROCESS_LOCK:
                    _PROCESS_ENTRIES[folder] = (signature, entry)
                self._entries[dataset_id] = entry
            return entry

    def _read(self, dataset_id: str) -> _Entry:
        """Read the definition and the annotation file, validated (no image file touched)."""
        spec = self.spec(dataset_id)
        folder = self.folder(dataset_id)
        annotations_name = spec.manifest.annotations if spec.manifest is not None else ANNOTATIONS_FILE
        path = folder / annotations_name
        if not path.is_file():
            raise DatasetError(f"{path}: not found, data set {dataset_id} is not built; fix: visionspec datasets build "
                               f"{dataset_id} (synthetic) or visionspec datasets import ... {dataset_id}")
        coco = read_coco(path, declared_attributes=spec.attributes or None)
        check_classes(coco, spec, str(path))
        digest = images_digest(coco.images.file_names, coco.images.sha256)
        dataset = Dataset(
            spec=spec,
            folder=folder,
            images=coco.images,
            categories=coco.categories,
            annotations=coco.annotations,
            image_attributes=coco.image_attributes,
            digest=dataset_digest(digest, coco.sha256),
        )
        return _Entry(dataset=dataset, annotations_sha256=coco.sha256)

    def _verified(self, entry: _Entry) -> VerifyReport:
        """The entry's report, computed on first use."""
        with entry.lock:
            if entry.report is None:
                entry.report = _verify(entry.dataset, entry.annotations_sha256, self.workers)
            return entry.report


def _stat_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, modification time) of every file under ``folder``: what a reuse of its hashes needs unchanged."""
    signature = []
    for name in list_files(folder):
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        signature.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def rebuild_fix(dataset_id: str) -> str:
    """What to do about a data set whose files or counts do not match its definition."""
    return (f"rebuild the data set (visionspec datasets build {dataset_id}), restore the files, or correct "
            "dataset.yaml")


def _verify(dataset: Dataset, annotations_sha256: str, workers: int | None) -> VerifyReport:
    """Compare the files on disk with the manifest, and the counts with ``expect``."""
    images = dataset.images
    scan = scan_files(dataset.images_folder, images.file_names, workers=workers)
    changed = tuple(
        name
        for name, recorded, actual in zip(images.file_names, images.sha256, scan.sha256, strict=True)
        if actual is not None and recorded and recorded != actual
    )
    listed = set(images.file_names)
    extra = tuple(name for name in list_files(dataset.images_folder) if name not in listed)
    coco = CocoFile(source="", sha256="", images=images, categories=dataset.categories, annotations=dataset.annotations)
    found = count_expect(coco, declared_attributes=dataset.spec.attributes or None)
    return VerifyReport(
        dataset_id=dataset.id,
        found=found,
        count_mismatches=compare_expect(dataset.spec.expect, found),
        changed_files=changed,
        missing_files=scan.missing,
        extra_files=extra,
        escaping_files=scan.escaping,
        manifest_problems=_manifest_problems(dataset, annotations_sha256),
    )


def _manifest_problems(dataset: Dataset, annotations_sha256: str) -> tuple[str, ...]:
    """How the annotation file and the digests differ from the manifest."""
    manifest = dataset.spec.manifest
    folder = dataset.folder
    if manifest is None:
        return (f"{folder / SPEC_FILE} has no manifest; fix: visionspec datasets build {dataset.id} --update-manifest",)
    problems = []
    unrecorded = [name for name, digest in zip(dataset.images.file_names, dataset.images.sha256, strict=True)
                  if not digest]
    if unrecorded:
        problems.append(f"{folder / manifest.annotations} records no sha256 for {len(unrecorded)} image(s), e.g. "
                        f"{unrecorded[0]}; fix: re-import or rebuild the data set")
    if annotations_sha256 != manifest.annotations_sha256:
        problems.append(f"{folder / manifest.annotations} changed since the manifest was made (sha256 "
                        f"{annotations_sha256}, manifest says {manifest.annotations_sha256})")
    if len(dataset.images) != manifest.images:
        problems.append(f"the annotations list {len(dataset.images)} images, the manifest {manifest.images}")
    digest = images_digest(dataset.images.file_names, dataset.images.sha256)
    if digest != manifest.images_digest:
        problems.append(f"the images digest is {digest}, the manifest says {manifest.images_digest}")
    return tuple(problems)

