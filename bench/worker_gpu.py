"""GPU benchmark of the policy worker against plain Hugging Face loops, measured side by side.

For the built-in `base` model (≈125M) and a randomly initialised model shaped like Qwen2.5-0.5B:
  (a) generation tokens/s of the worker's sampler (static KV cache + CUDA graphs) against
      `transformers` `generate` (sampling, temperature 1, 128-token prompts, 256 new tokens, no early
      stop) at batch 64 and 256, on the same weights;
  (b) a GRPO training step's tokens/s (the worker's `Trainer.train_step`: fp32 master weights, fused
      AdamW) against a plain Hugging Face loop (bf16 model forward → log-softmax over the full
      sequence → clipped surrogate → backward → AdamW) on the same batch and micro-batch size, with
      MFU against the bf16 matmul rate measured in the same run.

  (c) with --ragged, the same on ragged lengths (issue 20): end-of-sequence ids are a set of
      vocabulary ids drawn by the random model at every step, so lengths spread geometrically up to
      --ragged-max (1,024) with a long tail; useful tokens/s (tokens of the samples, none after
      their end) of the sampler with and without compaction, beside its equal-length rate and HF
      `generate` with the same end ids;
  (d) with --profile, a torch.profiler breakdown of one equal-length generate call: kernels by
      device time, kernel and graph launches, host syncs, and the sampler's own ranges
      (sampler.forward / sample / bookkeeping / compact).

Run (GPU):  PYTHONPATH=policy/worker python3 bench/worker_gpu.py
Issue 20 (GPU): PYTHONPATH=policy/worker python3 bench/worker_gpu.py \
    --models base,qwen2.5-0.5b-shape,smollm2-135m-shape --skip-train --ragged --profile --json gen.json
Smoke test (CPU, tiny sizes):  PYTHONPATH=policy/worker .venv/bin/python bench/worker_gpu.py --smoke
    (add --ragged --profile --skip-train for the issue-20 modes)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import transformers
from multigym_worker.model import CausalLM, ModelConfig
from multigym_worker.models import BUILTINS, config_from_hf, load_weights
from multigym_worker.optim import Schedule
from multigym_worker.sampling import Sampler, SamplingParams
from multigym_worker.tokenizer import PolicyTokenizer
from multigym_worker.trainer import OptimConfig, Trainer, TrainSeq

QWEN05B = {
    "vocab_size": 151936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1e6,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}


SMOLLM2_135M = {
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "max_position_embeddings": 8192,
    "rope_theta": 100000.0,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": True,
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, reps: int) -> float:
    """Median wall time of `reps` calls after one warm-up, seconds."""
    fn()
    sync(device)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_tflops(device: torch.device, n: int) -> float:
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    t = timed(lambda: [a @ b for _ in range(10)], device, 3) / 10
    return 2 * n**3 / t / 1e12


def build_pair(name: str, device: torch.device, dtype: torch.dtype, smoke: bool):
    """(our CausalLM, HF model) with identical weights."""
    if name == "base" or smoke:
        cfg: ModelConfig = BUILTINS["tiny" if smoke else "base"]
        ours = CausalLM(cfg)
        ours.init_weights(0)
        hf_cfg = transformers.LlamaConfig(
            vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
            num_key_value_heads=cfg.num_key_value_heads, head_dim=cfg.head_dim,
            max_position_embeddings=cfg.max_position_embeddings, rope_theta=cfg.rope_theta,
            rms_norm_eps=cfg.rms_norm_eps, tie_word_embeddings=True,
        )  # fmt: skip
        hf = transformers.LlamaForCausalLM(hf_cfg)
        hf.load_state_dict(ours.state_dict(), strict=False)
    elif name == "smollm2-135m-shape":
        torch.manual_seed(0)
        hf_cfg = transformers.LlamaConfig(**SMOLLM2_135M)
        hf = transformers.LlamaForCausalLM(hf_cfg)
        raw = hf_cfg.to_dict() | {"model_type": "llama"}
        ours = CausalLM(config_from_hf(raw))
        load_weights(ours, hf.state_dict())
    elif name == "qwen2.5-0.5b-shape":
        torch.manual_seed(0)
        hf_cfg = transformers.Qwen2Config(**QWEN05B)
        hf = transformers.Qwen2ForCausalLM(hf_cfg)
        raw = hf_cfg.to_dict() | {"model_type": "qwen2"}
        ours = CausalLM(config_from_hf(raw))
        load_weights(ours, hf.state_dict())
    else:
        raise SystemExit(f"--models: unknown {name!r} (base, qwen2.5-0.5b-shape, smollm2-135m-shape)")
    hf.config._attn_implementation = "sdpa"
    ours.to(device=device, dtype=dtype).eval()
    ours.inv_freq = ours.inv_freq.float()
    hf.to(device=device, dtype=dtype).eval()
    return ours, hf


def gen_bench(
    ours: CausalLM, hf, batch: int, prompt: int, new: int, device: torch.device
) -> dict:
    vocab = ours.config.vocab_size
    g = torch.Generator().manual_seed(batch)
    prompts = torch.randint(16, vocab, (batch, prompt), generator=g)
    tok = PolicyTokenizer.builtin()
    tok.eos_ids = []  # never stop early: both sides generate exactly `new` tokens
    sampler = Sampler(ours, tok, max_batch=batch)
    params = SamplingParams(max_tokens=new, temperature=1.0, seed=0)
    rows = prompts.tolist()
    counted = {}

    def run_ours() -> None:
        out = sampler.generate(rows, params)
        counted["ours"] = sum(len(o.token_ids) for o in out)

    t_ours = timed(run_ours, device, 3)
    ids = prompts.to(device)
    mask = torch.ones_like(ids)
    gc = transformers.GenerationConfig(
        do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=new, min_new_tokens=new,
        eos_token_id=1, pad_token_id=2,
    )  # fmt: skip

    def run_hf() -> None:
        with torch.no_grad():
            out = hf.generate(input_ids=ids, attention_mask=mask, generation_config=gc)
        counted["hf"] = int(out.shape[0] * (out.shape[1] - prompt))

    t_hf = timed(run_hf, device, 1)
    ours_tps, hf_tps = counted["ours"] / t_ours, counted["hf"] / t_hf
    return {
        "batch": batch,
        "ours_tok_s": ours_tps,
        "hf_tok_s": hf_tps,
        "speedup": ours_tps / hf_tps,
    }


def end_ids(vocab: int, mean_len: int) -> list[int]:
    """vocab / mean_len ids spread over the vocabulary (a random model draws one of them with a
    probability of about 1 / mean_len per step: geometric lengths of that mean)."""
    m = max(1, vocab // mean_len)
    return list(range(16, vocab, max(1, (vocab - 16) // m)))[:m]


def ragged_bench(
    ours: CausalLM, hf, batch: int, prompt: int, longest: int, mean_len: int, device: torch.device,
    equal_tok_s: float, with_hf: bool = True,
) -> dict:
    """Useful tokens/s on ragged lengths: the sampler with and without compaction and HF `generate`,
    the same prompts and end ids; lengths summarised from the compacted run (the uncompacted one
    samples the same tokens up to batch-size rounding)."""
    vocab = ours.config.vocab_size
    g = torch.Generator().manual_seed(batch + 1)
    rows = torch.randint(16, vocab, (batch, prompt), generator=g).tolist()
    tok = PolicyTokenizer.builtin()
    tok.eos_ids = end_ids(vocab, mean_len)
    params = SamplingParams(max_tokens=longest, temperature=1.0, seed=0)
    res: dict = {"batch": batch, "max_tokens": longest, "end_ids": len(tok.eos_ids)}
    lengths: dict[str, list[int]] = {}
    for label, compaction in (("plain", False), ("compacted", True)):
        sampler = Sampler(ours, tok, max_batch=batch, compaction=compaction)

        def run(sampler: Sampler = sampler, label: str = label) -> None:
            lengths[label] = [len(o.token_ids) for o in sampler.generate(rows, params)]

        t = timed(run, device, 2)
        res[f"{label}_tok_s"] = sum(lengths[label]) / t
        del sampler
    ls = sorted(lengths["compacted"])
    res["lengths"] = {
        "min": ls[0], "p50": ls[len(ls) // 2], "p90": ls[int(len(ls) * 0.9)], "max": ls[-1],
        "mean": sum(ls) / len(ls), "at_max_tokens": sum(x == longest for x in ls),
    }  # fmt: skip
    res["equal_length_tok_s"] = equal_tok_s
    res["compacted_vs_equal"] = res["compacted_tok_s"] / equal_tok_s
    res["compacted_vs_plain"] = res["compacted_tok_s"] / res["plain_tok_s"]
    if not with_hf:
        return res
    ids = torch.tensor(rows, device=device)
    gc = transformers.GenerationConfig(
        do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=longest,
        eos_token_id=tok.eos_ids, pad_token_id=tok.eos_ids[0],
    )  # fmt: skip
    counted = {}

    def run_hf() -> None:
        with torch.no_grad():
            out = hf.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gc)
        new = out[:, prompt:]
        useful = 0
        end = set(tok.eos_ids)
        for r in new.tolist():  # up to and including the first end id
            ends = [i for i, t in enumerate(r) if t in end]
            useful += ends[0] + 1 if ends else len(r)
        counted["hf"] = useful

    t_hf = timed(run_hf, device, 1)
    res["hf_tok_s"] = counted["hf"] / t_hf
    res["compacted_vs_hf"] = res["compacted_tok_s"] / res["hf_tok_s"]
    return res


def profile_generate(ours: CausalLM, batch: int, prompt: int, new: int, device: torch.device, top: int) -> dict:
    """torch.profiler over one equal-length generate call (after a warm-up): the `top` kernels /
    operators by self device time (CPU time on CPU), launches, host syncs and the sampler's ranges."""
    from torch.profiler import ProfilerActivity, profile

    g = torch.Generator().manual_seed(batch)
    rows = torch.randint(16, ours.config.vocab_size, (batch, prompt), generator=g).tolist()
    tok = PolicyTokenizer.builtin()
    tok.eos_ids = []
    sampler = Sampler(ours, tok, max_batch=batch)
    params = SamplingParams(max_tokens=new, temperature=1.0, seed=0)
    sampler.generate(rows, params)
    sync(device)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        sampler.generate(rows, params)
        sync(device)
    wall = time.perf_counter() - t0  # with the profiler's own overhead
    cuda = device.type == "cuda"
    events = prof.key_averages()

    def dev_us(e) -> float:
        return float(getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0.0)))

    def tot_dev_us(e) -> float:
        return float(getattr(e, "device_time_total", getattr(e, "cuda_time_total", 0.0)))

    by = {e.key: e for e in events}
    launches = {k: by[k].count for k in ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cudaGraphLaunch") if k in by}
    syncs = {
        k: by[k].count
        for k in ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "aten::_local_scalar_dense", "aten::item")
        if k in by
    }
    ranges = {
        k: {"count": by[k].count, "cpu_ms": by[k].cpu_time_total / 1e3, "device_ms": tot_dev_us(by[k]) / 1e3}
        for k in ("sampler.forward", "sampler.sample", "sampler.bookkeeping", "sampler.compact")
        if k in by
    }
    key = dev_us if cuda else (lambda e: float(e.self_cpu_time_total))
    ranked = sorted((e for e in events if not e.key.startswith("sampler.")), key=key, reverse=True)[:top]
    total = sum(key(e) for e in events if not e.key.startswith("sampler."))
    return {
        "batch": batch, "new_tokens": new, "wall_ms": wall * 1e3, "ms_per_step": wall * 1e3 / new,
        "launches": launches, "host_syncs": syncs, "ranges": ranges,
        "top": [{"name": e.key, "count": e.count, "self_ms": key(e) / 1e3, "share": key(e) / max(total, 1.0)} for e in ranked],
    }  # fmt: skip


