"""``visionspec predict --model ONNX --dataset ID --out RESULTS.json``: a COCO results file.

Every detection the model gives is written by default (COCO results keep all of them; goals and
``visionspec evaluate`` apply their own score threshold), with boxes in original image pixels and the data
set's category ids; ``--min-score`` leaves out the weakest (detections below the card's candidate floor,
0.001 by default, are never stored). Numbers are written exactly (shortest round-trip form), so evaluating
the file gives the same figures as evaluating the detections in memory; the file is written a chunk of rows
at a time into a temporary file renamed into place (memory flat in the number of detections, never a
half-written file). ``--backend ray`` runs the detector on a Ray cluster (docs/scale.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from visionspec.datasets.registry import DatasetRegistry
from visionspec.errors import VisionSpecError
from visionspec.files import write_atomic
from visionspec.goals.verdict import ExitCode
from visionspec.runtime.backend import BACKEND_ENV, BACKEND_NAMES, make_backend
from visionspec.runtime.batching import DEFAULT_BATCH_SIZE, BatchSettings
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.inference import to_categories
from visionspec.runtime.progress import ProgressLine
from visionspec.runtime.session import Device, open_model


def _positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``predict`` command."""
    parser = subparsers.add_parser("predict", help="run a detector on a data set and write a COCO results file")
    parser.add_argument("--model", required=True, type=Path, metavar="ONNX", help="the detector's ONNX file")
    parser.add_argument("--dataset", required=True, dest="dataset_id", metavar="ID", help="the data set id")
    parser.add_argument("--out", required=True, type=Path, metavar="RESULTS.json", help="the COCO results file")
    parser.add_argument("--device", choices=[device.value for device in Device], default=Device.AUTO.value,
                        help="auto (CUDA when it really works), cpu, or cuda (an error if CUDA is not there)")
    parser.add_argument("--card", type=Path, default=None, metavar="PATH",
                        help="the model card (default: models/<name>/model.yaml of models/<name>/checkpoints/)")
    parser.add_argument("--datasets", type=Path, default=None, metavar="DIR",
                        help="the folder holding the data sets (default: $VISIONSPEC_DATASETS or ./datasets)")
    parser.add_argument("--batch", type=_positive, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"images per model run for a dynamic batch axis (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--threads", type=_positive, default=None, metavar="N",
                        help="onnxruntime intra-op threads (default: $VISIONSPEC_THREADS or the number of cores)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="threads decoding images (default: up to 4)")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default=None,
                        help=f"where the detector runs: local, or ray (Ray Data on the cluster at $RAY_ADDRESS, else a "
                        f"local Ray runtime; needs the ray extra) (default: ${BACKEND_ENV} or local)")
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="write only detections scoring at least S (default: all of them)")
    parser.add_argument("--no-cache", action="store_true",
                        help="ignore the prediction cache ($VISIONSPEC_CACHE or .visionspec-cache)")
    parser.set_defaults(handler=predict_command)


def predict_command(args: argparse.Namespace) -> int:
    """Run the detector and write the results file."""
    session = open_model(args.model, card_path=args.card, device=Device(args.device), threads=args.threads)
    dataset = DatasetRegistry(args.datasets).load(args.dataset_id)
    cache = PredictionCache(None) if args.no_cache else PredictionCache.from_environment()
    backend = make_backend(args.backend, device=Device(args.device), settings=BatchSettings(args.batch, args.workers))
    start = time.perf_counter()
    found = backend.detect(session, dataset, cache=cache, progress=ProgressLine(sys.stderr, "predict"))
    detections = to_categories(found, dataset.categories, model=str(session.path))
    seconds = time.perf_counter() - start
    if args.min_score is not None:
        detections = detections.above(args.min_score)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.out, detections.write_coco_results)
    except OSError as err:
        raise VisionSpecError(f"{args.out}: cannot write the results file ({err.strerror or err}); "
                              "fix: choose a writable path for --out") from err
    origin = "from the prediction cache" if cache.stats.misses == 0 else f"computed in {seconds:.1f} s"
    print(f"{len(detections):,} detections on {len(dataset.images):,} images of data set {dataset.id} "
          f"({origin}, {found.provider}) written to {args.out}")
    for problem in cache.stats.write_errors:
        print(f"visionspec: warning: the prediction cache could not be written: {problem}", file=sys.stderr)
    return ExitCode.MET
