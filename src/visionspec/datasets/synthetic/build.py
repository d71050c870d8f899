"""Building a synthetic data set: pictures drawn in parallel processes, COCO annotations, the writer.

Each picture depends only on the seed, its index and the parameters, so the files are the same
whatever the number of worker processes and whatever order they finish in.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from visionspec.datasets.paths import IMAGES_FOLDER
from visionspec.datasets.spec import DatasetSpec
from visionspec.datasets.synthetic.params import WorldParams, parse_params
from visionspec.datasets.synthetic.plan import PicturePlan, plan_world
from visionspec.datasets.synthetic.render import render_picture
from visionspec.datasets.synthetic.scene import BalloonFacts
from visionspec.datasets.writer import write_dataset
from visionspec.errors import DatasetError

GENERATOR = "balloon-world"
CLASS_NAME = "balloon"
# COCO's area ranges: small below 32 x 32 pixels, large from 96 x 96
_SMALL_AREA = 32.0 * 32.0
_LARGE_AREA = 96.0 * 96.0
# a balloon is "occluded" when more than this share of its body is hidden by things in front
OCCLUDED_SHARE = 0.2
_NAME = re.compile(r"\d+\.jpg")


@dataclass(frozen=True)
class _Drawn:
    """What a worker reports about one picture it wrote."""

    index: int
    file_name: str
    sha256: str
    balloons: tuple[BalloonFacts, ...]
    attributes: dict[str, str]


def build(spec: DatasetSpec, folder: Path, *, workers: int | None = None) -> dict[str, Any]:
    """Generate a synthetic data set into ``folder`` and write its annotations and definition.

    Draws every picture into ``folder/images/``, then hands the COCO annotations to
    ``write_dataset``, which writes ``annotations.json`` and ``dataset.yaml`` and checks the counts
    against ``spec.expect`` (or records them, when ``expect`` promises nothing) and the files against
    ``spec.manifest`` (when set: the build must reproduce the committed files).

    Args:
        spec: a definition whose ``source`` is ``{kind: synthetic, generator: balloon-world, seed,
            params}``; ``classes`` must be ``[balloon]``.
        folder: the data set folder.
        workers: processes drawing pictures; ``None`` uses every core, 1 draws in this process.

    Returns:
        The COCO data written (``images`` with their ``sha256`` and ``attributes``, ``annotations``,
        ``categories``).

    Raises:
        DatasetError: the source is not this generator, a parameter is invalid, a count differs from
            ``expect``, or the files differ from the committed manifest.

    Example:
        >>> coco = build(load_spec(Path("datasets/12345/dataset.yaml")), Path("datasets/12345"))  # doctest: +SKIP
    """
    params, seed = world_of(spec)
    coco = build_world(params, seed, folder, workers=workers)
    write_dataset(folder, spec, coco, expect_as_found=not spec.expect.items())
    return coco


def world_of(spec: DatasetSpec) -> tuple[WorldParams, int]:
    """The parameters and seed of a synthetic definition, validated."""
    where = f"data set {spec.id} (dataset.yaml)"
    source = spec.source
    if source.get("kind") != "synthetic" or source.get("generator") != GENERATOR:
        raise DatasetError(
            f"{where}: source is {source.get('kind')}/{source.get('generator')}, not synthetic/"
            f"{GENERATOR}; fix: set source.kind: synthetic and source.generator: {GENERATOR}"
        )
    if tuple(spec.classes) != (CLASS_NAME,):
        raise DatasetError(
            f"{where}: the balloon world draws one class, but classes is {list(spec.classes)}; "
            f"fix: write classes: [{CLASS_NAME}]"
        )
    params = source.get("params", {})
    return parse_params(params if isinstance(params, Mapping) else {}, where=where), int(source["seed"])


def build_world(params: WorldParams, seed: int, folder: Path, *, workers: int | None = None) -> dict[str, Any]:
    """Draw every picture into ``folder/images/`` and return the COCO data (nothing else is written).

    Args:
        params: composition and difficulty.
        seed: the data set's seed.
        folder: the data set folder; stale numbered pictures in ``images/`` are removed.
        workers: processes drawing pictures; ``None`` uses every core, 1 draws in this process.
    """
    images_folder = folder / IMAGES_FOLDER
    try:
        images_folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetError(f"{images_folder}: cannot be created ({err}); fix: check permissions") from err
    plans = plan_world(params, seed)
    drawn = list(_draw_all(params, seed, plans, images_folder, _worker_count(workers)))
    _remove_stale(images_folder, {item.file_name for item in drawn})
    return to_coco(params, seed, drawn)


def file_name(index: int, images: int) -> str:
    """The file name of picture ``index`` (0-based) in a set of ``images``: ``000001.jpg`` onwards."""
    return f"{index + 1:0{max(6, len(str(images)))}d}.jpg"


def _worker_count(workers: int | None) -> int:
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers < 1:
        raise DatasetError(f"workers={workers}: must be at least 1; fix: pass --workers 1 or more")
    return workers


def _draw_all(
    params: WorldParams, seed: int, plans: Sequence[PicturePlan], images_folder: Path, workers: int
) -> Iterator[_Drawn]:
    """Draw and write every picture, in index order, in ``workers`` processes."""
    if workers == 1 or len(plans) < 2:
        yield from _draw_chunk(params, seed, plans, images_folder)
        return
    size = max(1, min(64, len(plans) // (workers * 8)))
    chunks = [plans[start : start + size] for start in range(0, len(plans), size)]
    # spawn, not fork: forking a process that runs threads (pytest plugins, hashing pools) can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        for drawn in pool.map(_draw_chunk, repeat(params), repeat(seed), chunks, repeat(images_folder)):
            yield from drawn


def _draw_chunk(params: WorldParams, seed: int, plans: Sequence[PicturePlan], images_folder: Path) -> list[_Drawn]:
    """Draw and write some pictures (runs in a worker process)."""
    drawn = []
    for plan in plans:
        picture = render_picture(plan, params, seed)
        name = file_name(plan.index, params.images)
        path = images_folder / name
        try:
            path.write_bytes(picture.jpeg)
        except OSError as err:
            raise DatasetError(f"{path}: cannot be written ({err}); fix: check permissions and free space") from err
        digest = hashlib.sha256(picture.jpeg).hexdigest()
        drawn.append(_Drawn(plan.index, name, digest, picture.balloons, picture.attributes))
    return drawn


def _remove_stale(images_folder: Path, keep: set[str]) -> None:
    """Delete numbered pictures left by an earlier, larger build (other files are left alone)."""
    for path in images_folder.iterdir():
        if _NAME.fullmatch(path.name) and path.name not in keep:
            path.unlink()


def size_bucket(area: float) -> str:
    """COCO's size range of a box area: ``small``, ``medium`` or ``large``."""
    if area < _SMALL_AREA:
        return "small"
    return "medium" if area < _LARGE_AREA else "large"


