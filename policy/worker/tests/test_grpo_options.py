"""The GRPO options inside a real worker: Dr. GRPO's constant normaliser, the reference-policy
refresh, the KL of `/v1/reference_kl`, the entropy bonus's gradient, the per-term metrics and the
400s that name an inconsistent option."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from conftest import Worker

from multigym_worker.kl import kl_estimate
from multigym_worker.trainer import TrainSeq, completion_logprobs

NEW_METRICS = (
    "pg_loss", "kl_loss", "entropy_loss", "clip_frac_dual", "ratio_mean", "ratio_min", "ratio_max",
    "rollout_is_weight_mean", "rollout_is_capped_frac", "ref_model_synced", "sequences",
)  # fmt: skip


def sample(prompt: list[int], completion: list[int], adv: float, mask: list[int] | None = None) -> dict:
    s: dict[str, Any] = {
        "prompt_token_ids": prompt,
        "completion_token_ids": completion,
        "old_logprobs": [-3.0] * len(completion),
        "advantage": adv,
    }
    if mask is not None:
        s["completion_mask"] = mask
    return s


def step(w: Worker, key: str, samples: list[dict], **hyper: Any) -> tuple[int, Any]:
    return w.post(
        "/v1/train_step",
        {"idempotency_key": key, "samples": samples, "hyper": {"learning_rate": 1e-3, **hyper}},
    )


def own_logprobs(w: Worker, s: dict) -> list[float]:
    """log π_θ of a sample's completion under the worker's current weights."""
    with torch.no_grad():
        seq = [TrainSeq(s["prompt_token_ids"], s["completion_token_ids"])]
        return completion_logprobs(w.engine.trainer.model, seq, 0, False)[0][0].tolist()


def test_dr_grpo_gives_the_same_tokens_the_same_loss_whatever_the_longest_completion(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The case: the normaliser was the batch's longest completion, so one sample's loss changed
    # when a longer (zero-advantage) completion joined the batch. Now it is the constant loss_agg_norm.
    seen: list[torch.Tensor] = []

    def spy(self: Any, lr: float, max_norm: float) -> float:
        seen.append(torch.cat([p.grad.flatten() for p in self.params if p.grad is not None]).clone())
        return 0.0  # record the gradient, change nothing

    monkeypatch.setattr(type(worker.engine.trainer.optimizer()), "clip_and_step", spy)
    s1 = sample([5, 6, 7], [8, 9, 10], 1.0)
    s1["old_logprobs"] = own_logprobs(worker, s1)  # on-policy: every ratio is 1
    hyper = {"loss_agg_mode": "seq-mean-token-sum-norm", "loss_agg_norm": 32}
    losses = []
    for key, other in (("short", [11, 12, 13, 14]), ("long", list(range(20, 40)))):
        status, out = step(worker, key, [s1, sample([5, 6], other, 0.0)], **hyper)
        assert status == 200, out
        losses.append(out["metrics"]["loss"])
    # equal up to float32 rounding (the padded shapes differ); the old normaliser gave 4 vs 20
    assert losses[0] == pytest.approx(losses[1], rel=1e-6, abs=0)
    assert losses[0] == pytest.approx(-3 * 1.0 / (2 * 32), rel=1e-6)
    assert (seen[0] - seen[1]).norm() <= 1e-4 * seen[0].norm()


def test_every_metric_is_reported_and_the_loss_adds_up(worker: Worker) -> None:
    samples = [sample([5, 6, 7], [8, 9, 10], 1.0), sample([5, 6], [11, 12, 13, 14], -1.0, [1, 0, 1, 1])]
    assert step(worker, "warm", samples)[0] == 200  # the policy moves away from the reference
    for s in samples:  # old log-probs at log π_θ − log 2: every ratio is 2
        s["old_logprobs"] = [x - math.log(2) for x in own_logprobs(worker, s)]
    status, out = step(
        worker, "all", samples, kl_coef=0.1, kl_estimator="k2", entropy_coeff=0.01, clip_ratio_c=1.5
    )
    assert status == 200, out
    m = out["metrics"]
    for key in NEW_METRICS:
        assert key in m, key
    assert m["loss"] == pytest.approx(m["pg_loss"] + 0.1 * m["kl_loss"] - 0.01 * m["entropy_loss"], rel=1e-5)
    assert m["tokens"] == 6 and m["sequences"] == 2 and m["kl"] > 0
    assert m["ratio_min"] == pytest.approx(2) and m["ratio_max"] == pytest.approx(2)
    assert m["ratio_mean"] == pytest.approx(2)
    # A > 0: ratio 2 clipped at 1.2 (3 tokens); A < 0: bounded by c = 1.5 (3 tokens)
    assert m["clip_frac_high"] == pytest.approx(3 / 6) and m["clip_frac_dual"] == pytest.approx(3 / 6)
    assert m["clip_frac_low"] == 0
    # token-mean: the dual-clipped A < 0 tokens give 1.5 each, the clipped A > 0 ones −1.2
    assert m["pg_loss"] == pytest.approx((3 * -1.2 + 3 * 1.5) / 6, rel=1e-5)
    assert m["rollout_is_weight_mean"] == 1 and m["rollout_is_capped_frac"] == 0
    for s in samples:
        s["old_logprobs"] = [x - math.log(2) for x in own_logprobs(worker, s)]
    status, out = step(worker, "tis", samples, rollout_is="token", rollout_is_threshold=1.5)
    m = out["metrics"]  # π_old/μ = 2: every weight capped at 1.5
    assert m["rollout_is_capped_frac"] == 1 and m["rollout_is_weight_mean"] == pytest.approx(1.5)
    assert m["clip_frac_high"] == 0


def test_the_entropy_bonus_has_the_gradient_of_the_exact_entropy() -> None:
    from multigym_worker.models import load_model

    model, _, _ = load_model("tiny", torch.device("cpu"), torch.float32, 0)
    seqs = [TrainSeq([5, 6, 7], [8, 9, 10]), TrainSeq([5], [11, 12])]
    _, valid, ent = completion_logprobs(model, seqs, 0, True, entropy_grad=True)
    assert ent is not None and ent.requires_grad
    # independent: −Σ p log p from the logits at the same positions, in float64
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 11, 12, 0, 0, 0]])
    logits = model.logits(model(ids)).double()
    logp = torch.log_softmax(logits, -1)
    want = -(logp.exp() * logp).sum(-1)
    assert torch.allclose(ent[0].double(), want[0, 2:5], atol=1e-5)
    assert torch.allclose(ent[1, :2].double(), want[1, 0:2], atol=1e-5)
    (ent * valid).sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    _, _, frozen = completion_logprobs(model, seqs, 0, True)
    assert frozen is not None and not frozen.requires_grad


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_the_reference_policy_is_refreshed_every_n_steps(worker: Worker, alpha: float) -> None:
    tr = worker.engine.trainer
    samples = [sample([5, 6, 7], [8, 9, 10], 1.0), sample([5, 6], [11, 12], -1.0)]
    sync = {"sync_ref_model": True, "ref_model_sync_steps": 2, "ref_model_mixup_alpha": alpha}
    initial = tr.snapshot()
    status, out = step(worker, "1", samples, **sync)
    assert status == 200 and out["metrics"]["ref_model_synced"] is False
    assert all(torch.equal(tr.ref_state[k], v) for k, v in initial.items())  # type: ignore[index]
    status, out = step(worker, "2", samples, **sync)
    assert out["metrics"]["ref_model_synced"] is True
    now = tr.snapshot()
    for k, v in now.items():
        want = alpha * v.double() + (1 - alpha) * initial[k].double()
        assert torch.allclose(tr.ref_state[k].double(), want, atol=1e-6), k  # type: ignore[index]
        if alpha == 1.0:
            assert torch.equal(tr.ref_state[k], v)  # type: ignore[index]
    assert not step(worker, "3", samples, **sync)[1]["metrics"]["ref_model_synced"]
    # never, without sync_ref_model
    before = {k: v.clone() for k, v in tr.ref_state.items()}  # type: ignore[union-attr]
    for key in ("4", "5"):
        assert step(worker, key, samples, ref_model_sync_steps=1)[1]["metrics"]["ref_model_synced"] is False
    assert all(torch.equal(tr.ref_state[k], v) for k, v in before.items())  # type: ignore[index]


@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_reference_kl_sums_the_estimator_over_the_loss_tokens(worker: Worker, estimator: str) -> None:
    samples = [sample([5, 6, 7], [8, 9, 10], 1.0), sample([5, 6], [11, 12, 13], -1.0, [1, 0, 1])]
    body = {"samples": samples, "kl_estimator": estimator, "kl_clamp": 10}
    out = worker.ok("/v1/reference_kl", body)  # no step yet: π_ref := π_θ, so every KL is 0
    assert out["kl"] == [0.0, 0.0] and worker.engine.trainer.ref_state is not None
    assert step(worker, "a", samples)[0] == 200
    out = worker.ok("/v1/reference_kl", body)
    tr = worker.engine.trainer
    want = []
    with torch.no_grad():
        for s in samples:
            seq = [TrainSeq(s["prompt_token_ids"], s["completion_token_ids"])]
            lp = completion_logprobs(tr.model, seq, 0, False)[0][0].double().tolist()
            rl = completion_logprobs(tr.reference(), seq, 0, False)[0][0].double().tolist()
            mask = s.get("completion_mask") or [1] * len(lp)
            total = 0.0
            for a, b, m in zip(lp, rl, mask, strict=True):
                d = a - b
                v = {"k1": d, "k2": 0.5 * d * d, "k3": math.exp(-d) + d - 1}[estimator]
                total += m * min(max(v, -10), 10)
            want.append(total)
    assert out["kl"] == pytest.approx(want, rel=1e-4, abs=1e-7)
    assert any(abs(k) > 1e-6 for k in out["kl"])
    clamped = worker.ok("/v1/reference_kl", {**body, "kl_clamp": 1e-9})["kl"]
    assert all(abs(k) <= 3e-9 for k in clamped)
    assert kl_estimate(torch.tensor([0.0]), torch.tensor([-50.0]), "k3", 10.0).item() == 10.0


def test_reference_kl_under_a_step_key_replays_after_the_step(worker: Worker) -> None:
    samples = [sample([5, 6, 7], [8, 9, 10], 1.0), sample([5, 6], [11, 12, 13], -1.0)]
    assert step(worker, "a", samples)[0] == 200
    body = {"samples": samples, "idempotency_key": "run:2", "expect": {"run_id": None, "policy_version": 1}}
    first = worker.ok("/v1/reference_kl", body)
    assert first["replayed"] is False and any(k != 0 for k in first["kl"])
    assert step(worker, "run:2", samples)[0] == 200  # the weights move on to version 2
    again = worker.ok("/v1/reference_kl", body)  # the same answer, although version 1 is gone
    assert again["replayed"] is True and again["kl"] == first["kl"]
    fresh = worker.post("/v1/reference_kl", {**body, "idempotency_key": "run:3"})
    assert fresh[0] == 409 and fresh[1]["error"]["type"] == "policy_mismatch"


@pytest.mark.parametrize(
    ("hyper", "field"),
    [
        ({"loss_agg_mode": "seq-mean-token-sum-norm"}, "hyper.loss_agg_norm"),
        ({"loss_agg_norm": 64}, "hyper.loss_agg_norm"),
        ({"clip_ratio_c": 1.0}, "hyper.clip_ratio_c"),
        ({"kl_estimator": "k9"}, "hyper.kl_estimator"),
        ({"rollout_is": "tokens"}, "hyper.rollout_is"),
        ({"ref_model_mixup_alpha": 0}, "hyper.ref_model_mixup_alpha"),
    ],
)
def test_an_inconsistent_option_is_a_400_naming_it(worker: Worker, hyper: dict, field: str) -> None:
    status, out = step(worker, "bad", [sample([5, 6], [7, 8], 1.0)], **hyper)
    assert status == 400 and out["error"]["type"] == "validation", out
    assert out["error"]["field"] == field
    assert worker.engine.policy_version == 0 and worker.engine.trainer.ref_state is None


def test_a_misspelt_option_is_refused_not_ignored(worker: Worker) -> None:
    status, out = step(worker, "typo", [sample([5, 6], [7, 8], 1.0)], loss_aggregation="token-mean")
    assert status == 400 and "loss_aggregation" in out["error"]["message"], out
