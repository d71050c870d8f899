"""``visionspec datasets list | build ID | verify ID | import --format coco|yolo|voc SRC ID``."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

from visionspec.datasets.importers import FORMATS, import_dataset
from visionspec.datasets.paths import SPEC_FILE
from visionspec.datasets.registry import DatasetRegistry, rebuild_fix
from visionspec.datasets.spec import DatasetSpec, Expect
from visionspec.errors import DatasetError
from visionspec.goals.verdict import ExitCode


def register(subparsers: Any) -> None:
    """Add the ``datasets`` command group."""
    parser = subparsers.add_parser("datasets", help="list, build, verify and import data sets")
    _datasets_option(parser, default=None)
    commands = parser.add_subparsers(dest="datasets_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the data sets: id, title, images, built or not")
    _datasets_option(listing)
    listing.set_defaults(handler=list_command)

    build = commands.add_parser("build", help="generate a synthetic data set's images and annotations, then verify")
    build.add_argument("dataset_id", metavar="ID")
    build.add_argument("--workers", type=int, default=None, help="processes drawing images (default: every core)")
    build.add_argument("--update-manifest", action="store_true",
                       help="record the built files' hashes in dataset.yaml instead of requiring the committed ones")
    _datasets_option(build)
    build.set_defaults(handler=build_command)

    verify = commands.add_parser("verify", help="check files against the manifest and counts against expect")
    verify.add_argument("dataset_id", metavar="ID")
    verify.add_argument("--json", action="store_true", help="print the report as one JSON object")
    _datasets_option(verify)
    verify.set_defaults(handler=verify_command)

    importing = commands.add_parser("import", help="convert a COCO, YOLO or Pascal VOC data set into a new data set")
    importing.add_argument("--format", required=True, choices=FORMATS, dest="source_format")
    importing.add_argument("source", type=Path, metavar="SRC",
                           help="coco: the annotation file; yolo: the folder with images/ and labels/; "
                                "voc: the folder with JPEGImages/ and Annotations/")
    importing.add_argument("dataset_id", metavar="ID")
    importing.add_argument("--images", type=Path, default=None,
                           help="coco: the folder the file_name are relative to (default: the annotation file's)")
    importing.add_argument("--title", default=None, help="the new data set's title")
    _datasets_option(importing)
    importing.set_defaults(handler=import_command)


def _datasets_option(parser: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    """``--datasets DIR``, accepted before or after the sub-command."""
    parser.add_argument("--datasets", type=Path, default=default, metavar="DIR",
                        help="the folder holding the data sets (default: $VISIONSPEC_DATASETS or ./datasets)")


def _registry(args: argparse.Namespace) -> DatasetRegistry:
    return DatasetRegistry(args.datasets)


def list_command(args: argparse.Namespace) -> int:
    """Print one line per data set."""
    registry = _registry(args)
    rows = [("ID", "TITLE", "IMAGES", "BUILT")]
    for dataset_id in registry.ids():
        try:
            spec = registry.spec(dataset_id)
        except DatasetError as err:
            rows.append((dataset_id, f"(invalid dataset.yaml: {err})", "", ""))
            continue
        images = spec.expect.images if spec.expect.images is not None else spec.manifest and spec.manifest.images
        rows.append((dataset_id, spec.title, f"{images:,}" if images else "?",
                     "yes" if registry.is_built(dataset_id) else "no"))
    if len(rows) == 1:
        print(f"no data sets under {registry.root}")
        return ExitCode.MET
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
    return ExitCode.MET


def build_command(args: argparse.Namespace) -> int:
    """Generate a synthetic data set, then verify it and print its counts."""
    registry = _registry(args)
    spec = registry.spec(args.dataset_id)
    kind = spec.source.get("kind")
    if kind != "synthetic":
        raise DatasetError(f"data set {spec.id} comes from a {kind} source ({spec.source.get('path', '?')}), not the "
                           f"synthetic generator, so it cannot be built; fix: import it again with visionspec datasets "
                           f"import --format {kind} SRC {spec.id}")
    if args.workers is not None and args.workers < 1:
        raise DatasetError(f"--workers {args.workers}: must be at least 1")
    # Imported lazily: only `build` needs the generator.
    build = import_module("visionspec.datasets.synthetic").build
    target: DatasetSpec = replace(spec, manifest=None) if args.update_manifest else spec
    build(target, registry.folder(spec.id), workers=args.workers)
    return _verify_and_print(DatasetRegistry(registry.root), spec.id)


def verify_command(args: argparse.Namespace) -> int:
    """Verify a data set and print its counts; exit 2 with the reasons when it does not match."""
    registry = _registry(args)
    if args.json:
        report = registry.verify(args.dataset_id)
        print(json.dumps(report.to_dict(), indent=2))
        return ExitCode.MET if report.ok else ExitCode.BROKEN
    return _verify_and_print(registry, args.dataset_id)


def import_command(args: argparse.Namespace) -> int:
    """Import a COCO, YOLO or VOC data set, then verify it and print its counts."""
    registry = _registry(args)
    import_dataset(args.source_format, args.source, args.dataset_id, root=registry.root, images=args.images,
                   title=args.title)
    return _verify_and_print(registry, args.dataset_id)


def _verify_and_print(registry: DatasetRegistry, dataset_id: str) -> int:
    """Print the counts; raise with the problems when the data set does not match its definition."""
    report = registry.verify(dataset_id)
    spec = registry.spec(dataset_id)
    print(f"data set {dataset_id}: {spec.title}" if spec.title else f"data set {dataset_id}")
    print(format_counts(report.found))
    if not report.ok:
        raise DatasetError(report.refusal(registry.folder(dataset_id) / SPEC_FILE, rebuild_fix(dataset_id)))
    print(f"verified: the files match the manifest and the counts match expect ({len(spec.expect.items())} promised)")
    return ExitCode.MET


def format_counts(found: Expect) -> str:
    """The counts as an aligned two-column table."""
    rows = [(name.replace("_", " ").replace(".", " "), f"{count:,}") for name, count in found.items()]
    width = max(len(name) for name, _ in rows)
    figures = max(len(figure) for _, figure in rows)
    return "\n".join(f"  {name:<{width}}  {figure:>{figures}}" for name, figure in rows)



