"""Training: gradient accumulation, clipping, schedule, KL to the reference, checkpoint and resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import Worker, start_worker

from multigym_worker.optim import MasterAdamW, Schedule


def batch(w: Worker, seed: int, n_prompts: int = 3, n: int = 4) -> list[dict]:
    """A GRPO batch sampled from the worker, with made-up but fixed advantages and a tool-result mask."""
    prompts = [f"question {seed}-{i}" + " more" * i for i in range(n_prompts)]
    out = w.ok("/v1/generate", {"prompts": prompts, "n": n, "max_tokens": 6 + seed % 3, "seed": seed})
    samples = []
    for i, res in enumerate(out["results"]):
        for j, s in enumerate(res["samples"]):
            t = len(s["token_ids"])
            mask = [0 if (k == 1 and t > 2) else 1 for k in range(t)]
            samples.append(
                {
                    "prompt_token_ids": res["prompt_token_ids"],
                    "completion_token_ids": s["token_ids"],
                    "old_logprobs": s["logprobs"],
                    "advantage": ((i + j) % 3 - 1) * 0.8,
                    "completion_mask": mask,
                }
            )
    return samples


def params(w: Worker) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in w.engine.model.state_dict().items()}


@pytest.mark.parametrize(
    "aggregation", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]
)
def test_micro_batches_equal_one_batch(aggregation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    grads: list[torch.Tensor] = []
    original = MasterAdamW.clip_and_step

    def spy(self: MasterAdamW, lr: float, max_norm: float) -> float:
        grads.append(torch.cat([p.grad.flatten() for p in self.params if p.grad is not None]).clone())
        return original(self, lr, max_norm)

    monkeypatch.setattr(MasterAdamW, "clip_and_step", spy)
    metrics = []
    for mb in (12, 5, 1):
        w = start_worker()
        try:
            samples = batch(w, seed=1)
            assert len(samples) == 12
            hyper = {
                "learning_rate": 1e-3,
                "micro_batch_size": mb,
                "loss_agg_mode": aggregation,
                "kl_coef": 0.05,
            }
            if aggregation == "seq-mean-token-sum-norm":
                hyper["loss_agg_norm"] = 16
            # a first step makes the policy differ from the reference, so the KL term has a gradient
            w.ok(
                "/v1/train_step",
                {"idempotency_key": "a", "samples": batch(w, seed=2), "hyper": {"micro_batch_size": 12}},
            )
            metrics.append(
                w.ok("/v1/train_step", {"idempotency_key": "b", "samples": samples, "hyper": hyper})[
                    "metrics"
                ]
            )
        finally:
            w.stop()
    # grads: [warm-up, full batch] × three workers; compare the accumulated gradients of the full batch
    full = grads[1]
    for other in (grads[3], grads[5]):
        assert torch.allclose(full, other, atol=1e-6, rtol=1e-4), (full - other).abs().max()
    for m in metrics[1:]:
        for key in ("loss", "grad_norm", "kl", "entropy", "clip_frac_low", "clip_frac_high"):
            assert m[key] == pytest.approx(metrics[0][key], rel=1e-4, abs=1e-6), key
        assert m["tokens"] == metrics[0]["tokens"]
    assert metrics[0]["kl"] > 0
    # (weights after AdamW are not compared: Adam's first step is ≈ lr·sign(g), which turns
    # round-off differences in near-zero gradients into ±lr)


def test_grad_norm_is_reported_before_clipping_and_clipping_bounds_the_update(worker: Worker) -> None:
    samples = batch(worker, seed=2)
    w0 = params(worker)
    m = worker.ok(
        "/v1/train_step",
        {"idempotency_key": "c", "samples": samples, "hyper": {"max_grad_norm": 1e-3, "learning_rate": 1e-3}},
    )
    assert m["metrics"]["grad_norm"] > 1e-3
    assert any(not torch.equal(w0[k], v) for k, v in params(worker).items())


def test_schedule_warmup_then_cosine() -> None:
    s = Schedule(warmup_steps=4, kind="cosine", total_steps=14, min_lr_ratio=0.1)
    assert [s.factor(i) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert s.factor(4) == pytest.approx(1.0)
    assert s.factor(9) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert s.factor(14) == pytest.approx(0.1) and s.factor(100) == pytest.approx(0.1)
    assert Schedule(warmup_steps=2).factor(50) == 1.0


def test_learning_rate_in_metrics_follows_the_cli_schedule() -> None:
    w = start_worker("--warmup-steps", "2", "--lr-schedule", "cosine", "--total-steps", "4")
    try:
        samples = batch(w, seed=3, n_prompts=1, n=2)
        lrs = [
            w.ok(
                "/v1/train_step",
                {"idempotency_key": str(i), "samples": samples, "hyper": {"learning_rate": 0.01}},
            )["metrics"]["learning_rate"]
            for i in range(4)
        ]
        assert lrs[:3] == pytest.approx([0.005, 0.01, 0.01])
        assert lrs[3] == pytest.approx(0.01 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    finally:
        w.stop()


def test_checkpoint_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    flags = ("--warmup-steps", "2", "--lr-schedule", "cosine", "--total-steps", "6")
    hyper = {"learning_rate": 2e-3, "kl_coef": 0.02, "micro_batch_size": 4, "clip_high": 0.28}
    a = start_worker("--checkpoint-dir", str(tmp_path), *flags)
    try:
        a.ok(
            "/v1/sft_step", {"examples": [{"prompt": "1+1=", "completion": "2"}], "idempotency_key": "sft-0"}
        )
        batches = [batch(a, seed=10 + i) for i in range(3)]
        for i in range(2):
            a.ok("/v1/train_step", {"idempotency_key": f"run:{i}", "samples": batches[i], "hyper": hyper})
        assert a.ok("/v1/checkpoint", {"path": str(tmp_path / "ck")})["policy_version"] == 3
        last = a.ok("/v1/train_step", {"idempotency_key": "run:2", "samples": batches[2], "hyper": hyper})
        expected = params(a)
    finally:
        a.stop()
    # different initial weights: the load must replace them; a relative path is taken from the root
    b = start_worker("--seed", "7", "--checkpoint-dir", str(tmp_path), *flags)
    try:
        assert b.ok("/v1/load", {"path": "ck"})["policy_version"] == 3
        replay = b.ok("/v1/train_step", {"idempotency_key": "run:1", "samples": batches[1], "hyper": hyper})
        assert replay["replayed"] is True and replay["policy_version"] == 3
        resumed = b.ok("/v1/train_step", {"idempotency_key": "run:2", "samples": batches[2], "hyper": hyper})
        assert resumed["policy_version"] == 4 and resumed["replayed"] is False
        for key in ("loss", "kl", "grad_norm", "learning_rate", "entropy"):
            assert resumed["metrics"][key] == pytest.approx(last["metrics"][key], rel=1e-6, abs=1e-9), key
        got = params(b)
        for k in expected:
            assert torch.equal(got[k], expected[k]), k
    finally:
        b.stop()


def test_checkpoint_directory_is_a_loadable_model(worker: Worker) -> None:
    worker.ok("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]})
    saved = worker.ok("/v1/checkpoint", {"path": "m"})["path"]
    assert saved == str(worker.engine.root.root / "m")
    w = start_worker("--model", saved)
    try:
        assert all(
            torch.equal(v, worker.engine.model.state_dict()[k])
            for k, v in w.engine.model.state_dict().items()
        )
        body = {"prompts": ["hello"], "max_tokens": 5, "temperature": 0}
        assert w.ok("/v1/generate", body)["results"] == worker.ok("/v1/generate", body)["results"]
    finally:
        w.stop()
    status, out = worker.post("/v1/load", {"path": "missing"})
    assert status == 400 and out["error"]["type"] == "checkpoint" and out["error"]["field"] == "path"
