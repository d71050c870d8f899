"""Data sets: definitions, COCO annotations, images, manifests, the registry and the writer.

A data set lives in ``datasets/<id>/``:

- ``dataset.yaml``: the definition (``DatasetSpec``: classes, attributes, promised counts, manifest);
- ``annotations.json``: COCO annotations; each image's ``file_name`` is relative to ``images/`` and
  its ``sha256`` is the hex digest of the file; per-object attributes sit in the annotation's
  ``attributes`` object (``{"colour": "red"}``), image-level facts in the image's ``attributes``;
- ``images/``: the image files.

Typical use::

    registry = DatasetRegistry()            # ./datasets or $VISIONSPEC_DATASETS
    dataset = registry.load("12345")        # validated and verified once
    red = dataset.objects_where(colour="red")
    empty = dataset.select_images(dataset.images_without_objects())
"""

from __future__ import annotations

from visionspec.datasets.coco import BOX_TOLERANCE_PX, CocoFile, parse_coco, read_coco
from visionspec.datasets.counts import CountMismatch, compare_expect, count_expect
from visionspec.datasets.dataset import Dataset
from visionspec.datasets.images import open_image
from visionspec.datasets.manifest import images_digest, sha256_file
from visionspec.datasets.paths import ANNOTATIONS_FILE, IMAGES_FOLDER, SPEC_FILE
from visionspec.datasets.registry import DatasetRegistry, VerifyReport
from visionspec.datasets.spec import DatasetSpec, Expect, Manifest, dump_spec, load_spec, spec_from_dict
from visionspec.datasets.tables import AnnotationTable, Category, ImageTable
from visionspec.datasets.writer import encode_coco, write_dataset

__all__ = [
    "ANNOTATIONS_FILE",
    "BOX_TOLERANCE_PX",
    "IMAGES_FOLDER",
    "SPEC_FILE",
    "AnnotationTable",
    "Category",
    "CocoFile",
    "CountMismatch",
    "Dataset",
    "DatasetRegistry",
    "DatasetSpec",
    "Expect",
    "ImageTable",
    "Manifest",
    "VerifyReport",
    "compare_expect",
    "count_expect",
    "dump_spec",
    "encode_coco",
    "images_digest",
    "load_spec",
    "open_image",
    "parse_coco",
    "read_coco",
    "sha256_file",
    "spec_from_dict",
    "write_dataset",
]
