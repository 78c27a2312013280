"""Chosen parts of bench/worker_gpu.py for one model, without the rest (for short device calls):
the profile breakdown at given batch sizes and ragged-length rows without HF `generate`. The equal-
length rate a ragged row is compared with comes from an earlier run (`--equal-rate B=TOK_S`). The JSON
is rewritten after every part, so a part cut off by a time limit keeps the earlier ones.

    PYTHONPATH=policy/worker python3 bench/worker_gpu_parts.py --model qwen2.5-0.5b-shape \
        --parts profile:64,profile:256,ragged:256 --equal-rate 256=47353 --json out.json
Smoke test (CPU, tiny model): add --smoke.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import worker_gpu as wg


def main() -> None:
    """Builds the model once and runs each `--parts` entry in order."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="qwen2.5-0.5b-shape")
    p.add_argument("--parts", required=True, help="comma-separated profile:BATCH and ragged:BATCH")
    p.add_argument("--equal-rate", default="", help="comma-separated BATCH=TOK_S, the equal-length rates")
    p.add_argument("--ragged-max", type=int, default=1024)
    p.add_argument("--ragged-mean", type=int, default=256)
    p.add_argument("--profile-tokens", type=int, default=64)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    device = torch.device("cpu" if args.smoke else "cuda")
    dtype = torch.float32 if args.smoke else torch.bfloat16
    prompt = 16 if args.smoke else 128
    longest, mean_len = (48, 12) if args.smoke else (args.ragged_max, args.ragged_mean)
    tokens = 8 if args.smoke else args.profile_tokens
    equal = {int(k): float(v) for k, v in (x.split("=") for x in args.equal_rate.split(",") if x)}
    t0 = time.perf_counter()
    ours, hf = wg.build_pair(args.model, device, dtype, args.smoke)
    out: dict = {"model": args.model, "build_s": time.perf_counter() - t0, "profile": [], "ragged": []}
    print(f"[{args.model}] built in {out['build_s']:.1f} s", flush=True)
    for part in args.parts.split(","):
        kind, b = part.split(":")
        batch = int(b)
        t0 = time.perf_counter()
        if kind == "profile":
            r = wg.profile_generate(ours, batch, prompt, tokens, device, 25)
            out["profile"].append(r)
            print(f"[{args.model}] profile batch {batch}, {tokens} new tokens: {r['ms_per_step']:.2f} ms/step under the profiler; launches {r['launches']}; host syncs {r['host_syncs']}")
            for k, v in r["ranges"].items():
                print(f"    {k:22s} x{v['count']:<5d} cpu {v['cpu_ms']:9.2f} ms  device {v['device_ms']:9.2f} ms")
            for e in r["top"]:
                print(f"    {e['self_ms']:9.2f} ms {e['share']:6.1%} x{e['count']:<6d} {e['name'][:90]}")
        elif kind == "ragged":
            r = wg.ragged_bench(ours, hf, batch, prompt, longest, mean_len, device, equal.get(batch, float("nan")), False)
            out["ragged"].append(r)
            ln = r["lengths"]
            print(
                f"[{args.model}] ragged batch {batch} (lengths min {ln['min']} p50 {ln['p50']} p90 {ln['p90']} max {ln['max']} mean {ln['mean']:.0f}, {ln['at_max_tokens']} at {longest}): useful tok/s compacted {r['compacted_tok_s']:.0f}, uncompacted {r['plain_tok_s']:.0f} ({r['compacted_vs_plain']:.2f}x); equal-length rate {r['equal_length_tok_s']:.0f} ({r['compacted_vs_equal']:.2f}x)"
            )
        else:
            raise SystemExit(f"--parts: unknown {kind!r} (profile, ragged)")
        print(f"[{args.model}] {part} took {time.perf_counter() - t0:.1f} s", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
