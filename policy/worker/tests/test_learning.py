"""Proof that the worker learns: SFT warm start, then GRPO through /v1/generate + /v1/train_step.

Task: given a digit d (prompt "d->"), answer the digit (d + 1) mod 10 and stop. The tiny policy is
warm-started with a few sft_steps on demonstrations (enough to learn the format, not the mapping),
then trained with GRPO: group-relative advantages A_i = (r_i − mean r) / (std r + ε) (Shao et al.
2024), DAPO clip-higher and token-mean aggregation. The test asserts the mean reward before (< 0.3)
and after (> 0.8) GRPO; it has no timing threshold.

`MULTIGYM_TEST_DEVICE=cuda` (and optionally `MULTIGYM_TEST_DTYPE=bf16`) runs it on a GPU.
"""

from __future__ import annotations

import os
import random
import statistics

from conftest import Worker, start_worker

PROMPTS = [f"{d}->" for d in range(10)]


def reward(d: int, text: str) -> float:
    return 1.0 if text.strip() == str((d + 1) % 10) else 0.0


def mean_reward(w: Worker, seed: int) -> float:
    out = w.ok("/v1/generate", {"prompts": PROMPTS, "n": 16, "max_tokens": 2, "seed": seed})
    return statistics.mean(
        reward(d, s["text"]) for d, res in enumerate(out["results"]) for s in res["samples"]
    )


def grpo_batch(w: Worker, step: int, group: int = 8, repeats: int = 2) -> tuple[list[dict], float]:
    prompts = PROMPTS * repeats
    out = w.ok("/v1/generate", {"prompts": prompts, "n": group, "max_tokens": 2, "seed": 1000 + step})
    samples, rewards = [], []
    for i, res in enumerate(out["results"]):
        rs = [reward(i % 10, s["text"]) for s in res["samples"]]
        mean, std = statistics.mean(rs), statistics.pstdev(rs)
        rewards += rs
        for s, r in zip(res["samples"], rs, strict=True):
            samples.append(
                {
                    "prompt_token_ids": res["prompt_token_ids"],
                    "completion_token_ids": s["token_ids"],
                    "old_logprobs": s["logprobs"],
                    "advantage": (r - mean) / (std + 1e-4),
                }
            )
    return samples, statistics.mean(rewards)


def test_sft_warm_start_then_grpo_raises_mean_reward() -> None:
    device = os.environ.get("MULTIGYM_TEST_DEVICE", "cpu")
    flags = ["--device", device] + (
        ["--dtype", os.environ["MULTIGYM_TEST_DTYPE"]] if "MULTIGYM_TEST_DTYPE" in os.environ else []
    )
    w = start_worker(*flags)
    try:
        rng = random.Random(0)
        for i in range(20):
            digits = [rng.randrange(10) for _ in range(32)]
            examples = [{"prompt": f"{d}->", "completion": str((d + 1) % 10)} for d in digits]
            w.ok("/v1/sft_step", {"examples": examples, "learning_rate": 3e-3, "idempotency_key": f"sft:{i}"})
        before = mean_reward(w, seed=1)
        hyper = {
            "learning_rate": 1e-3,
            "clip_low": 0.2,
            "clip_high": 0.28,
            "loss_agg_mode": "token-mean",
            "micro_batch_size": 160,
        }
        after = before
        for step in range(200):
            samples, _ = grpo_batch(w, step)
            w.ok("/v1/train_step", {"idempotency_key": f"grpo:{step}", "samples": samples, "hyper": hyper})
            if step % 10 == 9:
                after = mean_reward(w, seed=2 + step)
                if after > 0.9:
                    break
        print(f"mean reward before GRPO {before:.3f}, after {step + 1} GRPO steps {after:.3f}")
        assert before < 0.3
        assert after > 0.8
    finally:
        w.stop()
