#!/usr/bin/env bash
# GPU checks, run on a lent GPU machine from the repo root (see bench/RESULTS.md):
#   1. the CUDA tests (tests/integration/test_cuda.py: CPU vs CUDA numbers, bfloat16);
#   2. the benchmark on CUDA, fp32 and bf16, on Gemma 3 270M's architecture with random weights
#      (bench/random_gemma.py; the real weights are too big to send there).
# Needs: the Gemma config + tokenizer in .gpu/gemma-3-270m (carried), torch with CUDA, transformers.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false LOOKING_GLASS_CACHE=/tmp/lg
PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
$PY -m pytest -q -p no:cacheprovider -o addopts="" tests/integration/test_cuda.py 2>&1 | tee "$OUT/test_cuda.txt"
$PY bench/random_gemma.py .gpu/gemma-3-270m /tmp/lg
TEXT=assets/corpora/through_the_looking_glass.txt
# fp32: the full run; bf16: --quick (fewer tokens) to fit one lease
$PY bench/run.py --device cuda --dtype float32 --text "$TEXT" --no-cold-start --json > "$OUT/bench_cuda_float32.json" 2> "$OUT/bench_cuda_float32.err"
cat "$OUT/bench_cuda_float32.err"
$PY bench/run.py --device cuda --dtype bfloat16 --text "$TEXT" --quick --json > "$OUT/bench_cuda_bfloat16.json" 2> "$OUT/bench_cuda_bfloat16.err"
cat "$OUT/bench_cuda_bfloat16.err"
