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
from .grpo import BatchNorm, grpo_loss
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
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Teacher-forced log π(completion token) for a right-padded micro-batch. Logits are computed
    only at completion positions. `forward` (default `model`) maps ids to hidden states, e.g. a
    `torch.compile`d model.

    Returns:
        (logp [B, Tc] fp32 with gradient, valid [B, Tc] bool for real completion positions,
        entropy [B, Tc] fp32 without gradient or None).
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
        with torch.no_grad():
            probs = torch.softmax(logits.detach(), dim=-1)
            entropy = lse.detach() - (probs * logits.detach()).sum(-1)
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

    def begin_micro_batch(self, last: bool) -> None:
        """Called before each micro-batch's forward pass; `last` marks the step's final one."""

    def backward(self, loss: Tensor) -> None:
        """Back-propagates one micro-batch's share of the step loss."""
        loss.backward()

    # ---- steps ------------------------------------------------------------------------------------

    def train_step(self, seqs: list[TrainSeq], hyper: dict) -> dict:
        """One GRPO update (see `grpo.grpo_loss`); returns `TrainMetrics`.

        Raises:
            NonFiniteError: the loss, a statistic or the gradient norm is not finite; nothing changed.
        """
        t0 = time.perf_counter()
        first = self.ref_state is None
        if first:  # π_ref is the policy of the first GRPO step; kept only if that step succeeds
            self.set_reference(
                {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            )
        try:
            return self._train_step(seqs, hyper, t0)
        except BaseException:
            if first:
                self.set_reference(None)
            raise

    def _train_step(self, seqs: list[TrainSeq], hyper: dict, t0: float) -> dict:
        opt = self.optimizer()
        kl_coef = float(hyper["kl_coef"])
        masks = [
            torch.tensor(s.mask if s.mask is not None else [1] * len(s.completion), dtype=torch.bool)
            for s in seqs
        ]
        norm = self.reduce_norm(
            BatchNorm(
                tokens=float(sum(float(m.sum()) for m in masks)),
                sequences=len(seqs),
                constant=float(hyper.get("dr_grpo_max_tokens") or max(len(s.completion) for s in seqs)),
            )
        )
        norm.tokens = max(1.0, norm.tokens)
        self.model.train()
        opt.zero_grad()
        mb = int(hyper["micro_batch_size"])
        device = next(self.model.parameters()).device
        totals = torch.zeros(6, device=device)
        for i in range(0, len(seqs), mb):
            chunk = seqs[i : i + mb]
            self.begin_micro_batch(last=i + mb >= len(seqs))
            # per-token inputs are built on the host and copied without blocking the host
            tc = max(len(s.completion) for s in chunk)
            old_h = torch.zeros((len(chunk), tc))
            mask_h = torch.zeros((len(chunk), tc), dtype=torch.bool)
            for r, s in enumerate(chunk):
                n = len(s.completion)
                old_h[r, :n] = torch.tensor(s.old_logprobs, dtype=torch.float32)
                mask_h[r, :n] = masks[i + r]
            adv_h = torch.tensor([s.advantage for s in chunk], dtype=torch.float32)
            old, mask, adv = (to_device(t, device) for t in (old_h, mask_h, adv_h))
            logp, valid, entropy = completion_logprobs(self.model, chunk, self.pad_id, True, self.forward)
            mask = mask & valid
            ref_logp = None
            if kl_coef > 0:
                with torch.no_grad():
                    ref_logp, _, _ = completion_logprobs(
                        self.reference(), chunk, self.pad_id, with_entropy=False
                    )
            parts = grpo_loss(
                logp,
                old,
                adv,
                mask,
                norm,
                hyper["loss_aggregation"],
                float(hyper["clip_low"]),
                float(hyper["clip_high"]),
                kl_coef,
                ref_logp,
                entropy,
            )
            self.backward(parts.loss)
            totals += parts.stats
        sums = self.reduce_sums(totals.tolist())
        loss_sum, kl_sum, low, high, ent, tokens = sums
        self._refuse_non_finite(opt, loss=loss_sum, kl=kl_sum, entropy=ent)
        lr = float(hyper["learning_rate"]) * self.schedule.factor(self.rl_steps)
        try:
            grad_norm = opt.clip_and_step(lr, float(hyper["max_grad_norm"]))
        finally:
            self.model.eval()
        self.rl_steps += 1
        denom = max(tokens, 1.0)
        return {
            "loss": loss_sum,
            "kl": kl_sum / denom,
            "clip_frac_low": low / denom,
            "clip_frac_high": high / denom,
            "entropy": ent / denom,
            "grad_norm": grad_norm,
            "tokens": int(tokens),
            "seconds": time.perf_counter() - t0,
            "learning_rate": lr,
        }

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
        for i in range(0, len(seqs), micro_batch_size):
            chunk = seqs[i : i + micro_batch_size]
            self.begin_micro_batch(last=i + micro_batch_size >= len(seqs))
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
        return {"loss": loss_sum, "tokens": int(total), "seconds": time.perf_counter() - t0}
