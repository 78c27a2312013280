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

Options for issue 21: `--parallel fsdp` (FSDP2 training, multigym_worker/fsdp.py), `--model
qwen2.5-{0.5b,3b,7b}-shape` (random weights of those shapes), `--gen-weak` (rows per rank, weak
scaling), `--skip-train` / `--skip-gen`; with R > 1 it also times the overlapped mode's weight
hand-over (multigym_worker/handover.py, rank 0 → the others) and reports each rank's peak memory.

Run (GPU host, 2 or more GPUs; on nvidia-h200-x2 set NCCL_NVLS_ENABLE=0
TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1):
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


#: Random-weight shapes of Qwen2.5 models (their config.json values; qwen2: q/k/v bias).
SHAPES = {
    "qwen2.5-0.5b-shape": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                               num_attention_heads=14, num_key_value_heads=2, tie_word_embeddings=True,
                               vocab_size=151936),
    "qwen2.5-3b-shape": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                             num_attention_heads=16, num_key_value_heads=2, tie_word_embeddings=True,
                             vocab_size=151936),
    "qwen2.5-7b-shape": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                             num_attention_heads=28, num_key_value_heads=4, tie_word_embeddings=False,
                             vocab_size=152064),
}  # fmt: skip


def build(name: str, device: torch.device, dtype: torch.dtype):  # noqa: ANN201
    """A built-in model, or a random-weight Qwen2.5 shape (`SHAPES`) with the built-in tokenizer
    (only its pad and EOS ids are used: the bench's token ids are random)."""
    from multigym_worker.model import CausalLM, ModelConfig
    from multigym_worker.models import load_model
    from multigym_worker.tokenizer import PolicyTokenizer

    if name not in SHAPES:
        model, tok, _ = load_model(name, device, dtype, 0)
        return model, tok
    s = SHAPES[name]
    cfg = ModelConfig(
        head_dim=s["hidden_size"] // s["num_attention_heads"], max_position_embeddings=32768,
        rope_theta=1e6, rms_norm_eps=1e-6, attention_bias=True, model_type="qwen2", **s,
    )  # fmt: skip
    with torch.device(device):
        model = CausalLM(cfg)
    model.init_weights(0)
    model.to(dtype=dtype).eval()
    model.inv_freq = model.inv_freq.float()
    return model, PolicyTokenizer.builtin()


def peak_gb(device: torch.device) -> float | None:
    """Peak allocated GPU memory of this rank since the last reset, GB."""
    return torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None


