#!/usr/bin/env bash
# GPU check of the paper profile, on a CUDA machine, in under 10 minutes:
#   1. every paper model for a few training steps at its paper input size and its
#      micro-batch, with AMP: peak GPU memory and samples per second (models.csv);
#   2. a 1-GPU torchrun training end to end on the tiny profile's generated benchmark,
#      crop cache built on the GPU (train.csv).
# Figures go to the folder given as the first argument (default gpu_check_<time>), with
# nvidia-smi's and torch's view of the machine. Exits 2 at once without CUDA.
#
#   benchmarks/gpu_check.sh [OUT_DIR]        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${1:-gpu_check_$(date -u +%Y%m%dT%H%M%SZ)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device is visible to PyTorch; this check needs a GPU machine." >&2
    exit 2
fi
mkdir -p "$OUT"
{ nvidia-smi || true; "$PYTHON" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())"; } > "$OUT/machine.txt" 2>&1
started=$(date +%s)
timeout 360 "$PYTHON" benchmarks/gpu_check.py models --out "$OUT" --steps 5 2>&1 | tee "$OUT/models.log"
timeout 210 "$PYTHON" benchmarks/gpu_check.py train --out "$OUT" 2>&1 | tee "$OUT/train.log"
echo "gpu_check: $(( $(date +%s) - started )) s; figures in $OUT/models.csv and $OUT/train.csv" | tee "$OUT/summary.txt"
