"""The GRPO loss: ratio, asymmetric clipping, k3 KL, aggregations and the completion mask."""

from __future__ import annotations

import math

import pytest
import torch

from multigym_worker.grpo import BatchNorm, grpo_loss, k3_kl


def parts(logp, old, adv, mask, agg="token-mean", lo=0.2, hi=0.2, **kw):  # noqa: ANN001, ANN201
    m = torch.tensor(mask, dtype=torch.float32)
    norm = BatchNorm(
        tokens=float(m.sum()), sequences=m.shape[0], constant=kw.pop("constant", float(m.shape[1]))
    )
    return grpo_loss(torch.tensor(logp), torch.tensor(old), torch.tensor(adv), m, norm, agg, lo, hi, **kw)


def test_on_policy_loss_is_minus_the_mean_advantage_per_aggregation() -> None:
    logp = [[-1.0, -2.0, -3.0], [-1.0, -1.0, 0.0]]
    mask = [[1, 1, 1], [1, 1, 0]]
    adv = [1.0, -0.5]
    # token-mean: (3·(−1) + 2·0.5) / 5
    assert parts(logp, logp, adv, mask).loss.item() == pytest.approx((-3 + 1) / 5)
    # seq-mean-token-mean: mean over sequences of the per-sequence token mean
    assert parts(logp, logp, adv, mask, "seq-mean-token-mean").loss.item() == pytest.approx((-1 + 0.5) / 2)
    # dr-grpo: token sum / (G · C)
    assert parts(logp, logp, adv, mask, "dr-grpo", constant=10.0).loss.item() == pytest.approx(
        (-3 + 1) / (2 * 10)
    )


def test_clipping_is_asymmetric_and_counted() -> None:
    old = [[0.0, 0.0, 0.0, 0.0]]
    logp = [[math.log(1.5), math.log(1.1), math.log(0.5), math.log(0.9)]]
    # A > 0: ratio 1.5 is clipped at 1 + 0.28; ratio 1.1 is not
    p = parts(logp, old, [1.0], [[1, 1, 1, 1]], lo=0.2, hi=0.28)
    assert p.clip_high == 1 and p.clip_low == 0
    expected = -(1.28 + 1.1 + 0.5 + 0.9) / 4
    assert p.loss.item() == pytest.approx(expected)
    # A < 0: ratio 0.5 is clipped at 1 − 0.2; the loss takes the pessimistic (larger) value
    p = parts(logp, old, [-1.0], [[1, 1, 1, 1]], lo=0.2, hi=0.28)
    assert p.clip_low == 1 and p.clip_high == 0
    assert p.loss.item() == pytest.approx((1.5 + 1.1 + 0.8 + 0.9) / 4)


def test_clipped_tokens_get_no_gradient() -> None:
    logp = torch.tensor([[math.log(1.5), math.log(1.1)]], requires_grad=True)
    norm = BatchNorm(2.0, 1, 2.0)
    loss = grpo_loss(
        logp, torch.zeros(1, 2), torch.tensor([1.0]), torch.ones(1, 2), norm, "token-mean", 0.2, 0.2
    ).loss
    loss.backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 1] != 0


def test_masked_tokens_change_nothing() -> None:
    logp = torch.tensor([[-1.0, -2.0, -0.5]], requires_grad=True)
    old = torch.tensor([[-1.2, -1.0, -3.0]])
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    loss = grpo_loss(
        logp, old, torch.tensor([0.7]), mask, BatchNorm(2.0, 1, 3.0), "token-mean", 0.2, 0.2
    ).loss
    loss.backward()
    assert logp.grad[0, 1] == 0
    # changing the masked token's log-probs leaves the loss unchanged
    logp2 = logp.detach().clone()
    logp2[0, 1] = -7.0
    loss2 = grpo_loss(
        logp2, old, torch.tensor([0.7]), mask, BatchNorm(2.0, 1, 3.0), "token-mean", 0.2, 0.2
    ).loss
    assert loss2.item() == pytest.approx(loss.item())


def test_k3_kl_estimator() -> None:
    a = torch.tensor([-1.0, -2.0, -0.1])
    assert torch.allclose(k3_kl(a, a), torch.zeros(3))
    b = torch.tensor([-1.5, -1.0, -0.3])
    kl = k3_kl(a, b)
    assert (kl > 0).all()
    r = torch.exp(b - a)
    assert torch.allclose(kl, r - torch.log(r) - 1)
    # unbiased: E_{x~p}[k3] = KL(p || q) for categorical p, q
    p = torch.tensor([0.7, 0.2, 0.1])
    q = torch.tensor([0.4, 0.4, 0.2])
    exact = (p * (p / q).log()).sum()
    assert (p * k3_kl(p.log(), q.log())).sum().item() == pytest.approx(exact.item(), rel=1e-6)


def test_kl_term_adds_beta_times_k3() -> None:
    logp = [[-1.0, -2.0]]
    ref = torch.tensor([[-1.5, -1.0]])
    base = parts(logp, logp, [0.0], [[1, 1]]).loss.item()
    with_kl = parts(logp, logp, [0.0], [[1, 1]], kl_coef=0.1, ref_logp=ref)
    expected = 0.1 * k3_kl(torch.tensor(logp), ref).mean().item()
    assert with_kl.loss.item() - base == pytest.approx(expected)
    assert with_kl.kl_sum == pytest.approx(k3_kl(torch.tensor(logp), ref).sum().item())
    with pytest.raises(ValueError):
        parts(logp, logp, [0.0], [[1, 1]], kl_coef=0.1)
