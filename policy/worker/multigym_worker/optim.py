"""AdamW with fp32 master weights and the learning-rate schedule.

With bf16 (or fp16) model weights, the optimizer updates fp32 master copies and writes them back
rounded (mixed-precision training, Micikevicius et al. 2018, §3.1), so small updates are not lost to
bf16 rounding. AdamW is Loshchilov & Hutter 2019, Algorithm 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Schedule:
    """Linear warm-up over `warmup_steps`, then constant or cosine decay to `min_lr_ratio` × peak at
    `total_steps` (Loshchilov & Hutter 2017, SGDR eq. 5, without restarts)."""

    warmup_steps: int = 0
    kind: str = "constant"
    total_steps: int = 1000
    min_lr_ratio: float = 0.1

    def factor(self, step: int) -> float:
        """Multiplier of the peak learning rate for the 0-based optimizer step `step`."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class MasterAdamW:
    """AdamW over fp32 masters of `model`'s parameters (the parameters themselves when fp32)."""

    def __init__(self, model: nn.Module, weight_decay: float, betas: tuple[float, float], eps: float) -> None:
        self.params = [p for p in {id(p): p for p in model.parameters()}.values() if p.requires_grad]
        self.mixed = any(p.dtype != torch.float32 for p in self.params)
        if self.mixed:
            self.masters = [p.detach().float().clone() for p in self.params]
        else:
            self.masters = self.params
        fused = all(m.is_cuda for m in self.masters)  # one kernel for all tensors on CUDA
        self.opt = torch.optim.AdamW(
            self.masters, lr=1e-3, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused or None
        )

    def clip_and_step(self, lr: float, max_grad_norm: float) -> float:
        """Moves gradients to the masters, clips their global norm, steps and writes back.

        Returns:
            The global gradient norm before clipping.
        """
        if self.mixed:
            for m, p in zip(self.masters, self.params, strict=True):
                m.grad = None if p.grad is None else p.grad.float()
        norm = torch.nn.utils.clip_grad_norm_(self.masters, max_grad_norm)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.mixed:
            with torch.no_grad():
                for m, p in zip(self.masters, self.params, strict=True):
                    p.copy_(m)
                    p.grad = None
        return float(norm)

    def zero_grad(self) -> None:
        """Drops the model's gradients."""
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict:
        """Optimizer state plus the fp32 masters (mixed precision only)."""
        return {
            "opt": self.opt.state_dict(),
            "masters": [m.detach().cpu() for m in self.masters] if self.mixed else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()` output."""
        self.opt.load_state_dict(state["opt"])
        if self.mixed and state.get("masters") is not None:
            with torch.no_grad():
                for m, s in zip(self.masters, state["masters"], strict=True):
                    m.copy_(s)
