#!/usr/bin/env bash
# The inference benchmark (bench/bench_inference.py) with the CUDA provider, on a machine with an NVIDIA GPU.
#
#   bash bench/gpu.sh                       # the bench model on generated pictures (or 12345 if built)
#   MODEL=models/balloon-detector/checkpoints/epoch-05.onnx bash bench/gpu.sh
#
# Settings (environment): VENV (default .venv, made by `make test`), MODEL, IMAGES (default 2000), BATCH
# (default 64), WORKERS (decoding threads, default: every core), ROUNDS (default 3), OUT (folder for the JSON
# figures, default bench/out).
#
# It fails loudly (exit 2 from the benchmark, or exit 1 here) unless onnxruntime really ran on CUDA: the
# runtime's --device cuda refuses to fall back to CPU, and the recorded provider is checked again below.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON="$VENV/bin/python"
IMAGES=${IMAGES:-2000}
BATCH=${BATCH:-64}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-$(nproc)}
OUT=${OUT:-bench/out}

if [[ ! -x "$PYTHON" ]]; then
    echo "gpu.sh: no Python at $PYTHON: create the environment first (make test), or set VENV" >&2
    exit 1
fi
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu.sh: nvidia-smi not found: this machine has no NVIDIA driver, so CUDA cannot run here" >&2
    exit 1
fi
mkdir -p "$OUT"
echo "== GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c 'import onnxruntime as o; print("onnxruntime", o.__version__, "providers:", ", ".join(o.get_available_providers()))'

model_args=()
if [[ -n "${MODEL:-}" ]]; then
    model_args=(--model "$MODEL")
fi

echo "== CUDA: the predict pipeline against a bare onnxruntime loop, then the cache warm"
"$PYTHON" bench/bench_inference.py --device cuda "${model_args[@]}" --images "$IMAGES" --batch "$BATCH" \
    --workers "$WORKERS" --rounds "$ROUNDS" --json "$OUT/gpu-cuda.json"

echo "== CPU, same pictures and model, for comparison"
"$PYTHON" bench/bench_inference.py --device cpu "${model_args[@]}" --images "$IMAGES" --batch "$BATCH" \
    --workers "$WORKERS" --rounds 1 --json "$OUT/gpu-cpu.json"

"$PYTHON" - "$OUT/gpu-cuda.json" "$OUT/gpu-cpu.json" <<'EOF'
import json
import sys

cuda, cpu = (json.load(open(path, encoding="utf-8")) for path in sys.argv[1:3])
if cuda["provider"] != "CUDAExecutionProvider":
    sys.exit(f"gpu.sh: the CUDA run used {cuda['provider']}, not CUDAExecutionProvider")


def best(figures, name):
    return min(timing["wall"] for timing in figures["timings"][name])


def bare(figures):
    return min(best(figures, "bare, spinning"), best(figures, "bare, sleeping"))


images = cuda["images"]
print("== summary (images/s, best round)")
print(f"{'provider':<22}{'bare loop':>12}{'pipeline':>12}{'ratio':>8}{'warm CLI s':>12}")
for label, figures in (("CUDAExecutionProvider", cuda), ("CPUExecutionProvider", cpu)):
    print(f"{label:<22}{images / bare(figures):>12,.0f}{images / best(figures, 'pipeline'):>12,.0f}"
          f"{bare(figures) / best(figures, 'pipeline'):>8.2f}{best(figures, 'warm cache, CLI'):>12.2f}")
EOF
