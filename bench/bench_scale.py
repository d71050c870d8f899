"""Memory and time against the number of pictures: ``visionspec predict`` on 1k, 10k and 100k tiny pictures.

Each data set is built in seconds with the project's data set writer: 16 distinct small pictures (grey
and coloured, 48 x 32 JPEG, one to three annotated boxes each) hard-linked under 10,000 or 100,000
names, so the files cost no disk space but every one is opened, decoded and preprocessed. The detector
is a tiny ONNX graph (8 fixed slots whose scores move with the picture's brightness, half of them below
the score floor), so that the engine around the model (listing, decoding, batching, collecting,
caching, writing the COCO results file) is what is measured, not a network.

For each size, in a new process each (peak RSS is that process's ``ru_maxrss``):

- ``predict`` cold: no cache entry; the pass runs and the entry is written;
- ``predict`` warm: the same command, answered from the cache entry;
- with ``--goals``: ``visionspec run`` of one recall goal on the data set (cold cache), and
  ``visionspec checkpoints`` over three checkpoints of the detector (cold cache; each judged against the
  one before it), with the detector passes it ran (cache entries written): the goal is K passes for K
  checkpoints and peak RSS that does not grow with K.

The slope of peak RSS against pictures is printed beside the detections kept: the goal is memory flat in
the number of pictures, that is a slope of at most 2 KB a picture beyond the detections kept (56 bytes
each), and time linear in it.

    .venv/bin/python bench/bench_scale.py                       # 1k and 10k
    .venv/bin/python bench/bench_scale.py --sizes 10000 100000  # add 100k (about 3 minutes on one core)
    .venv/bin/python bench/bench_scale.py --sizes 1000 10000 --goals   # also run and checkpoints
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.runtime.runtime_models import bsl_plan, build_model, write_card  # noqa: E402

from visionspec.datasets import spec_from_dict, write_dataset  # noqa: E402

DISTINCT = 16
WIDTH, HEIGHT = 48, 32
SLOTS = 8
BYTES_PER_DETECTION = 8 + 8 + 4 * 8 + 8

# Runs the command given after it and prints its peak RSS (KiB): a fresh process per measurement.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
    "seconds = time.perf_counter() - start\n"
    "if done.returncode not in (0, 1): sys.exit(done.stderr[-2000:] + done.stdout[-2000:])\n"  # 1: a goal missed
    "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.stdout.strip().splitlines()[-1],"
    " sep='\\t')\n"
)


def distinct_pictures(folder: Path) -> list[tuple[Path, list[list[float]]]]:
    """``DISTINCT`` small JPEG pictures, grey and coloured, each with one to three boxes drawn on it."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    pictures = []
    for index in range(DISTINCT):
        level = int(rng.integers(20, 235))
        colour = (level, level, level) if index % 2 else tuple(int(v) for v in rng.integers(0, 255, 3))
        pixels = np.full((HEIGHT, WIDTH, 3), colour, dtype=np.uint8)
        boxes = []
        for _ in range(1 + index % 3):
            x, y = int(rng.integers(0, WIDTH - 12)), int(rng.integers(0, HEIGHT - 12))
            w, h = int(rng.integers(4, 12)), int(rng.integers(4, 12))
            pixels[y : y + h, x : x + w] = rng.integers(0, 255, 3)
            boxes.append([float(x), float(y), float(w), float(h)])
        path = folder / f"distinct-{index:02d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        pictures.append((path, boxes))
    return pictures


def build_dataset(datasets: Path, count: int, pictures: list[tuple[Path, list[list[float]]]]) -> str:
    """Data set ``scale-<count>``: ``count`` hard links to the distinct pictures, with their boxes."""
    dataset_id = f"scale-{count}"
    folder = datasets / dataset_id
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    for row in range(count):
        source, boxes = pictures[row % DISTINCT]
        name = f"{row // 1000:03d}/{row:07d}.jpg"
        target = folder / "images" / name
        target.parent.mkdir(exist_ok=True)
        os.link(source, target)
        images.append({"id": row + 1, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for box in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": row + 1, "category_id": 1, "bbox": box,
                                "area": box[2] * box[3], "iscrowd": 0})
    spec = spec_from_dict({"id": dataset_id, "title": f"{count:,} tiny pictures", "description": "bench_scale",
                           "source": {"kind": "coco", "path": "annotations.json"}, "classes": ["balloon"]},
                          source=str(folder / "dataset.yaml"))
    coco = {"images": images, "categories": [{"id": 1, "name": "balloon"}], "annotations": annotations}
    write_dataset(folder, spec, coco, expect_as_found=True)
    return dataset_id


def build_detector(folder: Path, epochs: int = 1) -> Path:
    """8 slots: boxes fixed, scores ``constant + brightness``, half of them always below the floor.

    ``epochs`` checkpoints, each a little more confident than the one before (distinct files); returns the last.
    """
    write_card(folder, {"name": "scale-detector", "task": "detection", "classes": ["balloon"],
                        "input": {"name": "images", "size": [HEIGHT, WIDTH]},
                        "output": {"adapter": "boxes_scores_labels"}, "score_threshold": 0.5})
    (folder / "checkpoints").mkdir()
    boxes = [[4 * k, 2 * k, 4 * k + 12, 2 * k + 10] for k in range(SLOTS)]
    for epoch in range(1, epochs + 1):
        scores = [0.2 + 0.08 * k + 0.01 * epoch if k % 2 else -1.0 for k in range(SLOTS)]
        plan = bsl_plan(boxes, scores, [0] * SLOTS, height=HEIGHT, width=WIDTH, score_coefficient=0.3)
        last = build_model(plan, folder / "checkpoints" / f"epoch-{epoch:02d}.onnx")
    return last


