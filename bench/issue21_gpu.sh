#!/usr/bin/env bash
# One nvidia-h200-x2 device call: issue 21's two-GPU measurements (FSDP2 GRPO step on 1 vs 2 GPUs
# with a DCP save/load of the sharded state, the weight hand-over, DDP train + sampling on the `base`
# model), then what the issue-20 call (bench/issue20_gpu.sh) ran out of time for, on GPU 0 alone:
# the Qwen2.5-0.5B shape's profile after and before (a322fa7 in .before20/, carried) and its ragged
# batch of 256. One log ($OUT/all.log) and one JSON per part (the device tool returns 8 files).
#   device run (carry .before20): bash bench/issue21_gpu.sh
#   CPU dry run: EXTRA21=--smoke EXTRA=--smoke OUT=/tmp/i21 PATH=/tmp/py:$PATH bash bench/issue21_gpu.sh
#     (/tmp/py/python3 a wrapper that runs the venv's python, as in bench/issue20_gpu.sh)
set -u
OUT=${OUT:-/tmp/issue21}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
EXTRA=${EXTRA:-}
EXTRA21=${EXTRA21:-}
M=bench/worker_multi_gpu.py
P=bench/worker_gpu_parts.py
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nvidia-smi topo -m
  python3 -c 'import torch; print("torch", torch.__version__, "gpus", torch.cuda.device_count())'
} 2>&1 | tee -a "$OUT/all.log"
run() {  # run LIMIT NAME ARGS...: one bench invocation, its output appended to $OUT/all.log
  local limit=$1 name=$2
  shift 2
  local t0=$SECONDS
  echo "=== $name (limit ${limit}s): $*" | tee -a "$OUT/all.log"
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT/all.log"
  echo "=== $name: exit ${PIPESTATUS[0]}, $((SECONDS - t0)) s" | tee -a "$OUT/all.log"
}
run 110 fsdp-qwen05 env PYTHONPATH=policy/worker python3 $M --gpus 1,2 --model qwen2.5-0.5b-shape \
  --skip-gen --train-batch 64 --micro-batch 8 --parallel fsdp --dcp /tmp/dcp21 --json "$OUT/fsdp-qwen05.json" $EXTRA21
rm -rf /tmp/dcp21
run 100 ddp-base env PYTHONPATH=policy/worker python3 $M --gpus 1,2 --json "$OUT/ddp-base.json" $EXTRA21
run 90 after-qwen-rest env CUDA_VISIBLE_DEVICES=0 PYTHONPATH=policy/worker python3 $P --model qwen2.5-0.5b-shape \
  --parts profile:64,profile:256,ragged:256 --equal-rate 256=47353 --json "$OUT/after-qwen-rest.json" $EXTRA
run 50 before-qwen-rest env CUDA_VISIBLE_DEVICES=0 PYTHONPATH=.before20/policy/worker python3 $P \
  --model qwen2.5-0.5b-shape --parts profile:64,profile:256 --json "$OUT/before-qwen-rest.json" $EXTRA
