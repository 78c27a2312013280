"""Numerical guards: extreme log-probs cannot poison the weights, a non-finite step changes nothing
and answers 422 `non_finite`, and no answer ever carries NaN or Infinity."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from conftest import Worker

from multigym_worker import jsonio
from multigym_worker.grpo import BatchNorm, grpo_loss, k3_kl
from multigym_worker.sampling import SampleOut


def sample(old: list[float], adv: float = 1.0, mask: list[int] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "prompt_token_ids": [0, 11, 12],
        "completion_token_ids": [13, 14, 15, 1][: len(old)],
        "old_logprobs": old,
        "advantage": adv,
    }
    if mask is not None:
        s["completion_mask"] = mask
    return s


def step(w: Worker, key: str, samples: list[dict[str, Any]], **hyper: Any) -> tuple[int, Any]:
    return w.post(
        "/v1/train_step",
        {"idempotency_key": key, "samples": samples, "hyper": {"learning_rate": 1e-3, **hyper}},
    )


def state(w: Worker) -> dict[str, Any]:
    tr = w.engine.trainer
    opt = tr.opt.opt.state_dict()["state"] if tr.opt else {}
    return {
        "weights": {k: v.detach().clone() for k, v in w.engine.model.state_dict().items()},
        "opt": {i: {k: v.clone() for k, v in s.items()} for i, s in opt.items()},
        "rl_steps": tr.rl_steps,
        "ref": tr.ref_state is not None,
        "version": w.engine.policy_version,
        "records": set(w.engine.records),
        "last": w.engine.last_idempotency_key,
    }


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["weights"].keys() == b["weights"].keys()
    for k in a["weights"]:
        assert torch.equal(a["weights"][k], b["weights"][k]), k
    assert a["opt"].keys() == b["opt"].keys()
    for i in a["opt"]:
        for k in a["opt"][i]:
            assert torch.equal(a["opt"][i][k], b["opt"][i][k]), (i, k)
    for k in ("rl_steps", "ref", "version", "records", "last"):
        assert a[k] == b[k], k


def all_finite(w: Worker) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in w.engine.model.parameters())


def generate_is_strict_json(w: Worker) -> None:
    status, out = w.post("/v1/generate", {"prompts": ["hello", "2+2="], "n": 2, "max_tokens": 6, "seed": 1})
    assert status == 200
    jsonio.loads(json.dumps(out, allow_nan=False))  # what came back was strict JSON with finite numbers
    for r in out["results"]:
        for s in r["samples"]:
            assert all(math.isfinite(x) and x <= 0 for x in s["logprobs"])


@pytest.mark.parametrize(
    ("old", "mask"),
    [
        ([-8.0, -120.0, -8.0], [1, 0, 1]),  # the reported case: -120 on a masked token
        ([-8.0, -120.0, -8.0], None),  # ... and on a token in the loss
        ([-1e308, -8.0], [0, 1]),  # finite in JSON, -inf in fp32
        ([-1e308, -8.0], None),
        ([-3.4e38, -1e-30, 0.0], None),
    ],
)
def test_extreme_old_logprobs_leave_every_weight_finite(
    worker: Worker, old: list[float], mask: list[int] | None
) -> None:
    for adv in (1.0, -1.0):
        status, out = step(
            worker, f"k{adv}", [sample(old, adv, mask), sample([-8.0] * len(old), -adv)], kl_coef=0.1
        )
        assert status == 200, out
        assert math.isfinite(out["metrics"]["loss"]) and math.isfinite(out["metrics"]["grad_norm"])
    assert all_finite(worker)
    generate_is_strict_json(worker)


def test_a_positive_or_huge_logprob_is_a_400_naming_the_field(worker: Worker) -> None:
    before = state(worker)
    for bad in (1e308, 0.5):
        status, out = step(worker, "bad", [sample([-1.0, bad, -1.0])])
        assert status == 400 and out["error"]["type"] == "validation", out
        assert out["error"]["field"] == "samples.0.old_logprobs.1"
    for raw in (b"NaN", b"Infinity", b"-Infinity", b"-1e999"):
        text = json.dumps({"idempotency_key": "x", "samples": [sample([-1.0, -1.0])]}).replace(
            "-1.0]", "-1.0, 0]"
        )
        text = text.replace(", 0]", f", {raw.decode()}]")
        status, out = worker.post("/v1/train_step", raw=text.encode())
        assert status == 400 and out["error"]["type"] == "validation", (raw, out)
    assert_same(state(worker), before)


@pytest.mark.parametrize(
    "samples",
    [
        [sample([-1.0, -1.0, -1.0], 1e308)],  # finite in JSON; inf in fp32: the loss is inf
        [sample([-1.0, -1.0, -1.0], -1e308), sample([-2.0, -2.0], 1.0)],
        [sample([-1.0, -1.0, -1.0], 3e38), sample([-2.0, -2.0], -3e38)],
    ],
)
def test_a_non_finite_step_is_422_and_changes_nothing(worker: Worker, samples: list[dict[str, Any]]) -> None:
    # a first good step, so AdamW has moments and π_ref exists: neither may change
    assert step(worker, "ok-0", [sample([-8.0, -8.0, -8.0]), sample([-8.0, -8.0], -1.0)])[0] == 200
    before = state(worker)
    status, out = step(worker, "boom", samples)
    assert status == 422 and out["error"]["type"] == "non_finite", out
    assert "changed nothing" in out["error"]["message"]
    assert_same(state(worker), before)
    assert all_finite(worker)
    generate_is_strict_json(worker)
    # the key was not recorded: the same key with a sane batch is applied
    ok = step(worker, "boom", [sample([-8.0, -8.0, -8.0]), sample([-8.0, -8.0], -1.0)])
    assert ok[0] == 200 and ok[1]["replayed"] is False and ok[1]["policy_version"] == 2


def test_a_first_step_refused_sets_no_reference_policy(worker: Worker) -> None:
    before = state(worker)
    assert step(worker, "boom", [sample([-1.0, -1.0], 1e308)])[0] == 422
    assert_same(state(worker), before)
    assert worker.engine.trainer.ref_state is None


def nan_gradients(worker: Worker) -> None:
    p = next(worker.engine.model.parameters())
    p.register_hook(lambda g: torch.full_like(g, float("nan")))


def test_a_nan_gradient_with_a_finite_loss_is_refused(worker: Worker) -> None:
    assert step(worker, "ok-0", [sample([-8.0, -8.0, -8.0]), sample([-8.0, -8.0], -1.0)])[0] == 200
    before = state(worker)
    nan_gradients(worker)
    status, out = step(worker, "nan-grad", [sample([-8.0, -8.0, -8.0]), sample([-8.0, -8.0], -1.0)])
    assert (
        status == 422
        and out["error"]["type"] == "non_finite"
        and "gradient norm is nan" in out["error"]["message"]
    )
    assert_same(state(worker), before)
    status, out = worker.post("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]})
    assert status == 422 and out["error"]["type"] == "non_finite"
    assert_same(state(worker), before)


def test_an_answer_with_nan_is_a_500_in_strict_json(worker: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(rows: list[list[int]], _params: object) -> list[SampleOut]:
        return [SampleOut([5], [float("nan")], "length", 0, 1, "x") for _ in rows]

    monkeypatch.setattr(worker.engine.sampler, "generate", broken)
    status, out = worker.post("/v1/generate", {"prompts": ["a"], "max_tokens": 1})
    assert status == 500 and out["error"]["type"] == "non_finite_output"


def test_strict_json_both_ways() -> None:
    with pytest.raises(ValueError):
        jsonio.dumps({"x": float("nan")})
    with pytest.raises(ValueError):
        jsonio.dumps([float("-inf")])
    for text in ("NaN", "[Infinity]", '{"a": -Infinity}', "1e400", "[-1e309]"):
        with pytest.raises(ValueError):
            jsonio.loads(text)
    assert jsonio.loads("[1e308, -0.0, 5]") == [1e308, -0.0, 5]


# ---- the loss itself --------------------------------------------------------------------------


def loss_and_grad(old: list[float], mask: list[bool], adv: float, ref: list[float] | None = None) -> tuple:
    logp = torch.tensor([[-1.0, -2.0, -0.5]], requires_grad=True)
    m = torch.tensor([mask])
    norm = BatchNorm(tokens=float(m.sum()), sequences=1, constant=3.0)
    parts = grpo_loss(
        logp, torch.tensor([old]), torch.tensor([adv]), m, norm, "token-mean", 0.2, 0.28,
        0.1 if ref is not None else 0.0, None if ref is None else torch.tensor([ref]),
    )  # fmt: skip
    parts.loss.backward()
    return parts, logp.grad


@pytest.mark.parametrize("poison", [-120.0, -1e30, float("-inf"), float("inf"), float("nan")])
def test_a_masked_token_does_not_reach_the_loss_or_its_gradient(poison: float) -> None:
    clean, g_clean = loss_and_grad([-1.0, -1.0, -1.0], [True, False, True], 1.0)
    dirty, g_dirty = loss_and_grad([-1.0, poison, -1.0], [True, False, True], 1.0, ref=None)
    assert torch.equal(clean.loss, dirty.loss) and torch.equal(g_clean, g_dirty)
    assert torch.isfinite(dirty.stats).all()
    kl, g_kl = loss_and_grad([-1.0, -1.0, -1.0], [True, False, True], 1.0, ref=[-1.0, poison, -1.0])
    assert torch.isfinite(kl.loss) and torch.isfinite(g_kl).all() and g_kl[0, 1] == 0


@pytest.mark.parametrize("adv", [1.0, -1.0])
def test_an_overflowing_ratio_is_clamped_and_passes_no_gradient(adv: float) -> None:
    parts, grad = loss_and_grad([-1.0, -200.0, -0.5], [True, True, True], adv)
    assert torch.isfinite(parts.loss) and torch.isfinite(grad).all()
    assert grad[0, 1] == 0  # the clamped token
    assert grad[0, 0] != 0  # on-policy tokens still learn


def test_k3_kl_is_finite_for_any_log_ratio() -> None:
    logp = torch.tensor([-1.0, -300.0, -1.0, 0.0])
    ref = torch.tensor([-300.0, -1.0, -1.0, -1e30])
    kl = k3_kl(logp, ref)
    assert torch.isfinite(kl).all() and (kl >= 0).all() and kl[2] == 0
