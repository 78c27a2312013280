"""Data-parallel scaling of the policy worker: the same GRPO step (and the same generation request) on
1 and N GPUs, tokens/s and scaling efficiency side by side in one run.

The parent process starts `torchrun --standalone --nproc-per-node R` for each R of `--gpus`; every
rank builds the same model (`DistributedTrainer` + `DistributedSampler`, multigym_worker/distributed.py)
and rank 0 reports median wall times. Strong scaling: the global batch is the same for every R, so
efficiency = tokens/s(R) / (R · tokens/s(1)).

  * GRPO step: the batch of bench/worker_gpu.py's train step (random ids, prompt 128 + completion 256
    tokens, token-mean, no KL), `--train-batch` sequences, `--micro-batch` per rank and micro-batch;
  * generation: `--gen-batch` rows of 128-token prompts, 256 new tokens, temperature 1, no early stop.

Why generation scaled only 1.16–1.24× on two H200 (issue 21): not communication — each rank decodes its
block of rows with no collective until one gather at the end (counted in
policy/worker/tests/test_distributed_sampling.py). A decode step of the `base` model costs ≈ 1.57 ms
whatever the rows, plus ≈ 3.0 µs per row (docs/BENCHMARKS.md: 64 rows 1.76 ms/step, 256 rows
2.35 ms/step on one H200), so 128 rows per GPU take 1.96 ms against 2.35 ms for 256 on one: 1.20× at
best. The step is latency-bound (hundreds of tiny kernels), so splitting rows only divides the per-row
part. Details: docs/distributed-worker.md, "Sampling on several GPUs".

Run (GPU host, 2 or more GPUs):
    PYTHONPATH=policy/worker python3 bench/worker_multi_gpu.py --gpus 1,2
Dry run (CPU, gloo, tiny sizes):
    PYTHONPATH=policy/worker .venv/bin/python bench/worker_multi_gpu.py --gpus 1,2 --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, reps: int) -> float:
    """Median wall time of `reps` calls after one warm-up, seconds (every rank calls it in step)."""
    import torch.distributed as dist

    fn()
    sync(device)
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        fn()
        sync(device)
        dist.barrier()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def child(args: argparse.Namespace) -> None:
    """One rank under torchrun: build, time, rank 0 prints `RESULT {json}`."""
    from multigym_worker.distributed import (
        DistributedSampler,
        DistributedTrainer,
        init_distributed,
    )
    from multigym_worker.models import load_model
    from multigym_worker.optim import Schedule
    from multigym_worker.sampling import Sampler, SamplingParams
    from multigym_worker.trainer import OptimConfig, Trainer, TrainSeq

    ctx = init_distributed(args.device)
    dtype = torch.bfloat16 if ctx.device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    model, tok, _ = load_model(args.model, ctx.device, dtype, 0)
    prompt, completion = args.prompt, args.completion
    vocab = model.config.vocab_size

    g = torch.Generator().manual_seed(7)
    ids = torch.randint(16, vocab, (args.train_batch, prompt + completion), generator=g)
    adv = torch.randn(args.train_batch, generator=g)
    old = -torch.rand(args.train_batch, completion, generator=g) * 5
    seqs = [
        TrainSeq(ids[i, :prompt].tolist(), ids[i, prompt:].tolist(), old[i].tolist(), float(adv[i]))
        for i in range(args.train_batch)
    ]
    hyper = {
        "learning_rate": 1e-6,
        "clip_low": 0.2,
        "clip_high": 0.28,
        "kl_coef": 0.0,
        "loss_agg_mode": "token-mean",
        "micro_batch_size": args.micro_batch,
        "max_grad_norm": 1.0,
    }
    t_plain = None
    if ctx.world_size == 1:  # the single-process trainer on the same model: DDP's own overhead
        plain = Trainer(model, tok.pad_id, OptimConfig(), Schedule())
        t_plain = timed(lambda: plain.train_step(seqs, hyper), ctx.device, args.reps)
    trainer = DistributedTrainer(
        model, tok.pad_id, OptimConfig(), Schedule(), ctx, shard_optimizer=args.shard_optimizer
    )
    t_train = timed(lambda: trainer.train_step(seqs, hyper), ctx.device, args.reps)

    sampler = DistributedSampler(Sampler(model, tok, max_batch=args.gen_batch), ctx)
    prompts = torch.randint(16, vocab, (args.gen_batch, prompt), generator=g).tolist()
    eos = set(tok.eos_ids)
    prompts = [[t for t in p if t not in eos] or [16] for p in prompts]
    params = SamplingParams(max_tokens=completion, temperature=1.0, seed=1)
    tok.eos_ids = [vocab + 1]  # never sampled: every row writes `completion` tokens
    new_tokens = [0]

    def generate() -> None:
        new_tokens[0] = sum(len(o.token_ids) for o in sampler.generate(prompts, params))

    t_gen = timed(generate, ctx.device, args.reps)
    if ctx.rank == 0:
        res = {
            "world": ctx.world_size,
            "device": torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu",
            "train_s": t_train,
            "train_tok_s": args.train_batch * (prompt + completion) / t_train,
            "plain_train_tok_s": args.train_batch * (prompt + completion) / t_plain if t_plain else None,
            "gen_s": t_gen,
            "gen_new_tok_s": new_tokens[0] / t_gen,
        }
        print("RESULT " + json.dumps(res), flush=True)
    torch.distributed.destroy_process_group()


def parent(args: argparse.Namespace, rest: list[str]) -> None:
    """Runs torchrun once per world size and prints the comparison."""
    here = Path(__file__).resolve()
    env = {**os.environ}
    root = here.parent.parent / "policy" / "worker"
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if args.smoke:
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
        env.setdefault("OMP_NUM_THREADS", "1")
    results = []
    for world in [int(x) for x in args.gpus.split(",")]:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={world}"]
        cmd += [str(here), "--child", *rest]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
            raise SystemExit(f"torchrun with {world} ranks failed (exit {out.returncode})")
        results.append(json.loads(lines[-1].removeprefix("RESULT ")))
    base = results[0]
    print(
        f"model {args.model}, device {base['device']}, torch {torch.__version__}; GRPO step "
        f"{args.train_batch}x{args.prompt + args.completion} tokens, micro-batch {args.micro_batch}; "
        f"generate {args.gen_batch} rows x {args.completion} new tokens"
        + ("; AdamW moments sharded (ZeRO-1)" if args.shard_optimizer else "")
    )
    if base["plain_train_tok_s"]:
        print(f"1 process without DDP: GRPO step {base['plain_train_tok_s']:.0f} tok/s")
    for r in results:
        n = r["world"] / base["world"]
        r["train_efficiency"] = r["train_tok_s"] / (n * base["train_tok_s"])
        r["gen_efficiency"] = r["gen_new_tok_s"] / (n * base["gen_new_tok_s"])
        print(
            f"{r['world']} rank(s): GRPO step {r['train_s']:.3f} s = {r['train_tok_s']:.0f} tok/s "
            f"(x{r['train_tok_s'] / base['train_tok_s']:.2f}, efficiency {r['train_efficiency']:.0%}); "
            f"generate {r['gen_s']:.3f} s = {r['gen_new_tok_s']:.0f} new tok/s "
            f"(x{r['gen_new_tok_s'] / base['gen_new_tok_s']:.2f}, efficiency {r['gen_efficiency']:.0%})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpus", default="1,2", help="world sizes to compare; the first is the baseline")
    p.add_argument("--smoke", action="store_true", help="CPU + gloo, tiny model and sizes (a dry run)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="write the results here too")
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--model", default="base")
    shared.add_argument("--device", default="cuda")
    shared.add_argument("--train-batch", type=int, default=256)
    shared.add_argument("--micro-batch", type=int, default=16)
    shared.add_argument("--gen-batch", type=int, default=256)
    shared.add_argument("--prompt", type=int, default=128)
    shared.add_argument("--completion", type=int, default=256)
    shared.add_argument("--reps", type=int, default=3)
    shared.add_argument("--shard-optimizer", action="store_true", help="ZeRO-1 AdamW moments")
    args, rest = p.parse_known_args()
    if args.smoke and not args.child:
        smoke = ["--model", "tiny", "--device", "cpu", "--train-batch", "8", "--micro-batch", "2"]
        rest = [*smoke, "--gen-batch", "8", "--prompt", "16", "--completion", "8", "--reps", "1", *rest]
    known = shared.parse_args(rest)
    for k, v in vars(known).items():
        setattr(args, k, v)
    if args.child:
        child(args)
    else:
        parent(args, rest)


if __name__ == "__main__":
    main()