def graph_check(ours: CausalLM, device: torch.device) -> dict:
    """Same seed with and without CUDA graphs gives the same tokens; sampled log-probs match a
    teacher-forced forward pass (in the model's dtype)."""
    tok = PolicyTokenizer.builtin()
    tok.eos_ids = []
    g = torch.Generator().manual_seed(3)
    rows = [
        torch.randint(16, ours.config.vocab_size, (int(n),), generator=g).tolist()
        for n in (20, 33, 47, 64)
    ]
    params = SamplingParams(max_tokens=40, temperature=1.0, seed=5)
    eager = Sampler(ours, tok, cuda_graphs=False).generate(rows, params)
    graph = Sampler(ours, tok, cuda_graphs=True).generate(rows, params)
    same = sum(a.token_ids == b.token_ids for a, b in zip(eager, graph, strict=True))
    worst = 0.0
    for r, o in zip(rows, graph, strict=True):
        ids = torch.tensor([r + o.token_ids], device=device)
        with torch.no_grad():
            lp = ours.logits(ours(ids)).float().log_softmax(-1)[0, len(r) - 1 : -1]
        tf = (
            lp.gather(-1, torch.tensor(o.token_ids, device=device)[:, None])
            .squeeze(-1)
            .cpu()
        )
        worst = max(worst, float((tf - torch.tensor(o.logprobs)).abs().max()))
    identical = f"{same}/{len(rows)}"
    # ragged: end ids stop rows at varied steps, so the batch compacts through its buckets; the
    # graphs of the smaller buckets must sample what eager steps at the same bucket sizes sample
    tok.eos_ids = end_ids(ours.config.vocab_size, 12)
    rows = [torch.randint(16, ours.config.vocab_size, (int(n),), generator=g).tolist() for n in range(8, 40)]
    eager = Sampler(ours, tok, cuda_graphs=False).generate(rows, params)
    graph = Sampler(ours, tok, cuda_graphs=True).generate(rows, params)
    ragged_same = sum(a.token_ids == b.token_ids for a, b in zip(eager, graph, strict=True))
    lengths = sorted(len(o.token_ids) for o in graph)
    return {
        "identical_rows": identical,
        "max_logprob_diff_vs_teacher_forced": worst,
        "ragged_identical_rows": f"{ragged_same}/{len(rows)}",
        "ragged_lengths": f"{lengths[0]}..{lengths[-1]}",
    }