def child(args: argparse.Namespace) -> None:
    """One rank under torchrun: build, time, rank 0 prints `RESULT {json}`."""
    import torch.distributed as dist

    from multigym_worker.distributed import (
        DistributedSampler,
        DistributedTrainer,
        init_distributed,
    )
    from multigym_worker.handover import hand_over, weight_tensors
    from multigym_worker.optim import Schedule
    from multigym_worker.sampling import Sampler, SamplingParams
    from multigym_worker.trainer import OptimConfig, Trainer, TrainSeq

    ctx = init_distributed(args.device)
    dtype = torch.bfloat16 if ctx.device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    model, tok = build(args.model, ctx.device, dtype)
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
    if ctx.world_size == 1 and args.parallel == "ddp" and not args.skip_train:
        # the single-process trainer on the same model: DDP's own overhead
        plain = Trainer(model, tok.pad_id, OptimConfig(), Schedule())
        t_plain = timed(lambda: plain.train_step(seqs, hyper), ctx.device, args.reps)
        plain.opt = None
    if args.parallel == "fsdp":
        from multigym_worker.fsdp import FSDPTrainer

        trainer: Trainer = FSDPTrainer(model, tok.pad_id, OptimConfig(), Schedule(), ctx)
    else:
        trainer = DistributedTrainer(
            model, tok.pad_id, OptimConfig(), Schedule(), ctx, shard_optimizer=args.shard_optimizer
        )
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(ctx.device)
    t_train = None
    if not args.skip_train:
        t_train = timed(lambda: trainer.train_step(seqs, hyper), ctx.device, args.reps)
    train_peak = peak_gb(ctx.device)

    # FSDP's sharded checkpoint (DCP): every rank writes and reads its own slices of the fp32 weights
    # and AdamW moments (multigym_worker/fsdp.py save_train_state / load_train_state)
    t_dcp_save = t_dcp_load = dcp_gb = None
    if args.dcp and args.parallel == "fsdp" and not args.skip_train:
        from multigym_worker.fsdp import load_train_state, save_train_state

        where = Path(args.dcp) / f"world{ctx.world_size}"
        dist.barrier()
        t0 = time.perf_counter()
        save_train_state(trainer.model, trainer.opt, where)
        sync(ctx.device)
        dist.barrier()
        t_dcp_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_train_state(trainer.model, trainer.opt, where)
        sync(ctx.device)
        dist.barrier()
        t_dcp_load = time.perf_counter() - t0
        dcp_gb = sum(f.stat().st_size for f in where.rglob("*") if f.is_file()) / 1e9

    # the overlapped mode's hand-over: rank 0's weights to every other rank (bf16 replica)
    t_hand = None
    if ctx.world_size > 1:
        t_hand = timed(lambda: hand_over(model, 1, src=0), ctx.device, args.reps)
    nbytes = sum(t.numel() * t.element_size() for t in weight_tensors(model))  # a tied head once

    rows = args.gen_batch * (ctx.world_size if args.gen_weak else 1)
    sampler = DistributedSampler(Sampler(model, tok, max_batch=rows), ctx)
    prompts = torch.randint(16, vocab, (rows, prompt), generator=g).tolist()
    eos = set(tok.eos_ids)
    prompts = [[t for t in p if t not in eos] or [16] for p in prompts]
    params = SamplingParams(max_tokens=completion, temperature=1.0, seed=1)
    tok.eos_ids = [vocab + 1]  # never sampled: every row writes `completion` tokens
    new_tokens = [0]

    def generate() -> None:
        new_tokens[0] = sum(len(o.token_ids) for o in sampler.generate(prompts, params))

    t_gen = None if args.skip_gen else timed(generate, ctx.device, args.reps)
    peaks: list = [None] * ctx.world_size
    dist.all_gather_object(peaks, train_peak)
    if ctx.rank == 0:
        res = {
            "world": ctx.world_size,
            "device": torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu",
            "parallel": args.parallel,
            "parameters": sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()),
            "train_s": t_train,
            "train_tok_s": args.train_batch * (prompt + completion) / t_train if t_train else None,
            "train_peak_gb": peaks,
            "plain_train_tok_s": args.train_batch * (prompt + completion) / t_plain if t_plain else None,
            "gen_rows": rows,
            "gen_s": t_gen,
            "gen_new_tok_s": new_tokens[0] / t_gen if t_gen else None,
            "handover_s": t_hand,
            "handover_gb_s": nbytes / t_hand / 1e9 if t_hand else None,
            "dcp_save_s": t_dcp_save,
            "dcp_load_s": t_dcp_load,
            "dcp_gb": dcp_gb,
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
        f"model {args.model} ({base['parameters'] / 1e6:.0f}M parameters), {args.parallel}, device "
        f"{base['device']}, torch {torch.__version__}; GRPO step "
        f"{args.train_batch}x{args.prompt + args.completion} tokens, micro-batch {args.micro_batch}; "
        f"generate {args.gen_batch} rows{' per rank' if args.gen_weak else ''} x {args.completion} new tokens"
        + ("; AdamW moments sharded (ZeRO-1)" if args.shard_optimizer else "")
    )
    if base["plain_train_tok_s"]:
        print(f"1 process without DDP: GRPO step {base['plain_train_tok_s']:.0f} tok/s")
    for r in results:
        n = r["world"] / base["world"]
        parts = [f"{r['world']} rank(s):"]
        if r["train_s"]:
            r["train_efficiency"] = r["train_tok_s"] / (n * base["train_tok_s"])
            peak = ", ".join(f"{x:.1f}" for x in r["train_peak_gb"] if x is not None) or "-"
            parts.append(
                f"GRPO step {r['train_s']:.3f} s = {r['train_tok_s']:.0f} tok/s "
                f"(x{r['train_tok_s'] / base['train_tok_s']:.2f}, efficiency {r['train_efficiency']:.0%}; "
                f"peak GB per rank {peak});"
            )
        if r["gen_s"]:
            r["gen_efficiency"] = r["gen_new_tok_s"] / (n * base["gen_new_tok_s"])
            parts.append(
                f"generate {r['gen_rows']} rows {r['gen_s']:.3f} s = {r['gen_new_tok_s']:.0f} new tok/s "
                f"(x{r['gen_new_tok_s'] / base['gen_new_tok_s']:.2f}, efficiency {r['gen_efficiency']:.0%});"
            )
        if r["handover_s"]:
            parts.append(f"weight hand-over {r['handover_s'] * 1e3:.1f} ms ({r['handover_gb_s']:.1f} GB/s)")
        if r.get("dcp_save_s"):
            parts.append(f"DCP save {r['dcp_save_s']:.2f} s, load {r['dcp_load_s']:.2f} s ({r['dcp_gb']:.2f} GB)")
        print(" ".join(parts))
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
    shared.add_argument("--parallel", choices=("ddp", "fsdp"), default="ddp", help="training: DDP or FSDP2")
    shared.add_argument(
        "--gen-weak", action="store_true", help="weak scaling: --gen-batch rows per rank (R x rows in all)"
    )
    shared.add_argument("--skip-train", action="store_true", help="time generation only")
    shared.add_argument("--skip-gen", action="store_true", help="time the GRPO step only")
    shared.add_argument("--dcp", default=None, help="with --parallel fsdp: time a DCP save + load of the train state under DIR")
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
