"""Benchmark: loading a 100,000-image COCO file, and loading + verifying data set 12345.

Usage::

    .venv/bin/python bench/bench_datasets.py [--images 100000] [--objects-per-image 2.5] [--repeat 3]
                                             [--datasets datasets]

Each measurement runs in a fresh subprocess, so peak memory (``ru_maxrss``) belongs to that one task;
the table shows wall and CPU seconds (CPU time tells the cost on a machine shared with other jobs),
the peak above the interpreter with the imports done, and the ratio of each row's time to the first
row's, measured side by side in this one run. Goals (issue 2): the COCO
load in at most 3 s and 1 GB; loading + verifying 12345 in at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")

# Each task prints one JSON line: seconds (best of --repeat, in-process) and peak RSS in MiB.
_TASK = r"""
import json, sys, time
kind, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
from pathlib import Path
from visionspec.datasets import DatasetRegistry, read_coco
def peak_mib():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024
base = peak_mib()
def coco():
    read_coco(Path(path))
def json_only():
    with open(path, "rb") as stream:
        json.load(stream)
def pycocotools():
    import contextlib, io
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        COCO(path)
def load_verify(workers=None):
    DatasetRegistry(Path(path), workers=workers).load("12345")
def load_only():
    DatasetRegistry(Path(path)).load("12345", verify=False)
tasks = {"visionspec read_coco": coco, "json.load only": json_only, "pycocotools COCO()": pycocotools,
         "load+verify 12345": load_verify, "load+verify 12345, 1 thread": lambda: load_verify(1),
         "load 12345 without verify": load_only}
times, cpu = [], []
for _ in range(repeat):
    start, start_cpu = time.perf_counter(), time.process_time()
    tasks[kind]()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
print(json.dumps({"seconds": min(times), "cpu_seconds": min(cpu), "peak_mib": peak_mib(), "base_mib": base}))
"""


def make_big_coco(path: Path, images: int, objects_per_image: float, seed: int = 0) -> tuple[int, int]:
    """Write a synthetic COCO file shaped like the balloon world's, with ``images`` images."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(objects_per_image, images)
    image_ids = np.repeat(np.arange(1, images + 1), counts)
    total = int(counts.sum())
    xy = rng.uniform(0, 200, (total, 2)).round(2)
    wh = rng.uniform(4, 56, (total, 2)).round(2)
    colours = rng.integers(0, len(COLOURS), total)
    image_records = [
        {"id": i, "file_name": f"{i:06d}.jpg", "width": 256, "height": 256, "sha256": f"{i:064x}",
         "attributes": {"scene": "sky"}}
        for i in range(1, images + 1)
    ]
    annotation_records = [
        {"id": a + 1, "image_id": int(image_ids[a]), "category_id": 1,
         "bbox": [float(xy[a, 0]), float(xy[a, 1]), float(wh[a, 0]), float(wh[a, 1])],
         "area": float(wh[a, 0] * wh[a, 1]), "iscrowd": 0,
         "attributes": {"colour": COLOURS[colours[a]], "size": "small", "occluded": "no", "truncated": "no"}}
        for a in range(total)
    ]
    data = {"images": image_records, "categories": [{"id": 1, "name": "balloon"}], "annotations": annotation_records}
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    return images, total


def make_standin_12345(root: Path) -> None:
    """A stand-in for data set 12345 when the real one is not built: 5,000 JPEG files of about 10 KB,
    1,000 with one object each (100 red), written through ``write_dataset`` like the real build."""
    from PIL import Image

    from visionspec.datasets import spec_from_dict, write_dataset

    folder = root / "12345"
    rng = np.random.default_rng(12345)
    base = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    images, annotations = [], []
    for index in range(5000):
        tile = np.roll(base, index, axis=1).repeat(4, axis=0).repeat(4, axis=1)
        path = folder / "images" / f"{index:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(tile).save(path, quality=30)
        images.append({"id": index + 1, "file_name": path.name, "width": 256, "height": 256})
        if index < 1000:
            annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1, "bbox": [10, 10, 40, 60],
                                "attributes": {"colour": "red" if index < 100 else "blue"}})
    spec = spec_from_dict({"id": "12345", "title": "stand-in", "source": {"kind": "coco", "path": "bench"},
                           "classes": ["balloon"], "attributes": {"colour": ["red", "blue"]}}, source="bench")
    coco = {"images": images, "categories": [{"id": 1, "name": "balloon"}], "annotations": annotations}
    write_dataset(folder, spec, coco, expect_as_found=True)


def run_task(kind: str, path: Path, repeat: int) -> dict[str, float]:
    """One measurement in a fresh interpreter."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([sys.executable, "-c", _TASK, kind, str(path), str(repeat)], capture_output=True,
                               text=True, check=True, env=environment)
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def print_table(title: str, rows: list[tuple[str, dict[str, float]]]) -> None:
    reference = rows[0][1]["seconds"]
    print(f"\n{title}")
    print(f"  {'task':<30} {'seconds':>8} {'CPU s':>7} {'x first':>8} {'peak MiB':>9} {'above imports':>14}")
    for name, result in rows:
        print(f"  {name:<30} {result['seconds']:>8.3f} {result['cpu_seconds']:>7.3f} "
              f"{result['seconds'] / reference:>8.2f} {result['peak_mib']:>9.0f} "
              f"{result['peak_mib'] - result['base_mib']:>14.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--objects-per-image", type=float, default=2.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--datasets", type=Path, default=Path("datasets"))
    parser.add_argument("--skip-pycocotools", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.json"
        images, objects = make_big_coco(path, args.images, args.objects_per_image)
        size_mib = path.stat().st_size / 2**20
        kinds = ["visionspec read_coco", "json.load only"] + ([] if args.skip_pycocotools else ["pycocotools COCO()"])
        rows = [(kind, run_task(kind, path, args.repeat)) for kind in kinds]
        print_table(f"COCO file: {images:,} images, {objects:,} objects, {size_mib:.0f} MiB "
                    f"(best of {args.repeat}; goal <= 3 s, <= 1 GB)", rows)

    kinds = ["load+verify 12345", "load+verify 12345, 1 thread", "load 12345 without verify"]
    if (args.datasets / "12345" / "annotations.json").is_file():
        rows = [(kind, run_task(kind, args.datasets.absolute(), args.repeat)) for kind in kinds]
        print_table(f"data set 12345 under {args.datasets} (best of {args.repeat}, files in the page cache; "
                    "goal <= 2 s)", rows)
        return
    with tempfile.TemporaryDirectory() as folder:
        make_standin_12345(Path(folder))
        size_mib = sum(path.stat().st_size for path in Path(folder).rglob("*.jpg")) / 2**20
        rows = [(kind, run_task(kind, Path(folder), args.repeat)) for kind in kinds]
        print_table(f"STAND-IN for 12345 (not built under {args.datasets}): 5,000 JPEG files, {size_mib:.0f} MiB "
                    f"(best of {args.repeat}, files in the page cache; goal <= 2 s)", rows)


if __name__ == "__main__":
    main()
