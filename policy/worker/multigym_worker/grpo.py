"""The GRPO family's clipped policy-gradient loss on completion tokens (see docs/algorithms.md).

For completion o_i with advantage A_i, token t, sampling (behaviour) policy μ and current policy π_θ:

    ρ_t = π_θ(o_t) / μ(o_t)                                             (PPO ratio)
    pg_t = max(−A_i ρ_t, −A_i clip(ρ_t, 1 − ε_low, 1 + ε_high))          (Shao et al. 2024, eq. 3;
                                                                          DAPO clip-higher, eq. 10)
    pg_t = min(pg_t, −A_i c)            if A_i < 0 and `clip_ratio_c` = c (dual-clip PPO, Ye et al.
                                                                          2020, arXiv:1912.09729)
    L_t  = pg_t + β · KL_t                                               (KL estimator: `kl.py`)
    L    = agg(L) − `entropy_coeff` · agg(H)                             (entropy bonus)

Rollout correction (`rollout_is`, verl's decoupled mode; Yao et al. 2025 "truncated importance
sampling"; Hilton et al. 2021, decoupled PPO, arXiv:2110.00641): for samples that a stale or
numerically different sampler drew, the trust region is taken around π_old, the weights at the
start of this step, and the gap between π_old and μ is corrected by a truncated importance weight:

    ρ_t = π_θ(o_t) / π_old(o_t),   w = min(π_old/μ, C)   (per token, or per sequence: Π_t over o_i)
    pg_t ← w · pg_t                  (w carries no gradient; C = `rollout_is_threshold`)

The worker takes one optimizer step per batch, so π_old is the value of π_θ in this step's forward
pass (ρ_t = 1 with gradient ∇log π_θ): clipping and dual-clip then never bind, and C bounds the update.

Aggregation `agg` over the loss mask m (verl's `loss_agg_mode`; B = sequences with a token in the loss,
over the whole batch):
  * `token-mean` (DAPO eq. 12): Σ_{i,t} m L / Σ_{i,t} m.
  * `seq-mean-token-sum`: (1/B) Σ_i Σ_t m L.
  * `seq-mean-token-mean` (DeepSeekMath eq. 3): (1/B) Σ_i (Σ_t m L / Σ_t m).
  * `seq-mean-token-sum-norm` (Dr. GRPO, Liu et al. 2025, Fig. 1 / TRL `dr_grpo`): (1/B) Σ_{i,t} m L / C
    with a constant C (`loss_agg_norm`, the generation budget): the same tokens always get the same
    weight, whatever the longest completion of the batch.

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
from typing import Any

import torch
from torch import Tensor

from .errors import RequestValidationError
from .kl import KL_ESTIMATORS, LOG_RATIO_CLAMP, k3_kl, kl_estimate

__all__ = ["AGG_MODES", "BatchNorm", "LossConfig", "LossParts", "grpo_loss", "k3_kl", "policy_loss"]

AGG_MODES = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")
ROLLOUT_IS_LEVELS = ("token", "sequence")

#: Statistics summed over micro-batches (and ranks), in `LossParts.stats` order.
SUM_STATS = (
    "loss", "pg_loss", "kl_loss", "entropy_loss", "kl_sum", "clip_low", "clip_high", "clip_dual",
    "entropy_sum", "tokens", "ratio_sum", "is_weight_sum", "is_capped",
)  # fmt: skip
#: Statistics reduced by maximum, in `LossParts.peaks` order (the minimum ratio as −ratio).
MAX_STATS = ("ratio_max", "neg_ratio_min")
#: Fill of `neg_ratio_min` where no token is in the loss (any real −ρ ≥ −e^20 is larger).
NO_TOKEN = -1e30


@dataclass
class BatchNorm:
    """Batch-wide normalisers of one training step.

    Attributes:
        tokens: Σ m over the whole batch (≥ 1).
        sequences: completions with at least one token in the loss, whole batch (≥ 1).
        constant: `loss_agg_norm`, the constant C of `seq-mean-token-sum-norm` (1 for other modes).
    """

    tokens: float
    sequences: int
    constant: float


@dataclass(frozen=True)
class LossConfig:
    """The loss options of one step, named as verl names them (TRL's names in brackets).

    Attributes:
        loss_agg_mode: one of `AGG_MODES` [TRL `loss_type`: dapo/bnpo → token-mean, grpo →
            seq-mean-token-mean, dr_grpo → seq-mean-token-sum-norm].
        clip_low: ε_low [TRL `epsilon`]; clip_high: ε_high [TRL `epsilon_high`].
        clip_ratio_c: dual-clip constant c > 1 for A < 0, or None [TRL `delta`].
        kl_coef: β of the KL loss term [TRL `beta`]; kl_estimator: one of `KL_ESTIMATORS`;
            kl_clamp: bound of the per-token estimate.
        entropy_coeff: entropy bonus coefficient [TRL `entropy_coef`].
        rollout_is: None, `token` or `sequence`; rollout_is_threshold: the cap C of the importance
            weight [TRL `vllm_importance_sampling_mode` *_truncate / `vllm_importance_sampling_clip_max`].
        loss_agg_norm: the constant C of `seq-mean-token-sum-norm` (required by it, refused otherwise)
            [TRL `max_completion_length`; verl `loss_scale_factor`].
    """

    loss_agg_mode: str = "token-mean"
    clip_low: float = 0.2
    clip_high: float = 0.2
    clip_ratio_c: float | None = None
    kl_coef: float = 0.0
    kl_estimator: str = "k3"
    kl_clamp: float = 10.0
    entropy_coeff: float = 0.0
    rollout_is: str | None = None
    rollout_is_threshold: float = 2.0
    loss_agg_norm: float | None = None

    def __post_init__(self) -> None:
        """Raises `RequestValidationError` (field `hyper.<name>`) for an inconsistent option."""

        def bad(field: str, message: str) -> RequestValidationError:
            return RequestValidationError(f"hyper.{field}: {message}", f"hyper.{field}")

        if self.loss_agg_mode not in AGG_MODES:
            raise bad("loss_agg_mode", f"unknown mode {self.loss_agg_mode!r} (one of {', '.join(AGG_MODES)})")
        if self.kl_estimator not in KL_ESTIMATORS:
            raise bad("kl_estimator", f"unknown estimator {self.kl_estimator!r} (k1, k2 or k3)")
        if self.clip_ratio_c is not None and self.clip_ratio_c <= 1:
            raise bad("clip_ratio_c", f"the dual-clip constant must be > 1, got {self.clip_ratio_c}")
        if self.rollout_is is not None and self.rollout_is not in ROLLOUT_IS_LEVELS:
            raise bad("rollout_is", f"unknown level {self.rollout_is!r} (token or sequence)")
        if self.rollout_is_threshold <= 0:
            raise bad("rollout_is_threshold", "the importance-weight cap must be > 0")
        if self.kl_clamp <= 0:
            raise bad("kl_clamp", "the KL clamp must be > 0")
        norm_mode = self.loss_agg_mode == "seq-mean-token-sum-norm"
        if norm_mode and (self.loss_agg_norm is None or self.loss_agg_norm <= 0):
            raise bad(
                "loss_agg_norm",
                "seq-mean-token-sum-norm divides by a constant: give loss_agg_norm > 0 (Dr. GRPO: the "
                "generation budget, e.g. the largest max_tokens)",
            )
        if not norm_mode and self.loss_agg_norm is not None:
            raise bad("loss_agg_norm", f"is used by seq-mean-token-sum-norm only, not {self.loss_agg_mode}")

    @classmethod
    def from_hyper(cls, hyper: dict[str, Any]) -> LossConfig:
        """The loss options of a validated `TrainHyper` body (defaults for absent keys)."""
        c = hyper.get("clip_ratio_c")
        return cls(
            loss_agg_mode=hyper.get("loss_agg_mode", "token-mean"),
            clip_low=float(hyper.get("clip_low", 0.2)),
            clip_high=float(hyper.get("clip_high", 0.2)),
            clip_ratio_c=None if c is None else float(c),
            kl_coef=float(hyper.get("kl_coef", 0.0)),
            kl_estimator=hyper.get("kl_estimator", "k3"),
            kl_clamp=float(hyper.get("kl_clamp", 10.0)),
            entropy_coeff=float(hyper.get("entropy_coeff", 0.0)),
            rollout_is=hyper.get("rollout_is"),
            rollout_is_threshold=float(hyper.get("rollout_is_threshold", 2.0)),
            loss_agg_norm=None if hyper.get("loss_agg_norm") is None else float(hyper["loss_agg_norm"]),
        )


@dataclass
class LossParts:
    """One micro-batch's loss (already normalised for the whole batch) and its detached statistics:
    `stats` (summed, `SUM_STATS` order) and `peaks` (maxima, `MAX_STATS` order), one device tensor
    each, so a step can add them up without a host sync per micro-batch."""

    loss: Tensor
    stats: Tensor
    peaks: Tensor

    def stat(self, name: str) -> float:
        """One statistic by its `SUM_STATS` or `MAX_STATS` name."""
        if name in MAX_STATS:
            return float(self.peaks[MAX_STATS.index(name)])
        return float(self.stats[SUM_STATS.index(name)])


def aggregate(values: Tensor, keep: Tensor, norm: BatchNorm, mode: str) -> Tensor:
    """This micro-batch's share of `agg(values)` over the whole batch (module docstring).

    Args:
        values: [B, T] per-token values; positions where `keep` is false are never read.
        keep: [B, T] bool loss mask.
    """
    kept = torch.where(keep, values, torch.zeros_like(values))
    if mode == "token-mean":
        return kept.sum() / norm.tokens
    if mode == "seq-mean-token-sum":
        return kept.sum() / norm.sequences
    if mode == "seq-mean-token-mean":
        return (kept.sum(-1) / keep.sum(-1).clamp(min=1)).sum() / norm.sequences
    if mode == "seq-mean-token-sum-norm":
        return kept.sum() / (norm.sequences * norm.constant)
    raise ValueError(f"unknown loss aggregation {mode!r}")


def importance_weights(
    logp: Tensor, behaviour: Tensor, keep: Tensor, level: str, cap: float
) -> tuple[Tensor, Tensor]:
    """Truncated importance weights w = min(π_old/μ, C), π_old = `logp` detached.

    Returns:
        (w [B, T] without gradient, capped [B, T] bool: tokens whose weight hit C).
    """
    log_w = torch.where(keep, logp.detach() - behaviour, torch.zeros_like(logp))
    log_w = log_w.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    if level == "sequence":
        log_w = log_w.sum(-1, keepdim=True).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).expand_as(logp)
    raw = torch.exp(log_w)
    return raw.clamp(max=cap), (raw > cap) & keep


def policy_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    norm: BatchNorm,
    cfg: LossConfig,
    ref_logp: Tensor | None = None,
    entropy: Tensor | None = None,
) -> LossParts:
    """Clipped surrogate + KL term − entropy bonus of one micro-batch, normalised for the whole batch.

    Args:
        logp: [B, T] log π_θ of the completion tokens (with gradient).
        old_logp: [B, T] log μ, the sampling policy's log-probs (`old_logprobs` of the request).
        advantages: [B] advantage per completion (the same for all its tokens).
        mask: [B, T] true (or 1) for tokens in the loss, false (0) for padding and inserted tokens;
            values at masked positions of every other input are never used.
        norm: batch-wide normalisers.
        cfg: the loss options.
        ref_logp: [B, T] log π_ref; required when `cfg.kl_coef` > 0 (else only a statistic).
        entropy: [B, T] token entropies; with gradient when `cfg.entropy_coeff` > 0.
    Raises:
        ValueError: β > 0 without `ref_logp`, or an entropy bonus without `entropy`.
    """
    if cfg.kl_coef > 0 and ref_logp is None:
        raise ValueError("kl_coef > 0 needs reference log-probs")
    if cfg.entropy_coeff > 0 and entropy is None:
        raise ValueError("entropy_coeff > 0 needs token entropies")
    keep = mask.bool()
    adv = advantages[:, None]
    zeros = torch.zeros_like(logp)
    # masked positions: behaviour := current (ratio 1), ref := current (KL 0), before any arithmetic
    behaviour = torch.where(keep, old_logp, logp.detach())
    behaviour_ratio = torch.exp((logp - behaviour).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    weight = capped = None
    if cfg.rollout_is is None:
        ratio = behaviour_ratio
    else:
        ratio = torch.exp(torch.where(keep, logp - logp.detach(), zeros))  # π_θ/π_old = 1, gradient ∇log π_θ
        weight, capped = importance_weights(logp, behaviour, keep, cfg.rollout_is, cfg.rollout_is_threshold)
    clipped = torch.clamp(ratio, 1 - cfg.clip_low, 1 + cfg.clip_high)
    pg = torch.maximum(-adv * ratio, -adv * clipped)
    dual = torch.zeros_like(keep)
    if cfg.clip_ratio_c is not None:
        bound = -adv * cfg.clip_ratio_c
        dual = (adv < 0) & (pg > bound) & keep
        pg = torch.where(adv < 0, torch.minimum(pg, bound), pg)
    if weight is not None:
        pg = pg * weight
    pg_loss = aggregate(pg, keep, norm, cfg.loss_agg_mode)
    kl = zeros
    if ref_logp is not None:
        kl = kl_estimate(logp, torch.where(keep, ref_logp, logp.detach()), cfg.kl_estimator, cfg.kl_clamp)
    kl_loss = aggregate(kl, keep, norm, cfg.loss_agg_mode)
    ent = entropy if entropy is not None else zeros
    entropy_loss = aggregate(ent, keep, norm, cfg.loss_agg_mode)
    loss = pg_loss
    if cfg.kl_coef > 0:
        loss = loss + cfg.kl_coef * kl_loss
    if cfg.entropy_coeff > 0:
        loss = loss - cfg.entropy_coeff * entropy_loss
    with torch.no_grad():
        ratio_now = behaviour_ratio.detach()
        low = (ratio < 1 - cfg.clip_low) & (adv < 0) & keep
        high = (ratio > 1 + cfg.clip_high) & (adv > 0) & keep
        z = torch.zeros((), device=logp.device)

        def total(x: Tensor) -> Tensor:
            return torch.where(keep, x.detach(), z).sum()

        sums = [
            loss.detach(), pg_loss.detach(), kl_loss.detach(), entropy_loss.detach(), total(kl),
            low.sum(), high.sum(), dual.sum(), total(ent), keep.sum(), total(ratio_now),
            total(weight) if weight is not None else keep.sum(),
            capped.sum() if capped is not None else z,
        ]  # fmt: skip
        peaks = [
            torch.where(keep, ratio_now, z).max() if keep.numel() else z,
            torch.where(keep, -ratio_now, torch.full_like(ratio_now, NO_TOKEN)).max()
            if keep.numel()
            else torch.full((), NO_TOKEN, device=logp.device),
        ]
        stats = torch.stack([torch.as_tensor(s, device=logp.device).float() for s in sums])
        return LossParts(loss=loss, stats=stats, peaks=torch.stack(peaks).float())


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
    **options: Any,
) -> LossParts:
    """`policy_loss` with the options spelled out: `aggregation` is `loss_agg_mode`, `options` any
    other `LossConfig` field (e.g. `clip_ratio_c=3.0`); `loss_agg_norm` defaults to `norm.constant`."""
    if aggregation == "seq-mean-token-sum-norm":
        options.setdefault("loss_agg_norm", norm.constant)
    cfg = LossConfig(
        loss_agg_mode=aggregation, clip_low=clip_low, clip_high=clip_high, kl_coef=kl_coef, **options
    )
    return policy_loss(logp, old_logp, advantages, mask, norm, cfg, ref_logp, entropy)