def to_coco(params: WorldParams, seed: int, drawn: Sequence[_Drawn]) -> dict[str, Any]:
    """COCO data for the drawn pictures: one ``balloon`` annotation per balloon, ids from 1.

    The box is the balloon's body and knot (not its string) clipped to the picture, to 0.01 px;
    ``area`` is the box's area (there are no masks); the attributes are the paint ``colour``, the
    ``size`` range of that area, ``occluded`` (more than 20 % of the body hidden by things in front)
    and ``truncated`` (the body is cut by the picture's border).
    """
    images = []
    annotations: list[dict[str, Any]] = []
    for item in drawn:
        images.append(
            {
                "id": item.index + 1,
                "file_name": item.file_name,
                "width": params.width,
                "height": params.height,
                "sha256": item.sha256,
                "attributes": dict(item.attributes),
            }
        )
        for facts in item.balloons:
            annotations.append(_annotation(len(annotations) + 1, item.index + 1, facts))
    return {
        "info": {"description": f"synthetic {GENERATOR}, seed {seed}", "generator": GENERATOR, "seed": seed},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": CLASS_NAME}],
    }


def _annotation(annotation_id: int, image_id: int, facts: BalloonFacts) -> dict[str, Any]:
    x0, y0, x1, y1 = (round(value, 2) for value in facts.box)
    width, height = round(x1 - x0, 2), round(y1 - y0, 2)
    area = round(width * height, 2)
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": 1,
        "bbox": [x0, y0, width, height],
        "area": area,
        "iscrowd": 0,
        "attributes": {
            "colour": facts.colour,
            "size": size_bucket(area),
            "occluded": "yes" if facts.hidden > OCCLUDED_SHARE else "no",
            "truncated": "yes" if facts.truncated else "no",
        },
    }
