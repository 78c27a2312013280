"""Per-token estimators of KL(π_θ ‖ π_ref) from the log-probs of sampled tokens.

With log r = log π_ref(o_t) − log π_θ(o_t) for a token o_t sampled from π_θ (Schulman 2020,
"Approximating KL divergence", http://joschu.net/blog/kl-approx.html):

  * `k1` = −log r: unbiased, high variance, can be negative per token (verl `kl`/`k1`, OpenRLHF `k1`).
  * `k2` = ½ (log r)²: biased but low variance, ≥ 0; as a loss its gradient is the exact gradient of
    the reverse KL on-policy (verl `mse`/`k2`, OpenRLHF `k2`).
  * `k3` = r − log r − 1: unbiased and low variance, ≥ 0 (verl `low_var_kl`/`k3`, OpenRLHF and TRL's
    `k3`; DeepSeekMath eq. 4).

Every estimate is clamped to ±`clamp` (verl clamps k3 at ±10, OpenRLHF every estimator at ±10): a
single token far from the reference cannot dominate the loss or the reward penalty, and a clamped
token passes no gradient. log r is bounded by ±`LOG_RATIO_CLAMP` before `exp`.
"""

from __future__ import annotations

import torch
from torch import Tensor

KL_ESTIMATORS = ("k1", "k2", "k3")

#: Bound of a log-ratio before `exp` (verl uses 20 too): e^20 ≈ 4.9e8 stays finite in fp32.
LOG_RATIO_CLAMP = 20.0


def k3_kl(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k3 estimator per token: r − log r − 1 with r = π_ref/π_θ, log r clamped to ±`LOG_RATIO_CLAMP`
    so `exp` cannot overflow (no clamp of the estimate itself)."""
    log_r = (ref_logp - logp).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    return torch.exp(log_r) - log_r - 1


def kl_estimate(logp: Tensor, ref_logp: Tensor, estimator: str, clamp: float) -> Tensor:
    """Per-token KL(π_θ ‖ π_ref) estimate, clamped to [−clamp, clamp].

    Args:
        logp: [B, T] log π_θ of the sampled tokens (may carry gradient).
        ref_logp: [B, T] log π_ref of the same tokens.
        estimator: one of `KL_ESTIMATORS`.
        clamp: bound of the estimate (> 0).
    Returns:
        [B, T] estimate, differentiable through `logp`.
    Raises:
        ValueError: unknown estimator.
    """
    if estimator == "k1":
        kl = logp - ref_logp
    elif estimator == "k2":
        kl = 0.5 * (logp - ref_logp).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).square()
    elif estimator == "k3":
        kl = k3_kl(logp, ref_logp)
    else:
        raise ValueError(f"unknown KL estimator {estimator!r} (one of {', '.join(KL_ESTIMATORS)})")
    return kl.clamp(-clamp, clamp)
