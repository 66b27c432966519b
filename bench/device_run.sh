#!/usr/bin/env bash
# GPU checks, run once on a lent GPU machine from the repo root (results go to $OUT; see bench/RESULTS.md):
#   1. the CUDA tests (tests/integration/test_cuda.py: CPU vs CUDA numbers, bfloat16);
#   2. on Gemma 3 270M's architecture with random weights (bench/random_gemma.py; the real weights are too big
#      to send there): scan scaling (batch vs throughput, all layers in one pass vs 18 passes, the auto batch,
#      torch.compile on the bare forward and in the scan), patching grids + attribution + batched sweeps + peers,
#      component views, cached generation, lens.
# Needs: the Gemma config + tokenizer in .gpu/gemma-3-270m (carried), torch with CUDA, transformers.
# Each part has its own time limit, so one slow part cannot eat the lease.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false LOOKING_GLASS_CACHE=/tmp/lg PYTHONPATH=$PWD
PY=${PY:-python3}
PARTS=${PARTS:-test_cuda,scale,patching,components,live}  # a rerun may pick some
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
[[ ",$PARTS," == *",test_cuda,"* ]] && timeout 120 $PY -m pytest -q -p no:cacheprovider -o addopts="" tests/integration/test_cuda.py 2>&1 | tail -5 | tee "$OUT/test_cuda.txt"
$PY bench/random_gemma.py .gpu/gemma-3-270m /tmp/lg
part() {  # name, seconds, command...
  local name=$1 secs=$2; shift 2
  [[ ",$PARTS," == *",$name,"* ]] || return 0
  echo "== $name" | tee -a "$OUT/parts.txt"
  timeout "$secs" "$@" > "/tmp/$name.json" 2> "/tmp/$name.err"; echo "exit $?" | tee -a "$OUT/parts.txt"
  { echo "== $name"; cat "/tmp/$name.json"; } >> "$OUT/results.txt"   # few files come back: one for all parts
  tail -25 "/tmp/$name.err" >> "$OUT/parts.txt"
}
part scale ${SCALE_S:-200} $PY bench/scale_bench.py --device cuda --tokens 262144 --skip ${SCALE_SKIP:-workers} ${SCALE_ARGS:-} --json
part patching ${PATCHING_S:-90} $PY bench/patching_bench.py --device cuda --peer-limit 40 ${PATCHING_ARGS:-} --out "$OUT/patching_full.json"
part components 45 $PY bench/components_bench.py --device cuda --json
part live 60 $PY bench/live_bench.py --device cuda --only ${LIVE_ONLY:-generate,lens} --json
