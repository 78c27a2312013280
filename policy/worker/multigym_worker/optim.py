"""AdamW with fp32 master weights and the learning-rate schedule.

With bf16 (or fp16) model weights, the optimizer updates fp32 master copies and writes them back
rounded (mixed-precision training, Micikevicius et al. 2018, §3.1), so small updates are not lost to
bf16 rounding. AdamW is Loshchilov & Hutter 2019, Algorithm 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .errors import NonFiniteError


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


def trainable_params(model: nn.Module) -> list[nn.Parameter]:
    """The distinct parameters that take gradients (a tied head once), in the optimizer's order."""
    return [p for p in {id(p): p for p in model.parameters()}.values() if p.requires_grad]


#: Keys every AdamW parameter group has (torch's own defaults), so a loaded group can step.
_GROUP_KEYS = frozenset(torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).param_groups[0])


def check_state_dict(state: Any, model: nn.Module) -> None:
    """Checks that `state` (`MasterAdamW.state_dict()` output, possibly from a file) fits `model`
    without building an optimizer: one entry per parameter, every moment of its parameter's shape.

    Raises:
        ValueError: naming the first mismatch.
    """
    shapes = [p.shape for p in trainable_params(model)]
    if not isinstance(state, dict) or not isinstance(state.get("opt"), dict):
        raise ValueError("optimizer state: expected {'opt': ..., 'masters': ...}")
    opt = state["opt"]
    groups, per_param = opt.get("param_groups"), opt.get("state")
    if not isinstance(groups, list) or not isinstance(per_param, dict):
        raise ValueError("optimizer state: 'param_groups' must be a list and 'state' a dict")
    ids: list[Any] = []
    for i, g in enumerate(groups):
        missing = _GROUP_KEYS - set(g) if isinstance(g, dict) else _GROUP_KEYS
        if missing or not isinstance(g.get("params"), list):
            raise ValueError(f"optimizer state: param_groups.{i} lacks {sorted(missing) or ['params']}")
        ids += g["params"]
    if sorted(ids) != list(range(len(shapes))):
        raise ValueError(f"optimizer state: covers {len(ids)} parameters, the model has {len(shapes)}")
    for idx, entry in per_param.items():
        if not isinstance(idx, int) or not 0 <= idx < len(shapes) or not isinstance(entry, dict):
            raise ValueError(f"optimizer state: malformed entry for parameter {idx!r}")
        for name, t in entry.items():
            if not isinstance(t, torch.Tensor):
                raise ValueError(f"optimizer state: state.{idx}.{name} is not a tensor")
            if t.dim() > 0 and t.shape != shapes[idx]:
                raise ValueError(
                    f"optimizer state: state.{idx}.{name} has shape {tuple(t.shape)}, "
                    f"the parameter {tuple(shapes[idx])}"
                )
    masters = state.get("masters")
    if masters is not None:
        if not isinstance(masters, list) or len(masters) != len(shapes):
            raise ValueError(f"optimizer state: masters must list {len(shapes)} tensors")
        for i, (m, shape) in enumerate(zip(masters, shapes, strict=True)):
            if not isinstance(m, torch.Tensor) or m.shape != shape:
                raise ValueError(f"optimizer state: masters.{i} does not match its parameter")


class MasterAdamW:
    """AdamW over fp32 masters of `model`'s parameters (the parameters themselves when fp32)."""

    def __init__(self, model: nn.Module, weight_decay: float, betas: tuple[float, float], eps: float) -> None:
        self.params = trainable_params(model)
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
        Raises:
            NonFiniteError: the norm is NaN or infinite; the gradients are dropped and neither the
                weights nor AdamW's state change.
        """
        if self.mixed:
            for m, p in zip(self.masters, self.params, strict=True):
                m.grad = None if p.grad is None else p.grad.float()
        norm = float(torch.nn.utils.clip_grad_norm_(self.masters, max_grad_norm))
        if not math.isfinite(norm):
            self.opt.zero_grad(set_to_none=True)
            self.zero_grad()
            raise NonFiniteError(
                f"the gradient norm is {norm}: the step was refused and changed nothing "
                "(no weight, no optimizer state); check the batch's old_logprobs and advantages"
            )
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.mixed:
            with torch.no_grad():
                for m, p in zip(self.masters, self.params, strict=True):
                    p.copy_(m)
                    p.grad = None
        return norm

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
        """Restores `state_dict()` output (check it first with `check_state_dict`). Without saved
        masters, the masters are taken from the parameters as they are now."""
        self.opt.load_state_dict(state["opt"])
        if self.mixed:
            with torch.no_grad():
                saved = state.get("masters")
                for i, (m, p) in enumerate(zip(self.masters, self.params, strict=True)):
                    m.copy_(saved[i] if saved is not None else p)
