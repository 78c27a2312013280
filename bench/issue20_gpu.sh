#!/usr/bin/env bash
# Issue 20's H200 measurements in one device call (nvidia-h200): the sampler after the issue's
# changes (equal-length vs HF generate, ragged with compaction on/off, profile, CUDA-graph check) on
# the Qwen2.5-0.5B, base and SmolLM2-135M shapes, and the sampler before them (commit a322fa7,
# extracted into .before20/, carried) on the Qwen2.5-0.5B shape. Each part has its own time limit;
# one log ($OUT/all.log) and one JSON per part go to $OUT (the device tool returns at most 8 files).
#   mkdir -p .before20 && git archive a322fa7 policy/worker/multigym_worker | tar -x -C .before20
#   device run (carry .before20): bash bench/issue20_gpu.sh
#   CPU dry run (python3 = the venv): printf '#!/bin/sh\nexec %s "$@"\n' "$PWD/.venv/bin/python" >/tmp/py/python3; \
#     PATH=/tmp/py:$PATH EXTRA=--smoke OUT=/tmp/i20 bash bench/issue20_gpu.sh
set -u
OUT=${OUT:-/tmp/issue20}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
B=bench/worker_gpu.py
# EXTRA=--smoke runs every part on the CPU with tiny sizes (a dry run of this script)
EXTRA=${EXTRA:-}
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
} 2>&1 | tee -a "$OUT/all.log"
run() {  # run LIMIT NAME ARGS...: one bench invocation, its output appended to $OUT/all.log
  local limit=$1 name=$2
  shift 2
  local t0=$SECONDS
  echo "=== $name (limit ${limit}s): $*" | tee -a "$OUT/all.log"
  timeout "$limit" "$@" $EXTRA 2>&1 | tee -a "$OUT/all.log"
  echo "=== $name: exit ${PIPESTATUS[0]}, $((SECONDS - t0)) s" | tee -a "$OUT/all.log"
}
run 150 after-qwen env PYTHONPATH=policy/worker python3 $B --models qwen2.5-0.5b-shape --skip-train \
  --ragged --no-hf-ragged --profile --json "$OUT/after-qwen.json"
run 75 before-qwen env PYTHONPATH=.before20/policy/worker python3 $B --models qwen2.5-0.5b-shape \
  --skip-train --profile --json "$OUT/before-qwen.json"
run 60 after-base env PYTHONPATH=policy/worker python3 $B --models base --skip-train --ragged \
  --no-hf-ragged --profile --json "$OUT/after-base.json"
run 70 after-smollm2 env PYTHONPATH=policy/worker python3 $B --models smollm2-135m-shape --skip-train \
  --ragged --no-hf-ragged --profile --json "$OUT/after-smollm2.json"
