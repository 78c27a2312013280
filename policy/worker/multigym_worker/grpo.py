"""The GRPO family's clipped policy-gradient loss on completion tokens.

For a completion o_i of prompt q with group-relative advantage A_i and token t:

    ρ_t = exp(log π_θ(o_t | q, o_<t) − log π_old(o_t | q, o_<t))

    L_t = −min(ρ_t A_i, clip(ρ_t, 1 − ε_low, 1 + ε_high) A_i) + β · KL3_t

GRPO's surrogate is Shao et al. 2024 (DeepSeekMath), eq. 3; separate ε_low / ε_high is DAPO's
"clip-higher" (Yu et al. 2025, eq. 10). The KL term uses the k3 estimator of Schulman 2020,
"Approximating KL divergence": with r = π_ref / π_θ, KL3 = r − log r − 1 ≥ 0, an unbiased,
low-variance estimate of KL(π_θ ‖ π_ref) (also DeepSeekMath eq. 4).

Aggregation over the batch's tokens (mask m_{i,t} = 1 for model-written tokens):
  * `token-mean` (DAPO, Yu et al. 2025, eq. 12): Σ_{i,t} m L / Σ_{i,t} m.
  * `seq-mean-token-mean` (GRPO as written in DeepSeekMath eq. 3): (1/G) Σ_i (Σ_t m L / Σ_t m).
  * `dr-grpo` (Liu et al. 2025, "Understanding R1-Zero-Like Training", eq. 2 / Dr. GRPO): Σ_{i,t} m L
    / (G · C) with a constant C (`dr_grpo_max_tokens`, default the longest completion in the batch),
    which removes the length bias of per-sequence normalisation.

The loss of a micro-batch is computed against batch-wide normalisers (`BatchNorm`), so summing the
micro-batch losses gives exactly the full-batch loss and gradient accumulation equals one big batch.

Numerical guards. Masks are applied by selection (`torch.where`), never by multiplication: 0 × inf
is NaN, and one huge value on a masked token would otherwise poison the whole sum and every weight.
Masked-out positions get old log-prob := log π_θ (ratio 1) before any arithmetic, so not even their
gradient can be NaN. The log-ratios inside `exp` are clamped to ±`LOG_RATIO_CLAMP` (as verl's
`compute_policy_loss` and `kl_penalty` do): a token whose ratio would overflow gets ρ = e^20, which
the clip treats as any other far-off-policy token, and the clamp passes it no gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "dr-grpo")

#: Bound of log π_θ − log π_old (and of log π_ref − log π_θ) before `exp` (verl uses 20 too).
LOG_RATIO_CLAMP = 20.0


@dataclass
class BatchNorm:
    """Batch-wide normalisers of one training step.

    Attributes:
        tokens: Σ m over the whole batch (≥ 1).
        sequences: number of completions G in the whole batch.
        constant: Dr. GRPO's constant C.
    """

    tokens: float
    sequences: int
    constant: float


@dataclass
class LossParts:
    """One micro-batch's loss (already normalised for the whole batch) and its summed, detached
    statistics `stats` = [loss, Σ KL3, low-clipped tokens, high-clipped tokens, Σ entropy, tokens] as
    one device tensor, so a step can add them up without a host sync per micro-batch."""

    loss: Tensor
    stats: Tensor

    @property
    def kl_sum(self) -> float:
        """Σ m·KL3 over the micro-batch."""
        return float(self.stats[1])

    @property
    def clip_low(self) -> float:
        """Tokens with A < 0 clipped at 1 − ε_low."""
        return float(self.stats[2])

    @property
    def clip_high(self) -> float:
        """Tokens with A > 0 clipped at 1 + ε_high."""
        return float(self.stats[3])

    @property
    def entropy_sum(self) -> float:
        """Σ m·entropy (0 without entropies)."""
        return float(self.stats[4])

    @property
    def tokens(self) -> float:
        """Σ m."""
        return float(self.stats[5])


def k3_kl(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k3 estimator of KL(π_θ ‖ π_ref) per token: r − log r − 1 with r = π_ref/π_θ (Schulman 2020);
    log r is clamped to ±`LOG_RATIO_CLAMP` so `exp` cannot overflow."""
    log_r = (ref_logp - logp).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    return torch.exp(log_r) - log_r - 1


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    norm: BatchNorm,
    aggregation: str,
    clip_low: float,
    clip_high: float,
    kl_coef: float = 0.0,
    ref_logp: Tensor | None = None,
    entropy: Tensor | None = None,
) -> LossParts:
    """Clipped surrogate + k3 KL of one micro-batch, normalised for the whole batch.

    Args:
        logp: [B, T] log π_θ of the completion tokens (with gradient).
        old_logp: [B, T] log π_old from the sampler.
        advantages: [B] group-relative advantage per completion.
        mask: [B, T] true (or 1) for tokens in the loss, false (0) for padding and inserted tokens;
            values at masked positions of every other input are never used.
        norm: batch-wide normalisers.
        aggregation: one of `AGGREGATIONS`.
        kl_coef: β; with β > 0, `ref_logp` [B, T] must be given.
        entropy: optional [B, T] token entropies, only summed for metrics.
    Raises:
        ValueError: unknown aggregation, or β > 0 without `ref_logp`.
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown loss aggregation {aggregation!r}")
    keep = mask.bool()
    adv = advantages[:, None]
    # masked positions: old := current (ratio 1), ref := current (KL 0), before any arithmetic
    old_logp = torch.where(keep, old_logp, logp.detach())
    log_ratio = (logp - old_logp).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1 - clip_low, 1 + clip_high)
    per_token = -torch.minimum(ratio * adv, clipped * adv)
    kl = torch.zeros_like(logp)
    if kl_coef > 0 and ref_logp is None:
        raise ValueError("kl_coef > 0 needs reference log-probs")
    if ref_logp is not None:
        kl = k3_kl(logp, torch.where(keep, ref_logp, logp.detach()))
        if kl_coef > 0:
            per_token = per_token + kl_coef * kl
    kept = torch.where(keep, per_token, torch.zeros_like(per_token))
    if aggregation == "token-mean":
        loss = kept.sum() / norm.tokens
    elif aggregation == "seq-mean-token-mean":
        loss = (kept.sum(-1) / keep.sum(-1).clamp(min=1)).sum() / norm.sequences
    else:
        loss = kept.sum() / (norm.sequences * norm.constant)
    with torch.no_grad():
        low = (ratio < 1 - clip_low) & (adv < 0) & keep
        high = (ratio > 1 + clip_high) & (adv > 0) & keep
        zero = torch.zeros((), device=logp.device)
        ent = torch.where(keep, entropy, zero).sum() if entropy is not None else zero
        kl_sum = torch.where(keep, kl.detach(), zero).sum()
        stats = torch.stack([loss.detach(), kl_sum, low.sum(), high.sum(), ent, keep.sum()])
        return LossParts(loss=loss, stats=stats.float())
