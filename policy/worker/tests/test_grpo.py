"""The loss of every option against a float64 reference written here with Python floats, value and
gradient (central differences of the reference), on a batch with several advantage signs, a
zero-advantage (zero-variance group) sample, a fully masked (truncated) sample, an inserted tool token
and padding that holds NaN."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from multigym_worker.grpo import BatchNorm, LossConfig, policy_loss
from multigym_worker.kl import k3_kl

NAN = float("nan")
LENGTHS = [5, 3, 4, 5, 2, 4]
MASK = [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0],
    [1, 0, 1, 1, 0],  # an inserted tool-result token
    [0, 0, 0, 0, 0],  # a truncated completion, masked out
    [1, 1, 0, 0, 0],
    [1, 1, 0, 1, 0],
]
ADV = [1.2, -0.8, 0.0, 0.9, -1.5, 0.6]  # row 2: a zero-variance group's sample
LOGP = [
    [-0.3, -1.2, -2.0, -0.7, -1.6],
    [-0.9, -0.2, -1.4, NAN, NAN],
    [-1.1, -0.5, -0.8, -2.2, NAN],
    [-0.4, -0.6, -1.0, -1.3, -0.1],
    [-2.4, -0.35, NAN, NAN, NAN],
    [-0.15, -1.7, -0.6, -0.95, NAN],
]
# π_θ/μ per token, away from every kink (1 − 0.2, 1 + 0.28, c = 1.3, caps 1.3 / 1.5)
RATIO = [
    [1.5, 0.9, 0.5, 1.1, 2.5],
    [0.5, 1.6, 1.05, 1, 1],
    [1.2, 3.0, 0.75, 1.4, 1],
    [2.0, 0.6, 1.5, 0.9, 1.2],
    [2.5, 0.7, 1, 1, 1],
    [0.6, 1.2, 5.0, 1.4, 1],
]
REF_GAP = [  # log π_θ − log π_ref
    [0.3, -0.6, 0.1, 0.8, -1.5],
    [-0.2, 0.35, 0.6, 0, 0],
    [0.1, 9.0, -0.8, 0.15, 0],
    [0.5, -0.3, 0.2, 0.1, 0.4],
    [-0.5, 0.2, 0, 0, 0],
    [0.65, -0.1, 0.3, -0.45, 0],
]
ENT = [
    [0.4, 1.1, 2.0, 0.7, 0.3],
    [1.5, 0.2, 0.9, NAN, NAN],
    [0.6, 0.8, 1.3, 0.5, NAN],
    [1.0, 1.0, 1.0, 1.0, 1.0],
    [0.25, 1.75, NAN, NAN, NAN],
    [0.9, 0.45, 1.2, 0.35, NAN],
]


def valid(i: int, t: int) -> bool:
    return bool(MASK[i][t]) and t < LENGTHS[i]


def old_of(i: int, t: int) -> float:
    """log μ: NaN on every masked or padded position (must never be read)."""
    return LOGP[i][t] - math.log(RATIO[i][t]) if valid(i, t) else NAN


def ref_of(i: int, t: int) -> float:
    return LOGP[i][t] - REF_GAP[i][t] if valid(i, t) else NAN


def clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def kl_ref(lp: float, rl: float, estimator: str, bound: float) -> float:
    d = lp - rl
    if estimator == "k1":
        v = d
    elif estimator == "k2":
        v = 0.5 * clamp(d, -20, 20) ** 2
    else:
        lr = clamp(-d, -20, 20)
        v = math.exp(lr) - lr - 1
    return clamp(v, -bound, bound)


def reference(cfg: LossConfig, lp: list[list[float]], ent: list[list[float]]) -> float:
    """The loss in float64 Python arithmetic. `lp` is π_θ; π_old (rollout correction) stays `LOGP`."""
    rows = range(len(LOGP))
    cells = [(i, t) for i in rows for t in range(5) if valid(i, t)]
    n_tokens = len(cells)
    n_seqs = sum(1 for i in rows if any(valid(i, t) for t in range(5)))

    def agg(v: dict[tuple[int, int], float]) -> float:
        m = cfg.loss_agg_mode
        if m == "token-mean":
            return sum(v.values()) / n_tokens
        if m == "seq-mean-token-sum":
            return sum(v.values()) / n_seqs
        if m == "seq-mean-token-mean":
            per = [[v[c] for c in cells if c[0] == i] for i in rows]
            return sum(sum(p) / len(p) for p in per if p) / n_seqs
        assert cfg.loss_agg_norm is not None
        return sum(v.values()) / (n_seqs * cfg.loss_agg_norm)

    def seq_log_w(i: int) -> float:
        return clamp(sum(clamp(LOGP[i][t] - old_of(i, t), -20, 20) for t in range(5) if valid(i, t)), -20, 20)

    pg, kl, en = {}, {}, {}
    for i, t in cells:
        a = ADV[i]
        if cfg.rollout_is is None:
            r, w = math.exp(clamp(lp[i][t] - old_of(i, t), -20, 20)), 1.0
        else:
            r = math.exp(lp[i][t] - LOGP[i][t])
            log_w = clamp(LOGP[i][t] - old_of(i, t), -20, 20) if cfg.rollout_is == "token" else seq_log_w(i)
            w = min(math.exp(log_w), cfg.rollout_is_threshold)
        v = max(-a * r, -a * clamp(r, 1 - cfg.clip_low, 1 + cfg.clip_high))
        if cfg.clip_ratio_c is not None and a < 0:
            v = min(v, -a * cfg.clip_ratio_c)
        pg[i, t] = w * v
        kl[i, t] = kl_ref(lp[i][t], ref_of(i, t), cfg.kl_estimator, cfg.kl_clamp)
        en[i, t] = ent[i][t]
    return agg(pg) + cfg.kl_coef * agg(kl) - cfg.entropy_coeff * agg(en)


def run(cfg: LossConfig, with_ref: bool = True):  # noqa: ANN201
    logp = torch.tensor(LOGP, dtype=torch.float64, requires_grad=True)
    ent = torch.tensor(ENT, dtype=torch.float64, requires_grad=True)
    old = torch.tensor([[old_of(i, t) for t in range(5)] for i in range(6)], dtype=torch.float64)
    ref = torch.tensor([[ref_of(i, t) for t in range(5)] for i in range(6)], dtype=torch.float64)
    mask = torch.tensor([[valid(i, t) for t in range(5)] for i in range(6)])
    norm = BatchNorm(tokens=float(mask.sum()), sequences=5, constant=cfg.loss_agg_norm or 1.0)
    parts = policy_loss(
        logp, old, torch.tensor(ADV, dtype=torch.float64), mask, norm, cfg, ref if with_ref else None, ent
    )
    parts.loss.backward()
    return parts, logp.grad, torch.zeros_like(ent) if ent.grad is None else ent.grad


def numeric_grad(cfg: LossConfig, which: str, h: float = 1e-6) -> list[list[float]]:
    out = [[0.0] * 5 for _ in range(6)]
    for i in range(6):
        for t in range(5):
            if not valid(i, t):
                continue
            vals = []
            for s in (h, -h):
                lp = [row[:] for row in LOGP]
                en = [row[:] for row in ENT]
                (lp if which == "logp" else en)[i][t] += s
                vals.append(reference(cfg, lp, en))
            out[i][t] = (vals[0] - vals[1]) / (2 * h)
    return out


DAPO = LossConfig(loss_agg_mode="token-mean", clip_low=0.2, clip_high=0.28)
CASES = {
    "token-mean, clip-higher (DAPO)": DAPO,
    "seq-mean-token-sum, k1 clamped": replace(
        DAPO, loss_agg_mode="seq-mean-token-sum", kl_coef=0.1, kl_estimator="k1", kl_clamp=0.25
    ),
    "seq-mean-token-mean, k2, entropy": replace(
        DAPO, loss_agg_mode="seq-mean-token-mean", kl_coef=0.05, kl_estimator="k2", entropy_coeff=0.01
    ),
    "seq-mean-token-sum-norm, k3 (Dr. GRPO)": replace(
        DAPO, loss_agg_mode="seq-mean-token-sum-norm", loss_agg_norm=7.0, kl_coef=0.02, kl_estimator="k3"
    ),
    "k3 clamped": replace(DAPO, kl_coef=0.3, kl_estimator="k3", kl_clamp=0.5),
    "dual-clip": replace(DAPO, clip_ratio_c=1.3),
    "rollout_is token": replace(DAPO, rollout_is="token", rollout_is_threshold=1.3),
    "rollout_is sequence": replace(
        DAPO, loss_agg_mode="seq-mean-token-mean", rollout_is="sequence", rollout_is_threshold=1.5
    ),
    "all at once": replace(
        DAPO,
        loss_agg_mode="seq-mean-token-sum-norm",
        loss_agg_norm=6.0,
        clip_ratio_c=1.3,
        kl_coef=0.1,
        kl_estimator="k3",
        entropy_coeff=0.02,
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", list(CASES))
def test_loss_and_gradient_match_the_float64_reference(name: str) -> None:
    cfg = CASES[name]
    parts, g_logp, g_ent = run(cfg)
    assert parts.loss.item() == pytest.approx(reference(cfg, LOGP, ENT), rel=1e-12, abs=1e-14)
    want = torch.tensor(numeric_grad(cfg, "logp"), dtype=torch.float64)
    assert torch.allclose(g_logp, want, rtol=1e-6, atol=1e-8), (g_logp - want).abs().max()
    want_e = torch.tensor(numeric_grad(cfg, "entropy"), dtype=torch.float64)
    assert torch.allclose(g_ent, want_e, rtol=1e-6, atol=1e-8)
    for i in range(6):  # masked, truncated and padded positions get exactly no gradient
        for t in range(5):
            if not valid(i, t):
                assert g_logp[i, t] == 0 and g_ent[i, t] == 0
    assert torch.isfinite(parts.stats).all() and torch.isfinite(parts.peaks).all()


def test_the_statistics_count_what_the_reference_counts() -> None:
    cfg = replace(DAPO, clip_ratio_c=1.3, kl_coef=0.1, kl_estimator="k3")
    parts, _, _ = run(cfg)
    cells = [(i, t) for i in range(6) for t in range(5) if valid(i, t)]
    r = {c: RATIO[c[0]][c[1]] for c in cells}
    assert parts.stat("tokens") == len(cells) == 16
    assert parts.stat("clip_low") == sum(1 for (i, t), x in r.items() if ADV[i] < 0 and x < 0.8)
    assert parts.stat("clip_high") == sum(1 for (i, t), x in r.items() if ADV[i] > 0 and x > 1.28)
    assert parts.stat("clip_dual") == sum(1 for (i, t), x in r.items() if ADV[i] < 0 and x > 1.3) == 2
    assert parts.stat("ratio_sum") == pytest.approx(sum(r.values()))
    assert parts.stat("ratio_max") == pytest.approx(max(r.values()))
    assert -parts.stat("neg_ratio_min") == pytest.approx(min(r.values()))
    kl = sum(kl_ref(LOGP[i][t], ref_of(i, t), "k3", 10.0) for i, t in cells)
    assert parts.stat("kl_sum") == pytest.approx(kl)
    assert parts.stat("entropy_sum") == pytest.approx(sum(ENT[i][t] for i, t in cells))
    total = parts.stat("pg_loss") + 0.1 * parts.stat("kl_loss") - 0 * parts.stat("entropy_loss")
    assert parts.stat("loss") == pytest.approx(total)
    tis = replace(DAPO, rollout_is="token", rollout_is_threshold=1.3)
    parts, _, _ = run(tis)
    assert parts.stat("is_capped") == sum(1 for x in r.values() if x > 1.3)
    assert parts.stat("is_weight_sum") == pytest.approx(sum(min(x, 1.3) for x in r.values()))
    assert parts.stat("clip_low") == parts.stat("clip_high") == 0  # the ratio to π_old is 1


def test_the_kl_term_needs_reference_log_probs() -> None:
    with pytest.raises(ValueError, match="reference"):
        run(replace(DAPO, kl_coef=0.1), with_ref=False)


def test_k3_kl_is_unbiased_on_a_categorical() -> None:
    p = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64)
    q = torch.tensor([0.4, 0.4, 0.2], dtype=torch.float64)
    exact = (p * (p / q).log()).sum()
    assert (p * k3_kl(p.log(), q.log())).sum().item() == pytest.approx(exact.item(), rel=1e-12)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"loss_agg_mode": "dr-grpo"}, "loss_agg_mode"),
        ({"loss_agg_mode": "seq-mean-token-sum-norm"}, "loss_agg_norm"),
        ({"loss_agg_mode": "token-mean", "loss_agg_norm": 512}, "loss_agg_norm"),
        ({"clip_ratio_c": 1.0}, "clip_ratio_c"),
        ({"kl_estimator": "k4"}, "kl_estimator"),
        ({"rollout_is": "geometric"}, "rollout_is"),
    ],
)
def test_inconsistent_options_name_the_field(options: dict, field: str) -> None:
    with pytest.raises(Exception, match=f"hyper.{field}") as err:
        LossConfig.from_hyper(options)
    assert getattr(err.value, "field", None) == f"hyper.{field}"
