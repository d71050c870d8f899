"""How fast the balloon world draws data set 12345: pictures per second with 1 and 2 worker processes.

Builds the first ``--images`` pictures of 12345's definition (same seed and parameters, the exact
counts scaled down) once per worker count, side by side in one run, into a temporary folder, and
projects the time for the full 5,000 pictures (the bar: at most 60 s on a 2-core machine). Other
work on the machine slows the wall clock; the CPU time (this process and its workers) shows the cost
of a picture regardless, and its last column is what two otherwise idle cores would take for 12345.

    .venv/bin/python bench/bench_build.py                 # 1,000 pictures, 1 and 2 workers
    .venv/bin/python bench/bench_build.py --images 5000   # the whole of 12345
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from visionspec.datasets.spec import load_spec
from visionspec.datasets.synthetic import WorldParams, build_world, parse_params

ROOT = Path(__file__).resolve().parents[1]


def _params_for(images: int) -> tuple[WorldParams, int, int]:
    spec = load_spec(ROOT / "datasets" / "12345" / "dataset.yaml")
    raw = dict(spec.source["params"])
    full = raw["images"]
    raw["images"] = images
    for key in ("balloon_images", "red_balloons"):
        raw[key] = max(1, round(raw[key] * images / full))
    return parse_params(raw, where="12345"), int(spec.source["seed"]), full


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    params, seed, full = _params_for(args.images)
    print(f"balloon world, 12345's parameters, {args.images} pictures; cores available: {len(os.sched_getaffinity(0))}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'workers':>7}  {'pictures':>8}  {'seconds':>7}  {'pictures/s':>10}  {'vs 1 worker':>11}  "
          f"{'12345 (s)':>9}  {'CPU ms/picture':>14}  {'12345 on 2 idle cores (s)':>25}")
    first = None
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as folder:
            cpu_before = _cpu_seconds()
            start = time.perf_counter()
            build_world(params, seed, Path(folder), workers=workers)
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu_before
        rate = args.images / seconds
        first = first or rate
        ratio = rate / first
        per_picture = cpu / args.images
        print(f"{workers:>7}  {args.images:>8}  {seconds:>7.1f}  {rate:>10.1f}  {ratio:>10.2f}x  {full / rate:>9.1f}  "
              f"{per_picture * 1000:>14.1f}  {full * per_picture / 2:>25.1f}")


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