def train_flops(cfg: ModelConfig, batch: int, prompt: int, completion: int) -> float:
    """Model FLOPs of one forward+backward (6·N·tokens for the weight matmuls, the LM head on completion
    tokens only, plus causal attention 6·L·d_attn·T² per sequence: QKᵀ and AV, ×3 for backward, ÷2
    for the causal half)."""
    d, L = cfg.hidden_size, cfg.num_hidden_layers
    attn_out = cfg.num_attention_heads * cfg.head_dim
    kv = cfg.num_key_value_heads * cfg.head_dim
    per_layer = d * (attn_out + 2 * kv) + attn_out * d + 3 * d * cfg.intermediate_size
    t = prompt + completion
    dense = 6 * L * per_layer * batch * t
    head = 6 * d * cfg.vocab_size * batch * completion
    attention = 6 * L * attn_out * t * t * batch
    return float(dense + head + attention)


def train_bench(
    ours: CausalLM,
    hf,
    batch: int,
    prompt: int,
    completion: int,
    mb: int,
    device: torch.device,
    peak: float,
    compile: bool,
) -> dict:
    vocab = ours.config.vocab_size
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(16, vocab, (batch, prompt + completion), generator=g)
    adv = torch.randn(batch, generator=g)
    old = -torch.rand(batch, completion, generator=g) * 5
    seqs = [
        TrainSeq(
            ids[i, :prompt].tolist(),
            ids[i, prompt:].tolist(),
            old[i].tolist(),
            float(adv[i]),
        )
        for i in range(batch)
    ]
    trainer = Trainer(ours, 0, OptimConfig(), Schedule(), compile=compile)
    hyper = {
        "learning_rate": 1e-6,
        "clip_low": 0.2,
        "clip_high": 0.28,
        "kl_coef": 0.0,
        "loss_agg_mode": "token-mean",
        "micro_batch_size": mb,
        "max_grad_norm": 1.0,
    }
    t_ours = timed(lambda: trainer.train_step(seqs, hyper), device, 3)

    hf.train()
    opt = torch.optim.AdamW(hf.parameters(), lr=1e-6)
    ids_d, adv_d, old_d = ids.to(device), adv.to(device), old.to(device)

    def hf_step() -> None:
        for i in range(0, batch, mb):
            logits = hf(input_ids=ids_d[i : i + mb]).logits.float()
            logp = torch.log_softmax(logits[:, prompt - 1 : -1], -1)
            logp = logp.gather(-1, ids_d[i : i + mb, prompt:, None]).squeeze(-1)
            ratio = torch.exp(logp - old_d[i : i + mb])
            a = adv_d[i : i + mb, None]
            loss = -torch.minimum(ratio * a, ratio.clamp(0.8, 1.28) * a).sum() / (
                batch * completion
            )
            loss.backward()
        torch.nn.utils.clip_grad_norm_(hf.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    t_hf = timed(hf_step, device, 3)
    hf.eval()
    flops = train_flops(ours.config, batch, prompt, completion)
    tokens = batch * (prompt + completion)
    return {
        "ours_tok_s": tokens / t_ours, "hf_tok_s": tokens / t_hf, "speedup": t_hf / t_ours,
        "ours_mfu": flops / t_ours / 1e12 / peak, "hf_mfu": flops / t_hf / 1e12 / peak,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="CPU, tiny model, small sizes: checks the code paths",
    )
    p.add_argument("--models", default="base,qwen2.5-0.5b-shape")
    p.add_argument("--batches", default=None, help="generation batch sizes (default 64,256; 4 with --smoke)")
    p.add_argument("--new-tokens", type=int, default=None, help="equal-length new tokens (256; 8 with --smoke)")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--micro-batch", type=int, default=16)
    p.add_argument(
        "--compile",
        default="",
        help="comma-separated models whose trainer is also timed with torch.compile",
    )
    p.add_argument("--skip-generate", action="store_true", help="time training only")
    p.add_argument("--skip-train", action="store_true", help="time generation only")
    p.add_argument("--ragged", action="store_true", help="also time ragged lengths (issue 20)")
    p.add_argument("--ragged-max", type=int, default=None, help="ragged mode's max_tokens (1024; 48 with --smoke)")
    p.add_argument("--ragged-mean", type=int, default=None, help="ragged mean length, sets the end-id count (256; 12)")
    p.add_argument(
        "--no-hf-ragged", action="store_true", help="ragged mode without HF generate (its 1,024-step calls dominate the time)"
    )
    p.add_argument("--profile", action="store_true", help="torch.profiler breakdown of a generate call")
    p.add_argument("--profile-tokens", type=int, default=64, help="new tokens of the profiled call")
    p.add_argument("--json", default=None, help="write the results here too")
    args = p.parse_args()
    smoke = args.smoke
    device = torch.device("cpu" if smoke else "cuda")
    dtype = torch.float32 if smoke else torch.bfloat16
    prompt, new = (16, 8) if smoke else (128, 256)
    new = args.new_tokens or new
    ragged_max = args.ragged_max or (48 if smoke else 1024)
    ragged_mean = args.ragged_mean or (12 if smoke else 256)
    profile_tokens = 8 if smoke else args.profile_tokens
    batches = [int(b) for b in (args.batches or ("4" if smoke else "64,256")).split(",")]
    peak = matmul_tflops(device, 512 if smoke else 8192)
    print(
        f"device {torch.cuda.get_device_name() if not smoke else 'cpu'}, torch {torch.__version__}, transformers {transformers.__version__}"
    )
    print(f"measured bf16 matmul rate: {peak:.1f} TFLOP/s")
    results: dict = {"matmul_tflops": peak, "models": {}}
    for name in args.models.split(","):
        ours, hf = build_pair(name, device, dtype, smoke)
        n_params = sum(p.numel() for p in ours.parameters())
        res: dict = {"parameters": n_params, "generate": [], "train": {}}
        res["graph_check"] = {} if args.skip_generate else graph_check(ours, device)
        print(
            f"[{name}] {n_params / 1e6:.1f}M parameters; CUDA graphs vs eager: {res['graph_check']}",
            flush=True,
        )
        for b in [] if args.skip_generate else batches:
            r = gen_bench(ours, hf, b, prompt, new, device)
            res["generate"].append(r)
            print(
                f"[{name}] generate batch {b}: ours {r['ours_tok_s']:.0f} tok/s, HF generate {r['hf_tok_s']:.0f} tok/s, {r['speedup']:.2f}x",
                flush=True,
            )
        for b in [] if args.skip_generate or not args.ragged else batches:
            eq = next(x["ours_tok_s"] for x in res["generate"] if x["batch"] == b)
            r = ragged_bench(ours, hf, b, prompt, ragged_max, ragged_mean, device, eq, not args.no_hf_ragged)
            res.setdefault("ragged", []).append(r)
            ln = r["lengths"]
            hf_part = f", HF generate {r['hf_tok_s']:.0f} ({r['compacted_vs_hf']:.2f}x)" if "hf_tok_s" in r else ""
            print(
                f"[{name}] ragged batch {b} (lengths min {ln['min']} p50 {ln['p50']} p90 {ln['p90']} max {ln['max']} mean {ln['mean']:.0f}, {ln['at_max_tokens']} at {ragged_max}): useful tok/s compacted {r['compacted_tok_s']:.0f}, uncompacted {r['plain_tok_s']:.0f} ({r['compacted_vs_plain']:.2f}x){hf_part}; equal-length rate {eq:.0f} ({r['compacted_vs_equal']:.2f}x)",
                flush=True,
            )
        for b in batches if args.profile else []:
            r = profile_generate(ours, b, prompt, profile_tokens, device, 25)
            res.setdefault("profile", []).append(r)
            print(
                f"[{name}] profile batch {b}, {profile_tokens} new tokens: {r['ms_per_step']:.2f} ms/step under the profiler; launches {r['launches']}; host syncs {r['host_syncs']}",
                flush=True,
            )
            for k, v in r["ranges"].items():
                print(f"    {k:22s} x{v['count']:<5d} cpu {v['cpu_ms']:9.2f} ms  device {v['device_ms']:9.2f} ms")
            for e in r["top"]:
                print(f"    {e['self_ms']:9.2f} ms {e['share']:6.1%} x{e['count']:<6d} {e['name'][:90]}")
        tb = 4 if smoke else args.train_batch
        mb = 2 if smoke else args.micro_batch
        variants = [False, True] if name in args.compile.split(",") else [False]
        if args.skip_train:
            variants = []
        for comp in variants:
            r = train_bench(ours, hf, tb, prompt, new, mb, device, peak, comp)
            res["train"]["compiled" if comp else "eager"] = r
            print(
                f"[{name}] GRPO train step{' (torch.compile)' if comp else ''}, batch {tb}x{prompt + new} tokens, micro-batch {mb}: ours {r['ours_tok_s']:.0f} tok/s (MFU {r['ours_mfu']:.1%}), plain HF {r['hf_tok_s']:.0f} tok/s (MFU {r['hf_mfu']:.1%}), {r['speedup']:.2f}x",
                flush=True,
            )
        results["models"][name] = res
        del ours, hf
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
