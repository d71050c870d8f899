"""The price of the detector's second stage: two checkpoints through onnxruntime, interleaved, in one run.

Give the last first-stage checkpoint and a second-stage one (same heatmap network, plus the crop
verifier): both run on the same preprocessed batches of data set 12345 (or random pictures when it is not
built), round after round in alternation, and the best round of each is compared, so that load from
other processes hurts both alike. Prints milliseconds a picture and the ratio.

    .venv/bin/python bench/bench_stages.py models/balloon-detector/checkpoints/epoch-14.onnx \\
        models/balloon-detector/checkpoints/epoch-18.onnx [--threads 2] [--pictures 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets import DatasetRegistry
from visionspec.datasets.images import open_image
from visionspec.runtime.card import InputSpec
from visionspec.runtime.preprocess import Preprocessor
from visionspec.runtime.session import Device, open_model

BATCH = 32


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs=2, help="first-stage checkpoint, second-stage checkpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pictures", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sessions = [open_model(path, device=Device.CPU, threads=args.threads) for path in args.models]
    inputs = _inputs(sessions[0].card.input, args.pictures)
    best = [float("inf")] * len(sessions)
    for _ in range(args.rounds):
        for index, session in enumerate(sessions):
            started = time.perf_counter()
            for start in range(0, len(inputs), BATCH):
                session.run(inputs[start : start + BATCH], f"pictures {start}+")
            best[index] = min(best[index], time.perf_counter() - started)
    for path, seconds in zip(args.models, best, strict=True):
        print(f"{path.name}: {seconds / len(inputs) * 1000:.1f} ms a picture (best of {args.rounds} rounds)")
    print(f"second stage / first stage: {best[1] / best[0]:.2f}")
    return 0


def _inputs(spec: InputSpec, count: int) -> NDArray[np.float32]:
    """``count`` preprocessed pictures of 12345, or random ones when it is not built."""
    preprocess = Preprocessor(spec)
    registry = DatasetRegistry()
    if "12345" in registry.ids():
        dataset = registry.load("12345")
        return np.stack([preprocess(open_image(dataset.image_path(row)))[0] for row in range(count)]).astype(np.float32)
    return np.random.default_rng(0).random((count, 3, spec.height, spec.width), dtype=np.float32)


if __name__ == "__main__":
    raise SystemExit(main())
