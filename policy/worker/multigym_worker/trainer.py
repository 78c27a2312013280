"""GRPO and supervised steps: micro-batching, gradient accumulation, clipping, AdamW, metrics.

A step splits its samples into micro-batches of `micro_batch_size`, back-propagates each
micro-batch's share of the batch loss (see `grpo.BatchNorm`), then clips the global gradient norm and
applies one AdamW update, so k micro-batches give the same update as one batch.

A step whose loss, statistics or gradient norm is not finite is refused before the optimizer runs
(`NonFiniteError`): no weight, no AdamW moment, no schedule step and no reference policy changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import NonFiniteError
from .grpo import MAX_STATS, NO_TOKEN, SUM_STATS, BatchNorm, LossConfig, policy_loss
from .kl import kl_estimate
from .model import CausalLM
from .optim import MasterAdamW, Schedule


@dataclass
class OptimConfig:
    """Optimizer settings from the command line (the peak learning rate comes with each request)."""

    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    sft_max_grad_norm: float = 1.0


@dataclass
class TrainSeq:
    """One prompt + completion, already tokenized. `mask` marks completion tokens in the loss."""

    prompt: list[int]
    completion: list[int]
    old_logprobs: list[float] | None = None
    advantage: float = 0.0
    mask: list[int] | None = None


def to_device(t: Tensor, device: torch.device) -> Tensor:
    """Copies a host tensor to `device`; to CUDA through pinned memory without blocking the host."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def completion_logprobs(
    model: CausalLM,
    seqs: Sequence[TrainSeq],
    pad_id: int,
    with_entropy: bool,
    forward: Callable[[Tensor], Tensor] | None = None,
    entropy_grad: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Teacher-forced log π(completion token) for a right-padded micro-batch. Logits are computed
    only at completion positions. `forward` (default `model`) maps ids to hidden states, e.g. a
    `torch.compile`d model.

    Returns:
        (logp [B, Tc] fp32 with gradient, valid [B, Tc] bool for real completion positions,
        entropy [B, Tc] fp32 (with gradient only when `entropy_grad`: an entropy bonus) or None).
    """
    device = next(model.parameters()).device
    b = len(seqs)
    total = max(len(s.prompt) + len(s.completion) for s in seqs)
    tc = max(len(s.completion) for s in seqs)
    ids = torch.full((b, total), pad_id, dtype=torch.long)
    targets = torch.full((b, tc), pad_id, dtype=torch.long)
    where = torch.zeros((b, tc), dtype=torch.long)
    valid = torch.zeros((b, tc), dtype=torch.bool)
    for r, s in enumerate(seqs):
        full = s.prompt + s.completion
        ids[r, : len(full)] = torch.tensor(full)
        n = len(s.completion)
        targets[r, :n] = torch.tensor(s.completion)
        where[r, :] = len(s.prompt) - 1 + torch.arange(tc).clamp(max=n - 1)
        valid[r, :n] = True
    ids, targets, where, valid = (to_device(t, device) for t in (ids, targets, where, valid))
    hidden = (model if forward is None else forward)(ids)
    h = hidden.gather(1, where[..., None].expand(-1, -1, hidden.shape[-1]))
    logits = model.logits(h).float()
    lse = torch.logsumexp(logits, dim=-1)
    logp = logits.gather(-1, targets[..., None]).squeeze(-1) - lse
    entropy = None
    if with_entropy:
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            src, norm = (logits, lse) if entropy_grad else (logits.detach(), lse.detach())
            entropy = norm - (torch.softmax(src, dim=-1) * src).sum(-1)
    return logp, valid, entropy


class Trainer:
    """Owns the optimizers, the schedule and the frozen reference policy of one model."""

    def __init__(
        self, model: CausalLM, pad_id: int, optim: OptimConfig, schedule: Schedule, compile: bool = False
    ) -> None:
        self.model = model
        #: The training forward pass (`torch.compile`d with dynamic shapes when `compile`).
        self.forward: Callable[[Tensor], Tensor] = torch.compile(model, dynamic=True) if compile else model
        self.pad_id = pad_id
        self.optim_cfg = optim
        self.schedule = schedule
        self.opt: MasterAdamW | None = None
        #: Optimizer steps taken by `train_step` (drives the schedule).
        self.rl_steps = 0
        #: CPU copy of the weights at the first GRPO step: the frozen reference π_ref.
        self.ref_state: dict[str, Tensor] | None = None
        self._ref_model: CausalLM | None = None

    def optimizer(self) -> MasterAdamW:
        """The policy's AdamW, created on first use. SFT and GRPO steps share it: a warm-started
        policy keeps its moment estimates, so the first GRPO step is not a fresh Adam's sign-like
        step of size lr on every weight."""
        if self.opt is None:
            self.opt = self.new_optimizer()
        return self.opt

    def new_optimizer(self) -> MasterAdamW:
        """A fresh AdamW over the model's parameters (not installed)."""
        c = self.optim_cfg
        return MasterAdamW(self.model, c.weight_decay, (c.beta1, c.beta2), c.eps)

    def reference(self) -> CausalLM:
        """The frozen reference model, built from `ref_state` on first use."""
        if self._ref_model is None:
            assert self.ref_state is not None
            p = next(self.model.parameters())
            ref = CausalLM(self.model.config).to(device=p.device, dtype=p.dtype)
            ref.load_state_dict(self.ref_state, strict=False)
            ref.inv_freq = self.model.inv_freq.clone()
            ref.eval().requires_grad_(False)
            self._ref_model = ref
        return self._ref_model

    def reset(self) -> None:
        """Forgets all training state: optimizer moments, schedule position and reference policy."""
        self.opt = None
        self.rl_steps = 0
        self.set_reference(None)

    def snapshot(self) -> dict[str, Tensor]:
        """A CPU copy of the current weights (what π_ref is made of)."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def set_reference(self, state: dict[str, Tensor] | None) -> None:
        """Replaces the reference weights (checkpoint load)."""
        self.ref_state = state
        self._ref_model = None

    # ---- hooks for data parallelism (multigym_worker.distributed overrides them) ----------------

    def reduce_norm(self, norm: BatchNorm) -> BatchNorm:
        """The batch-wide normalisers of the whole step (here: this process's batch is the batch)."""
        return norm

    def reduce_sums(self, values: list[float]) -> list[float]:
        """Sums of per-process statistics over the whole step (here: unchanged)."""
        return values

    def reduce_max(self, values: list[float]) -> list[float]:
        """Maxima of per-process statistics over the whole step (here: unchanged)."""
        return values

    def micro_batches(self, seqs: list[TrainSeq], size: int) -> list[list[TrainSeq]]:
        """`seqs` cut into consecutive micro-batches of at most `size` (FSDP pads the count so every
        rank runs as many forward/backward passes as the others)."""
        return [seqs[i : i + size] for i in range(0, len(seqs), size)]

    def weights_changed(self) -> None:
        """Called after the model's weights were replaced in place (checkpoint load)."""

    def after_step(self) -> None:
        """Called after every applied optimizer step (FSDP hands the new weights to the sampler)."""

    def begin_micro_batch(self, last: bool) -> None:
        """Called before each micro-batch's forward pass; `last` marks the step's final one."""

    def backward(self, loss: Tensor) -> None:
        """Back-propagates one micro-batch's share of the step loss."""
        loss.backward()

    # ---- steps ------------------------------------------------------------------------------------

    def train_step(self, seqs: list[TrainSeq], hyper: dict) -> dict:
        """One GRPO update (see `grpo.policy_loss`); returns `TrainMetrics`.

        Raises:
            NonFiniteError: the loss, a statistic or the gradient norm is not finite; nothing changed.
        """
        t0 = time.perf_counter()
        first = self.ref_state is None
        if first:  # π_ref is the policy of the first GRPO step; kept only if that step succeeds
            self.set_reference(self.snapshot())
        try:
            return self._train_step(seqs, hyper, t0)
        except BaseException:
            if first:
                self.set_reference(None)
            raise

    def _train_step(self, seqs: list[TrainSeq], hyper: dict, t0: float) -> dict:
        cfg = LossConfig.from_hyper(hyper)
        opt = self.optimizer()
        masks = [
            torch.tensor(s.mask if s.mask is not None else [1] * len(s.completion), dtype=torch.bool)
            for s in seqs
        ]
        norm = self.reduce_norm(
            BatchNorm(
                tokens=float(sum(float(m.sum()) for m in masks)),
                sequences=sum(1 for m in masks if bool(m.any())),
                constant=cfg.loss_agg_norm or 1.0,
            )
        )
        norm.tokens = max(1.0, norm.tokens)
        norm.sequences = max(1, norm.sequences)
        self.model.train()
        opt.zero_grad()
        chunks = self.micro_batches(seqs, int(hyper["micro_batch_size"]))
        device = next(self.model.parameters()).device
        totals = torch.zeros(len(SUM_STATS), device=device)
        peaks = torch.full((len(MAX_STATS),), NO_TOKEN, device=device)
        for j, chunk in enumerate(chunks):
            self.begin_micro_batch(last=j == len(chunks) - 1)
            # per-token inputs are built on the host and copied without blocking the host
            tc = max(len(s.completion) for s in chunk)
            old_h = torch.zeros((len(chunk), tc))
            mask_h = torch.zeros((len(chunk), tc), dtype=torch.bool)
            for r, s in enumerate(chunk):
                n = len(s.completion)
                old_h[r, :n] = torch.tensor(s.old_logprobs, dtype=torch.float32)
                if s.mask is not None:
                    mask_h[r, :n] = torch.tensor(s.mask, dtype=torch.bool)
                else:
                    mask_h[r, :n] = True
            adv_h = torch.tensor([s.advantage for s in chunk], dtype=torch.float32)
            old, mask, adv = (to_device(t, device) for t in (old_h, mask_h, adv_h))
            logp, valid, entropy = completion_logprobs(
                self.model, chunk, self.pad_id, True, self.forward, entropy_grad=cfg.entropy_coeff > 0
            )
            mask = mask & valid
            ref_logp = None
            if cfg.kl_coef > 0:
                with torch.no_grad():
                    ref_logp, _, _ = completion_logprobs(
                        self.reference(), chunk, self.pad_id, with_entropy=False
                    )
            parts = policy_loss(logp, old, adv, mask, norm, cfg, ref_logp, entropy)
            self.backward(parts.loss)
            totals += parts.stats
            peaks = torch.maximum(peaks, parts.peaks)
        s = dict(zip(SUM_STATS, self.reduce_sums(totals.tolist()), strict=True))
        p = dict(zip(MAX_STATS, self.reduce_max(peaks.tolist()), strict=True))
        self._refuse_non_finite(opt, loss=s["loss"], kl=s["kl_sum"], entropy=s["entropy_sum"])
        lr = float(hyper["learning_rate"]) * self.schedule.factor(self.rl_steps)
        try:
            grad_norm = opt.clip_and_step(lr, float(hyper["max_grad_norm"]))
        finally:
            self.model.eval()
        self.rl_steps += 1
        self.after_step()
        synced = bool(hyper.get("sync_ref_model")) and self.rl_steps % int(hyper["ref_model_sync_steps"]) == 0
        if synced:
            self.sync_reference(float(hyper["ref_model_mixup_alpha"]))
        tokens = s["tokens"]
        denom = max(tokens, 1.0)
        return {
            "loss": s["loss"],
            "pg_loss": s["pg_loss"],
            "kl_loss": s["kl_loss"],
            "entropy_loss": s["entropy_loss"],
            "kl": s["kl_sum"] / denom,
            "entropy": s["entropy_sum"] / denom,
            "clip_frac_low": s["clip_low"] / denom,
            "clip_frac_high": s["clip_high"] / denom,
            "clip_frac_dual": s["clip_dual"] / denom,
            "ratio_mean": s["ratio_sum"] / denom if tokens else 1.0,
            "ratio_min": -p["neg_ratio_min"] if tokens else 1.0,
            "ratio_max": p["ratio_max"] if tokens else 1.0,
            "rollout_is_weight_mean": s["is_weight_sum"] / denom if tokens else 1.0,
            "rollout_is_capped_frac": s["is_capped"] / denom,
            "ref_model_synced": synced,
            "grad_norm": grad_norm,
            "tokens": int(tokens),
            "sequences": int(norm.sequences) if tokens else 0,
            "seconds": time.perf_counter() - t0,
            "learning_rate": lr,
        }

    def sync_reference(self, alpha: float) -> None:
        """π_ref ← α·π_θ + (1 − α)·π_ref, parameter by parameter (TR-DPO, Gorbatovski et al. 2024,
        soft update; TRL's `sync_ref_model` / `ref_model_mixup_alpha`); α = 1 copies π_θ exactly."""
        assert self.ref_state is not None
        now = self.model.state_dict()
        mixed = {}
        for k, ref in self.ref_state.items():
            cur = now[k].detach().to("cpu", dtype=ref.dtype, copy=True)
            mixed[k] = torch.lerp(ref, cur, alpha) if ref.is_floating_point() else cur
        self.set_reference(mixed)

    def reference_kl(
        self, seqs: list[TrainSeq], estimator: str, clamp: float, micro_batch_size: int
    ) -> list[float]:
        """Σ_t KL_t(π_θ ‖ π_ref) over each sequence's loss tokens (`kl.kl_estimate`), for a KL penalty
        in the reward (verl `use_kl_in_reward`). The reference is set to the current weights when no
        GRPO step has run yet (it would be at the first step)."""
        if self.ref_state is None:
            self.set_reference(self.snapshot())
        out: list[float] = []
        with torch.no_grad():
            for i in range(0, len(seqs), micro_batch_size):
                chunk = seqs[i : i + micro_batch_size]
                logp, valid, _ = completion_logprobs(self.model, chunk, self.pad_id, False)
                ref, _, _ = completion_logprobs(self.reference(), chunk, self.pad_id, False)
                keep = valid.clone()
                for r, s in enumerate(chunk):
                    if s.mask is not None:
                        own = torch.tensor(s.mask, dtype=torch.bool, device=keep.device)
                        keep[r, : len(s.completion)] &= own
                kl = kl_estimate(logp, torch.where(keep, ref, logp), estimator, clamp)
                out += torch.where(keep, kl, torch.zeros_like(kl)).sum(-1).tolist()
        return out

    def _refuse_non_finite(self, opt: MasterAdamW, **values: float) -> None:
        """Drops the gradients and raises `NonFiniteError` when a value is NaN or infinite."""
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            opt.zero_grad()
            self.model.eval()
            raise NonFiniteError(
                f"the step's {', '.join(f'{k} is {v}' for k, v in bad.items())}: the step was refused and "
                "changed nothing (no weight, no optimizer state); check the batch's old_logprobs and "
                "advantages"
            )

    def sft_step(self, seqs: list[TrainSeq], learning_rate: float, micro_batch_size: int) -> dict:
        """One supervised update: mean cross-entropy per completion token over the whole batch.

        Raises:
            NonFiniteError: the loss or the gradient norm is not finite; nothing changed.
        """
        t0 = time.perf_counter()
        opt = self.optimizer()
        (total,) = self.reduce_sums([float(sum(len(s.completion) for s in seqs))])
        self.model.train()
        opt.zero_grad()
        loss_total = torch.zeros((), device=next(self.model.parameters()).device)
        chunks = self.micro_batches(seqs, micro_batch_size)
        for j, chunk in enumerate(chunks):
            self.begin_micro_batch(last=j == len(chunks) - 1)
            logp, valid, _ = completion_logprobs(self.model, chunk, self.pad_id, False, self.forward)
            loss = -torch.where(valid, logp, torch.zeros_like(logp)).sum() / total
            self.backward(loss)
            loss_total += loss.detach()
        (loss_sum,) = self.reduce_sums([float(loss_total)])
        self._refuse_non_finite(opt, loss=loss_sum)
        try:
            opt.clip_and_step(learning_rate, self.optim_cfg.sft_max_grad_norm)
        finally:
            self.model.eval()
        self.after_step()
        return {"loss": loss_sum, "tokens": int(total), "seconds": time.perf_counter() - t0}