GOAL = """Feature: Scale
  Scenario: Balloons are found
    Given data set "{dataset_id}"
    When the detector ingests the images
    Then the recall should be at least 0.1
"""


def measure_goals(work: Path, visionspec: str, dataset_id: str, env: dict[str, str]) -> dict[str, object]:
    """``run`` and ``checkpoints`` on the data set, each with a cold cache of its own, in new processes."""
    features = work / f"features-{dataset_id}"
    features.mkdir(exist_ok=True)
    (features / "goal.feature").write_text(GOAL.format(dataset_id=dataset_id), encoding="utf-8")
    checkpoints = sorted((work / "models" / "scale-detector" / "checkpoints").glob("*.onnx"))
    found: dict[str, object] = {}
    for name, command in (
        ("run", [visionspec, "run", str(features), "--detector", str(checkpoints[-1]), "--device", "cpu",
                 "--datasets", str(work / "datasets"), "--results", str(work / f"run-{dataset_id}")]),
        ("checkpoints", [visionspec, "checkpoints", *map(str, checkpoints), "--device", "cpu", "--datasets",
                         str(work / "datasets"), "--results", str(work / f"checkpoints-{dataset_id}"),
                         "--goals", str(features)]),
    ):
        cache = work / f"cache-{name}-{dataset_id}"
        seconds, rss, _ = measure(command, {**env, "VISIONSPEC_CACHE": str(cache)})
        passes = len(list(cache.rglob("*.npz"))) if cache.is_dir() else 0
        found[name] = (seconds, rss, passes)
    return found


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak RSS (MiB) and the last output line of ``command`` in a new process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, env=env,
                          check=True)
    seconds, rss_kib, line = done.stdout.strip().split("\t")
    return float(seconds), int(rss_kib) / 1024, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime and decoding threads")
    parser.add_argument("--keep", type=Path, default=None, help="build under this folder and keep it")
    parser.add_argument("--goals", action="store_true", help="also measure run and checkpoints (3 checkpoints)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="visionspec-scale-"))
    datasets, cache = work / "datasets", work / "cache"
    pictures = distinct_pictures(work / "distinct")
    model = build_detector(work / "models" / "scale-detector", epochs=3 if args.goals else 1)
    env = {**os.environ, "VISIONSPEC_CACHE": str(cache), "OMP_NUM_THREADS": str(args.threads)}
    visionspec = str(Path(sys.executable).with_name("visionspec"))
    rows = []
    for count in args.sizes:
        start = time.perf_counter()
        dataset_id = build_dataset(datasets, count, pictures)
        built = time.perf_counter() - start
        out = work / f"results-{count}.json"
        command = [visionspec, "predict", "--model", str(model), "--dataset", dataset_id, "--datasets", str(datasets),
                   "--out", str(out), "--device", "cpu", "--threads", str(args.threads),
                   "--workers", str(args.threads)]
        cold = measure(command, env)
        warm = measure(command, env)
        detections = len(json.loads(out.read_bytes()))
        rows.append((count, built, detections, cold, warm))
        print(f"{count:>8,} pictures (built in {built:5.1f} s), {detections:,} detections: predict cold "
              f"{cold[0]:6.1f} s {cold[1]:7.1f} MiB; warm {warm[0]:6.1f} s {warm[1]:7.1f} MiB", flush=True)
        if args.goals:
            for name, (seconds, rss, passes) in measure_goals(work, visionspec, dataset_id, env).items():
                print(f"{'':>9}{name}: {seconds:6.1f} s, peak {rss:7.1f} MiB, {passes} detector pass(es)", flush=True)
    print(f"\n{'pictures':>9} {'detections':>11} {'cold s':>7} {'ms/pic':>7} {'cold MiB':>9} {'warm s':>7} "
          f"{'warm MiB':>9}")
    for count, _, detections, cold, warm in rows:
        print(f"{count:>9,} {detections:>11,} {cold[0]:7.1f} {1000 * cold[0] / count:7.3f} {cold[1]:9.1f} "
              f"{warm[0]:7.1f} {warm[1]:9.1f}")
    for first_row, second_row in pairwise(rows):
        (small, _, small_dets, small_cold, small_warm), (large, _, large_dets, large_cold, large_warm) = (
            first_row, second_row)
        pictures_added = large - small
        kept = (large_dets - small_dets) * BYTES_PER_DETECTION / pictures_added
        for label, first, second in (("cold", small_cold, large_cold), ("warm", small_warm, large_warm)):
            slope = (second[1] - first[1]) * 1024 * 1024 / pictures_added
            print(f"{small:,} -> {large:,} pictures, {label}: peak RSS {slope / 1024:5.2f} KB a picture "
                  f"({(slope - kept) / 1024:5.2f} KB beyond the {kept / 1024:.2f} KB of detections kept); "
                  f"time x{second[0] / first[0]:.2f} for x{large / small:.0f} pictures")
    print(f"(data under {work})")


if __name__ == "__main__":
    main()
