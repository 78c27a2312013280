"""bench/worker_gpu.py's issue-20 modes run on CPU at tiny sizes (the GPU command in
docs/BENCHMARKS.md runs the same functions at full size): the ragged mode's useful tokens/s with and
without compaction, and the profiler breakdown with the sampler's own ranges."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[3] / "bench" / "worker_gpu.py"


def load_bench():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("worker_gpu_bench", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_ragged_and_profile_modes_on_cpu() -> None:
    bench = load_bench()
    cpu = torch.device("cpu")
    ours, hf = bench.build_pair("base", cpu, torch.float32, smoke=True)
    r = bench.ragged_bench(ours, hf, 8, 4, 24, 6, cpu, equal_tok_s=1.0)
    ln = r["lengths"]
    assert 1 <= ln["min"] < ln["max"] <= 24  # ragged: the end ids stopped rows at different steps
    for k in ("compacted_tok_s", "plain_tok_s", "hf_tok_s"):
        assert r[k] > 0
    p = bench.profile_generate(ours, 2, 4, 4, cpu, 5)
    assert set(p["ranges"]) >= {"sampler.forward", "sampler.sample", "sampler.bookkeeping"}
    assert p["ranges"]["sampler.sample"]["count"] == 4 and p["ranges"]["sampler.forward"]["count"] == 3
    assert len(p["top"]) == 5 and p["top"][0]["self_ms"] >= p["top"][-1]["self_ms"]
