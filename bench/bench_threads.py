"""onnxruntime intra-op threads 1 against 2 on the reference detector, and simplejpeg against Pillow's decode.

One process, interleaved rounds (a noisy machine slows both sides alike), best round of each:

- threads: the same pre-decoded, preprocessed batches through two sessions of the same model, one with
  1 intra-op thread and one with 2 (``session.intra_op.allow_spinning`` off, as the runtime sets it);
- decode: the data set's JPEG bytes (read into memory beforehand) decoded by Pillow (``open_image``'s
  decoder) and by simplejpeg when it is installed, with the largest pixel difference (0: identical).

    .venv/bin/python bench/bench_threads.py --datasets /tmp/vsds --dataset balloons-val --images 256
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from visionspec.checkpoints import REFERENCE_DETECTOR, newest_checkpoint
from visionspec.datasets import DatasetRegistry
from visionspec.datasets.images import open_image
from visionspec.runtime import Device, Preprocessor, open_model


def best(rounds: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best wall seconds of each run over ``rounds`` interleaved rounds."""
    times = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name] = min(times[name], time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=None)
    parser.add_argument("--dataset", default="balloons-val")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    model = args.model or newest_checkpoint(Path("models"), REFERENCE_DETECTOR)
    dataset = DatasetRegistry(args.datasets).load(args.dataset)
    paths = [dataset.image_path(row) for row in range(min(args.images, len(dataset.images)))]
    sessions = {threads: open_model(model, device=Device.CPU, threads=threads) for threads in (1, 2)}
    preprocessor = Preprocessor(sessions[1].card.input)
    tensors = np.stack([preprocessor(open_image(path))[0] for path in paths])
    batches = [tensors[start : start + args.batch] for start in range(0, len(tensors), args.batch)]

    def run(threads: int) -> Callable[[], object]:
        return lambda: [sessions[threads].run(batch, "bench") for batch in batches]

    times = best(args.rounds, {"1 thread": run(1), "2 threads": run(2)})
    count = len(tensors)
    print(f"{model.name}, {count} pictures, batch {args.batch}, best of {args.rounds} interleaved rounds:")
    for name, seconds in times.items():
        print(f"  {name:<10} {count / seconds:8.1f} pictures/s")
    print(f"  2 threads / 1 thread: {times['1 thread'] / times['2 threads']:.2f}x the throughput")

    encoded = [path.read_bytes() for path in paths]
    decoders: dict[str, Callable[[bytes], np.ndarray]] = {
        "Pillow": lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
    }
    try:
        import simplejpeg  # type: ignore[import-not-found]

        decoders["simplejpeg"] = lambda data: simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ImportError:
        print("  (simplejpeg is not installed: pip install simplejpeg to compare it)")
    decode_runs = {name: (lambda d=d: [d(data) for data in encoded]) for name, d in decoders.items()}
    decode_times = best(args.rounds, decode_runs)
    reference = [decoders["Pillow"](data) for data in encoded]
    for name, decoder in decoders.items():
        difference = max(int(np.abs(decoder(data).astype(int) - ref.astype(int)).max())
                         for data, ref in zip(encoded, reference, strict=True))
        print(f"  decode {name:<11} {count / decode_times[name]:8.0f} pictures/s, max pixel difference {difference}")


if __name__ == "__main__":
    main()
