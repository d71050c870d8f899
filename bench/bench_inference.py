"""Inference speed: the predict pipeline against a bare onnxruntime loop, and a re-run with the cache warm.

Measured side by side in one run, interleaved over several rounds (the best round of each is compared,
so that load from other processes hurts both alike). Wall-clock time is what the bar is about; the process
CPU time of each run is printed beside it, since on a shared machine it is the steadier of the two.

- bare: ``InferenceSession.run`` over the same images, decoded and preprocessed beforehand and stacked into
  batches, with onnxruntime's idle threads spinning (its default) and sleeping (the runtime's setting); the
  faster of the two is the limit of this machine for this model;
- pipeline: ``visionspec.runtime.detect`` end to end (decode on worker threads, preprocess, run, map boxes
  back to picture pixels), no cache;
- warm cache: the same call with a fresh ``PredictionCache`` on a folder that already holds the entry
  (a new process would see exactly this), and the whole ``visionspec predict`` command in a new process.

The model is ``--model`` (an ONNX detector with its card), else a small CenterNet-style conv net exported
here the ``boxes_scores_labels`` way (needs torch). The images are data set 12345 when it is built under
``--datasets``, else a generated set of 256 x 256 JPEG pictures.

    .venv/bin/python bench/bench_inference.py                         # generated pictures, bench model
    .venv/bin/python bench/bench_inference.py --model models/balloon-detector/checkpoints/epoch-05.onnx
    .venv/bin/python bench/bench_inference.py --device cuda          # fails loudly when CUDA is not used
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw

from visionspec.datasets import DatasetRegistry, spec_from_dict, write_dataset
from visionspec.datasets.dataset import Dataset
from visionspec.datasets.images import open_image
from visionspec.errors import VisionSpecError
from visionspec.runtime import BatchSettings, Device, ModelSession, PredictionCache, Preprocessor, detect, open_model
from visionspec.runtime.batching import effective_batch_size

SIZE = 256
BENCH_CARD = {
    "name": "bench-detector",
    "task": "detection",
    "classes": ["balloon"],
    "description": "random weights: for speed only",
    "input": {"name": "images", "size": [SIZE, SIZE], "scale": "1/255"},  # 0..1, as the reference detector
    "output": {"adapter": "boxes_scores_labels"},
    "score_threshold": 0.3,
}


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="visionspec-bench-"))
    try:
        return run(args, work)
    except VisionSpecError as err:  # e.g. --device cuda where CUDA is not really there: say so, exit 2
        print(f"bench_inference: error: {err}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="an ONNX detector with its card")
    parser.add_argument("--card", type=Path, default=None, help="its card, if not models/<name>/model.yaml")
    parser.add_argument("--datasets", type=Path, default=Path("datasets"), help="where data set 12345 may be built")
    parser.add_argument("--images", type=int, default=1000, help="images measured (the pre-decoded copy is held in "
                                                                 "memory: 1000 at 256 x 256 is 0.8 GB)")
    parser.add_argument("--device", choices=[device.value for device in Device], default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: cores)")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: the runtime's)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args()


def run(args: argparse.Namespace, work: Path) -> int:
    model = args.model or export_bench_model(work / "models" / "bench-detector" / "checkpoints" / "bench.onnx")
    session = open_model(model, card_path=args.card, device=Device(args.device), threads=args.threads)
    dataset, datasets_root, origin = images_to_measure(args, work)
    settings = BatchSettings(args.batch, args.workers)
    batch = effective_batch_size(session, args.batch)
    print(f"model {model.name} ({session.sha256[:12]}), {len(dataset.images):,} images from {origin}, "
          f"provider {session.provider}, {session.threads} onnxruntime threads, {settings.worker_count()} "
          f"decoding threads, batch {batch}, {args.rounds} rounds, {os.cpu_count()} cores", flush=True)

    batches = predecode(session, dataset, batch)
    bare = {spinning: bare_session(session, spinning) for spinning in (True, False)}
    timings: dict[str, list[Timing]] = {"bare, spinning": [], "bare, sleeping": [], "pipeline": []}
    for _ in range(args.rounds):
        for spinning, name in ((True, "bare, spinning"), (False, "bare, sleeping")):
            timings[name].append(timed(lambda s=spinning, b=batches: bare_loop(bare[s], session, b)))
        timings["pipeline"].append(timed(lambda: detect(session, dataset, settings=settings)))
    del batches

    cache_folder = work / "cache"
    cold = PredictionCache(cache_folder)
    timings["cold cache"] = [timed(lambda: detect(session, dataset, settings=settings, cache=cold))]
    warm_runs = []
    for _ in range(args.rounds):
        warm = PredictionCache(cache_folder)
        warm_runs.append(timed(lambda cache=warm: detect(session, dataset, settings=settings, cache=cache)))
        assert warm.stats.disk_hits == 1 and warm.stats.misses == 0, "the warm run must not compute"
    timings["warm cache"] = warm_runs
    timings["warm cache, CLI"] = [cli_warm_run(args, model, dataset.spec.id, datasets_root, cache_folder, work)
                                  for _ in range(args.rounds)]
    report(timings, len(dataset.images), session, args)
    return 0


def export_bench_model(path: Path) -> Path:
    """A small CenterNet-style detector (random weights) with the decode in the graph, like the reference."""
    import warnings

    try:
        import torch
        from torch import nn
    except ImportError:
        sys.exit("bench_inference: no --model given and torch is not installed to export the bench model")

    def conv(c_in: int, c_out: int, stride: int = 1) -> nn.Module:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())

    class BenchDetector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.PixelUnshuffle(4), conv(48, 32), conv(32, 32))
            self.down = nn.Sequential(conv(32, 48, 2), conv(48, 48), conv(48, 64, 2), conv(64, 64))
            self.lateral = nn.Conv2d(32, 64, 1)
            self.trunk = conv(64, 32)
            self.heads = nn.Conv2d(32, 1 + 2 + 2, 1)

        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            c4 = self.stem(images)
            deep = nn.functional.interpolate(self.down(c4), scale_factor=4.0, mode="nearest")
            out = self.heads(self.trunk(deep + self.lateral(c4)))
            heat = torch.sigmoid(out[:, :1])
            peaks = heat * (nn.functional.max_pool2d(heat, 3, 1, 1) == heat).to(heat.dtype)
            scores, cells = torch.topk(peaks.flatten(1), k=100, dim=1)
            grid = SIZE // 4
            index = cells.unsqueeze(1).expand(-1, 4, -1)
            geometry = out[:, 1:].flatten(2).gather(2, index)
            cx = ((cells % grid).to(heat.dtype) + geometry[:, 2]) * 4
            cy = (torch.div(cells, grid, rounding_mode="floor").to(heat.dtype) + geometry[:, 3]) * 4
            half_w, half_h = torch.exp(geometry[:, 0].clamp(max=4)) * 2, torch.exp(geometry[:, 1].clamp(max=4)) * 2
            boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=2).clamp(0, SIZE)
            return boxes, scores, torch.zeros_like(cells)

    torch.manual_seed(0)
    path.parent.mkdir(parents=True)
    (path.parent.parent / "model.yaml").write_text(json.dumps(BENCH_CARD), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's DeprecationWarning
        torch.onnx.export(BenchDetector().eval(), (torch.zeros(1, 3, SIZE, SIZE),), str(path), dynamo=False,
                          input_names=["images"], output_names=["boxes", "scores", "labels"], opset_version=17,
                          dynamic_axes={name: {0: "batch"} for name in ("images", "boxes", "scores", "labels")})
    return path


def images_to_measure(args: argparse.Namespace, work: Path) -> tuple[Dataset, Path, str]:
    """Data set 12345 when built (its first ``--images`` pictures), else a generated set written with the writer."""
    registry = DatasetRegistry(args.datasets)
    if "12345" in registry.ids() and registry.is_built("12345"):
        full = registry.load("12345")
        if args.images >= len(full.images):
            return full, args.datasets, "data set 12345"
        root = work / "datasets"
        subset = copy_subset(full, root, args.images)
        return DatasetRegistry(root).load(subset), root, f"data set 12345 (first {args.images:,})"
    root = work / "datasets"
    generate(root / "bench-generated", args.images)
    return DatasetRegistry(root).load("bench-generated"), root, "generated 256 x 256 JPEG pictures"


def copy_subset(full: Dataset, root: Path, count: int) -> str:
    """The first ``count`` pictures of a data set as a data set of their own (the CLI needs an id)."""
    keep = set(full.images.file_names[:count])
    coco = json.loads((full.folder / "annotations.json").read_text(encoding="utf-8"))
    coco["images"] = [image for image in coco["images"] if image["file_name"] in keep]
    ids = {image["id"] for image in coco["images"]}
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    folder = root / "bench-12345"
    (folder / "images").mkdir(parents=True)
    for name in keep:
        (folder / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(full.folder / "images" / name, folder / "images" / name)
    spec = spec_from_dict({"id": "bench-12345", "title": "first pictures of 12345", "description": "bench",
                           "source": {"kind": "coco", "path": "12345"}, "classes": list(full.spec.classes),
                           "attributes": {name: list(values) for name, values in full.spec.attributes.items()}},
                          source="bench")
    write_dataset(folder, spec, coco, expect_as_found=True)
    return "bench-12345"


def generate(folder: Path, count: int) -> None:
    """Pictures with a sky gradient and an ellipse, JPEG quality 90, one annotated balloon on every fifth."""
    rng = np.random.default_rng(12345)
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    sky = np.linspace(120, 230, SIZE, dtype=np.float32)[:, None, None] * np.array([0.6, 0.8, 1.0], np.float32)
    for index in range(count):
        noise = rng.normal(0, 6, size=(SIZE, SIZE, 3)).astype(np.float32)
        picture = Image.fromarray(np.clip(sky + noise, 0, 255).astype(np.uint8))
        x, y, w = (float(v) for v in rng.uniform([10, 10, 12], [180, 180, 70]))
        ImageDraw.Draw(picture).ellipse([x, y, x + w, y + w * 1.2], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        name = f"{index:05d}.jpg"
        picture.save(folder / "images" / name, quality=90)
        images.append({"id": index + 1, "file_name": name, "width": SIZE, "height": SIZE})
        if index % 5 == 0:
            box = [x, y, w, min(w * 1.2, SIZE - y)]
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1, "category_id": 1, "bbox": box})
    spec = spec_from_dict({"id": "bench-generated", "title": "bench pictures", "description": "bench",
                           "source": {"kind": "coco", "path": "generated"}, "classes": ["balloon"]}, source="bench")
    write_dataset(folder, spec, {"images": images, "annotations": annotations,
                                 "categories": [{"id": 1, "name": "balloon"}]}, expect_as_found=True)


def predecode(session: ModelSession, dataset: Dataset, batch: int) -> list[np.ndarray]:
    """Every picture decoded, preprocessed and stacked into input batches, before any timing."""
    preprocessor = Preprocessor(session.card.input)
    tensors = [preprocessor(open_image(dataset.image_path(row)))[0] for row in range(len(dataset.images))]
    return [np.stack(tensors[start:start + batch]) for start in range(0, len(tensors), batch)]


def bare_session(session: ModelSession, spinning: bool) -> ort.InferenceSession:
    """A plain onnxruntime session with the same provider and options (idle threads spinning or not)."""
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.intra_op_num_threads = session.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    providers = [session.provider] + ([] if session.provider == "CPUExecutionProvider" else ["CPUExecutionProvider"])
    return ort.InferenceSession(str(session.path), options, providers=providers)


def bare_loop(bare: ort.InferenceSession, session: ModelSession, batches: list[np.ndarray]) -> None:
    name = session.contract.input.name
    outputs = list(session.contract.output_names)
    for batch in batches:
        bare.run(outputs, {name: batch})


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(func: Any) -> Timing:
    start, cpu = time.perf_counter(), time.process_time()
    func()
    return Timing(time.perf_counter() - start, time.process_time() - cpu)


def cli_warm_run(args: argparse.Namespace, model: Path, dataset_id: str, datasets_root: Path, cache: Path,
                 work: Path) -> Timing:
    """``visionspec predict`` in a new process, cache warm: start-up, data set verification, cache load, JSON."""
    command = [sys.executable, "-m", "visionspec", "predict", "--model", str(model), "--dataset", dataset_id,
               "--out", str(work / "results.json"), "--datasets", str(datasets_root), "--device", args.device,
               "--batch", str(args.batch)]
    if args.card:
        command += ["--card", str(args.card)]
    environment = {**os.environ, "VISIONSPEC_CACHE": str(cache)}
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "from the prediction cache" not in done.stdout:
        sys.exit(f"bench_inference: the warm CLI run failed or computed:\n{done.stdout}{done.stderr}")
    return Timing(seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def report(timings: dict[str, list[Timing]], images: int, session: ModelSession, args: argparse.Namespace) -> None:
    best = {name: min(values, key=lambda timing: timing.wall) for name, values in timings.items()}
    bare = min(best["bare, spinning"].wall, best["bare, sleeping"].wall)
    bare_cpu = min(best["bare, spinning"].cpu, best["bare, sleeping"].cpu)
    header = ("run", "images/s", "best s", "median s", "CPU s", "vs bare", "CPU vs bare")
    rows = [header]
    for name, values in timings.items():
        compared = name.startswith(("bare", "pipeline", "cold"))
        rows.append((name, f"{images / best[name].wall:,.0f}", f"{best[name].wall:.2f}",
                     f"{statistics.median(timing.wall for timing in values):.2f}", f"{best[name].cpu:.2f}",
                     f"{bare / best[name].wall:.2f}" if compared else "",
                     f"{bare_cpu / best[name].cpu:.2f}" if compared else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
    ratio = bare / best["pipeline"].wall
    medians = {name: statistics.median(timing.wall for timing in values) for name, values in timings.items()}
    median_ratio = min(medians["bare, spinning"], medians["bare, sleeping"]) / medians["pipeline"]
    warm, warm_cli = best["warm cache"].wall, best["warm cache, CLI"].wall
    print(f"pipeline / bare = {ratio:.2f} best rounds, {median_ratio:.2f} median rounds, "
          f"{bare_cpu / best['pipeline'].cpu:.2f} CPU time (bar >= 0.85): {'met' if ratio >= 0.85 else 'MISSED'}; "
          f"warm-cache re-run {warm:.2f} s in process, {warm_cli:.2f} s as a new 'visionspec predict' process "
          f"(bar < 3 s): {'met' if warm_cli < 3 else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"images": images, "provider": session.provider, "pipeline_over_bare": ratio,
                                         "timings": {name: [vars(t) for t in values]
                                                     for name, values in timings.items()}}, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
