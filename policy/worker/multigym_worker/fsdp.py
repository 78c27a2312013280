"""Fully sharded data parallelism (FSDP2, `torch.distributed.fsdp.fully_shard`) for the training step,
beside DDP (`distributed.py`); `--parallel fsdp` with `--distributed`.

Why: under DDP every rank holds the fp32 master weights and AdamW's two moments of the whole model
(4 + 8 bytes/parameter, + 2 for a bf16 copy): a 3B model needs 42 GB before activations. FSDP
(Zhao et al. 2023, "PyTorch FSDP"; ZeRO stage 3, Rajbhandari et al. 2020 §5.1 P_os+g+p) keeps 1/R of
every fp32 parameter, gradient and moment on each rank and all-gathers one decoder layer at a time
for its forward and backward.

One step over R ranks (the same batch arithmetic as DDP, `distributed.DistributedTrainer`):
  1. each rank keeps its shard of the samples (`shard_by_tokens`) and the batch normalisers are
     all-reduced, so each rank's loss is its exact share of the whole-batch loss;
  2. every rank runs the same number of micro-batches (the count is all-reduced by max; a rank with
     fewer runs empty ones: zero loss) because every forward all-gathers each layer's weights;
  3. each micro-batch's backward reduce-scatters its gradients by *sum* (gradient divide factor 1),
     so after the last one each rank holds its 1/R slice of ∇L of the whole batch;
  4. every rank clips (global norm over the sharded gradients) and steps AdamW on its slices.
So an R-rank step equals a one-process step on the same batch up to floating-point summation order.

The trained model is a second, sharded fp32 copy (`FSDPTrainer.model`); the engine's model stays a
whole replica in the serving dtype that the sampler decodes with (no collective per token, CUDA
graphs unchanged). After every step `after_step` all-gathers the new weights into it, one tensor at a
time. Under bf16 the sharded fp32 parameters are the masters and the forward/backward run in bf16
(`MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32)`), so gradients are reduced in fp32 (DDP
reduces bf16 gradients): the two agree to bf16 rounding, not bit for bit.

Checkpoints, two ways:
  * `save_train_state` / `load_train_state` write and read the sharded model and optimizer through
    `torch.distributed.checkpoint` (DCP): every rank writes its own slices, and the directory loads
    at any world size, including one process without a process group (a plain model), because DCP
    reshards by parameter name and global offsets. Nothing is gathered on one rank.
  * the worker's `/v1/checkpoint` keeps its one format (`checkpoint.py`): weights from the replica,
    the whole optimizer state first gathered on rank 0 (`FSDPAdamW.consolidate`), so a worker
    checkpoint loads under FSDP, DDP or one process alike. Cost: the whole fp32 state passes through
    rank 0's host memory (12 bytes/parameter: 36 GB for 3B); a DCP-backed `/v1/checkpoint` is not
    wired yet.

Limits: a layer is the unit of sharding (its whole weights are gathered for its forward); the
reference policy (KL) is a second sharded copy built from a whole CPU copy (as under DDP); the
replica costs 2 bytes/parameter (bf16) on every rank; `--compile` is untested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import Tensor
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_state_dict,
    set_model_state_dict,
    set_state_dict,
)
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from .distributed import DistContext, DistributedTrainer
from .model import CausalLM, ModelConfig
from .optim import MasterAdamW, Schedule
from .trainer import OptimConfig, Trainer, TrainSeq


def shard_model(model: CausalLM, param_dtype: torch.dtype | None = None) -> CausalLM:
    """Applies `fully_shard` to every decoder layer, then to the root (embeddings, final norm, head:
    a tied head shares the root's group). `param_dtype`: the forward/backward dtype when it differs
    from the parameters' (mixed precision; gradients reduced in fp32). Collective; in place.

    Returns:
        `model`, whose parameters are now `DTensor`s sharded on dim 0 over the default group.
    """
    mp = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32) if param_dtype else None
    kw: dict[str, Any] = {"mp_policy": mp} if mp else {}
    for layer in model.model.layers:
        fully_shard(layer, **kw)
    fully_shard(model, **kw)
    for m in model.modules():
        if isinstance(m, FSDPModule):
            # sum over ranks (each rank's loss is its share); a plain SUM reduce-scatter, since
            # gloo has no PREMUL_SUM (what a factor alone would use)
            m.set_gradient_divide_factor(1.0)
            m.set_force_sum_reduction_for_comms(True)
    return model


def sharded_copy(model: CausalLM, param_dtype: torch.dtype | None) -> CausalLM:
    """An fp32 sharded copy of the whole `model` (every rank passes the same weights). Collective.
    Built on the meta device and sharded before any storage exists, so no rank ever holds the whole
    fp32 model."""
    return sharded_from(
        model.config, model.inv_freq, next(model.parameters()).device, param_dtype, model.state_dict()
    )


def sharded_from(
    cfg: ModelConfig, inv_freq: Tensor, device: torch.device, param_dtype: torch.dtype | None, whole: dict
) -> CausalLM:
    """A sharded fp32 `CausalLM(cfg)` on `device` holding the whole state dict `whole`. Collective."""
    with torch.device("meta"):
        train = CausalLM(cfg)
    shard_model(train, param_dtype)
    train.to_empty(device=device)
    train.inv_freq = inv_freq.detach().to(device, copy=True)
    load_whole(train, whole)
    return train


def load_whole(sharded: CausalLM, whole: dict[str, Tensor]) -> None:
    """Copies a whole (unsharded) state dict, the same on every rank, into `sharded`'s slices (no
    communication; `whole` is left as it is: DCP's `set_model_state_dict` would free its tensors)."""
    with torch.no_grad():
        for name, dest in sharded.state_dict().items():
            if name in whole:
                dest.copy_(slice_like(whole[name], dest))


class FSDPAdamW(MasterAdamW):
    """`MasterAdamW` over the sharded fp32 parameters (they are the masters). Its checkpoint form is
    the whole state in `MasterAdamW`'s format (`masters` holds the whole fp32 weights when the
    replica serves in another dtype), gathered on rank 0 by `consolidate` (run on every rank), so a
    worker checkpoint written under FSDP loads under DDP, in one process and at any world size, and
    the reverse."""

    def __init__(
        self, model: CausalLM, weight_decay: float, betas: tuple[float, float], eps: float, mixed: bool
    ):
        super().__init__(model, weight_decay, betas, eps)
        self.replica_mixed = mixed
        self._whole: dict | None = None

    def consolidate(self, to: int = 0) -> None:
        """Gathers the whole state on rank `to` (collective: every rank all-gathers each tensor in
        turn; only `to` keeps a host copy, so one host holds the 12 bytes/parameter once, not once
        per rank); `state_dict` returns it there until the next step."""
        keep = (dist.get_rank() if dist.is_initialized() else 0) == to

        def host(t: Tensor) -> Tensor | None:
            whole = full_tensor(t.detach())
            return whole.to("cpu", copy=True) if keep else None

        whole = super().state_dict()  # its per-parameter dicts are the live state: build new ones
        state = {i: {k: host(v) for k, v in entry.items()} for i, entry in whole["opt"]["state"].items()}
        whole["opt"] = {**whole["opt"], "state": state}
        whole["masters"] = [host(m) for m in self.masters] if self.replica_mixed else None
        self._whole = whole if keep else None

    def state_dict(self) -> dict:
        """The state gathered by the last `consolidate` (on the rank it gathered to).

        Raises:
            RuntimeError: `consolidate` has not run since the last step, or gathered to another rank.
        """
        if self._whole is None:
            raise RuntimeError(
                "FSDPAdamW.state_dict: call consolidate() on every rank first (rank 0 holds it)"
            )
        return self._whole

    def clip_and_step(self, lr: float, max_grad_norm: float) -> float:
        """`MasterAdamW.clip_and_step` on the slices (the norm is the global one)."""
        self._whole = None
        return super().clip_and_step(lr, max_grad_norm)

    def load_state_dict(self, state: dict) -> None:
        """Takes a whole state (`MasterAdamW` format) and keeps this rank's slice of every tensor;
        saved `masters` replace the sharded fp32 weights."""
        self._whole = None
        _materialise(self)
        own = self.opt.state_dict()
        groups = state["opt"]["param_groups"]
        for i in range(len(self.masters)):
            for k, v in state["opt"]["state"].get(i, {}).items():
                own["state"][i][k] = slice_like(v, own["state"][i][k])
        own["param_groups"] = [
            {**g, "params": og["params"]} for g, og in zip(groups, own["param_groups"], strict=True)
        ]
        self.opt.load_state_dict(own)
        if state.get("masters") is not None:
            with torch.no_grad():
                for m, whole in zip(self.masters, state["masters"], strict=True):
                    m.copy_(slice_like(whole, m))


def full_tensor(t: Tensor) -> Tensor:
    """The whole tensor of a DTensor (all-gather: collective), or `t` itself."""
    return t.full_tensor() if isinstance(t, DTensor) else t


def slice_like(whole: Tensor, like: Tensor) -> Tensor:
    """This rank's part of `whole` laid out as the DTensor `like` (no communication: every rank
    holds `whole`), or `whole` itself when `like` is a plain tensor (AdamW's `step`)."""
    if not isinstance(like, DTensor):  # a copy: AdamW increments `step` in place
        return whole.to(like.device, like.dtype, copy=True) if like.dim() else whole.to(like.dtype, copy=True)
    return distribute_tensor(
        whole.to(like.device, like.dtype), like.device_mesh, like.placements, src_data_rank=None
    )


class FSDPTrainer(DistributedTrainer):
    """`Trainer` whose steps run fully sharded over all ranks (module docstring). `replica` is the
    engine's whole model, which the sampler reads; it receives the new weights after every step."""

    def __init__(
        self,
        replica: CausalLM,
        pad_id: int,
        optim: OptimConfig,
        schedule: Schedule,
        ctx: DistContext,
    ) -> None:
        dtype = next(replica.parameters()).dtype
        model = sharded_copy(replica, None if dtype == torch.float32 else dtype)
        Trainer.__init__(self, model, pad_id, optim, schedule, compile=False)
        self.replica = replica
        self.ctx = ctx
        self.shard_optimizer = False
        self._empty = False

    def new_optimizer(self) -> MasterAdamW:
        """AdamW over the sharded fp32 parameters (they are the masters)."""
        c = self.optim_cfg
        mixed = self.replica_dtype != torch.float32
        return FSDPAdamW(self.model, c.weight_decay, (c.beta1, c.beta2), c.eps, mixed)

    def before_checkpoint(self) -> None:
        """Collective, on every rank before rank 0 writes a worker checkpoint: gathers the whole
        optimizer state (the weights are the replica's, the reference is whole already)."""
        if isinstance(self.opt, FSDPAdamW):
            self.opt.consolidate()

    def weights_changed(self) -> None:
        """The replica's weights were replaced (checkpoint load): re-shard them into the trained
        copy. Every rank loads the same weights, so no communication is needed."""
        load_whole(self.model, self.replica.state_dict())

    def micro_batches(self, seqs: list[TrainSeq], size: int) -> list[list[TrainSeq]]:
        """This rank's micro-batches, padded with empty ones to the largest count over the ranks."""
        chunks = Trainer.micro_batches(self, seqs, size)
        (most,) = self.reduce_max([float(len(chunks))])
        empty = TrainSeq([self.pad_id], [], [], 0.0, None)
        return chunks + [[empty]] * (int(most) - len(chunks))

    def begin_micro_batch(self, last: bool) -> None:
        """Every micro-batch reduce-scatters its gradients (they accumulate on the slices)."""

    def backward(self, loss: Tensor) -> None:
        """Backward; FSDP reduce-scatters (sums) the gradients layer by layer."""
        loss.backward()

    def after_step(self) -> None:
        """All-gathers the new weights into the sampler's replica, one tensor at a time. Collective."""
        publish(self.model, self.replica)

    def snapshot(self) -> dict[str, Tensor]:
        """A whole CPU copy of the current weights (π_ref), taken from the replica (it holds them
        after every step), so checkpoints write it as under DDP."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.replica.state_dict().items()}

    def reference(self) -> CausalLM:
        """The frozen reference model: a sharded copy of `ref_state`, built on first use."""
        if self._ref_model is None:
            assert self.ref_state is not None
            mp = None if self.replica_dtype == torch.float32 else self.replica_dtype
            ref = sharded_from(self.model.config, self.model.inv_freq, self.ctx.device, mp, self.ref_state)
            ref.eval().requires_grad_(False)
            self._ref_model = ref
        return self._ref_model

    @property
    def replica_dtype(self) -> torch.dtype:
        """The serving dtype (the replica's)."""
        return next(self.replica.parameters()).dtype

    def sync_reference(self, alpha: float) -> None:
        """π_ref ← α·π_θ + (1 − α)·π_ref (TR-DPO soft update, as `Trainer`), π_θ read from the
        replica."""
        assert self.ref_state is not None
        now = self.replica.state_dict()
        mixed = {}
        for k, ref in self.ref_state.items():
            cur = now[k].detach().to("cpu", dtype=ref.dtype, copy=True)
            mixed[k] = torch.lerp(ref, cur, alpha) if ref.is_floating_point() else cur
        self.set_reference(mixed)

    def reset(self) -> None:
        """Forgets the training state and re-shards the replica's weights (after `/v1/reset` put the
        base weights back into it)."""
        super().reset()
        load_whole(self.model, self.replica.state_dict())


def publish(sharded: CausalLM, replica: CausalLM) -> None:
    """replica ← the whole weights of `sharded` (all-gathered one parameter at a time, cast to the
    replica's dtype). Collective: every rank calls it."""
    dest = replica.state_dict()
    with torch.no_grad():
        for name, value in sharded.state_dict().items():
            dest[name].copy_(full_tensor(value))


# ---- checkpoints through torch.distributed.checkpoint --------------------------------------------


def _state(model: torch.nn.Module, opt: MasterAdamW | None) -> dict[str, Any]:
    if opt is None:
        return {"model": get_model_state_dict(model)}
    msd, osd = get_state_dict(model, opt.opt)
    return {"model": msd, "optim": osd}


def save_train_state(model: torch.nn.Module, opt: MasterAdamW | None, path: Path) -> None:
    """Writes the model's weights and (when given) AdamW's state to the DCP directory `path`; every
    rank writes its own slices. Collective when a process group is up. Parameters are keyed by name,
    the optimizer state by parameter name (DCP's `get_state_dict`), so the files do not depend on
    the world size."""
    dcp.save(_state(model, opt), checkpoint_id=str(path))


def load_train_state(model: torch.nn.Module, opt: MasterAdamW | None, path: Path) -> None:
    """Reads a `save_train_state` directory into `model` (sharded over any number of ranks, or a
    plain model in one process without a process group) and `opt` (created already; its moments are
    created by a zero step if it has none yet, so DCP finds tensors to load into).

    Raises:
        FileNotFoundError, RuntimeError: DCP's, naming the path or the missing key.
    """
    if opt is not None and not opt.opt.state:
        _materialise(opt)
    state = _state(model, opt)
    dcp.load(state, checkpoint_id=str(path))
    if opt is None:
        set_model_state_dict(model, state["model"])
    else:
        set_state_dict(model, opt.opt, model_state_dict=state["model"], optim_state_dict=state["optim"])


def _materialise(opt: MasterAdamW) -> None:
    """Creates AdamW's per-parameter state without changing a weight: one step with zero gradients
    and learning rate 0 (so `step`, `exp_avg`, `exp_avg_sq` exist and have their shapes)."""
    saved = [g["lr"] for g in opt.opt.param_groups]
    for g in opt.opt.param_groups:
        g["lr"] = 0.0
    for m in opt.masters:
        m.grad = torch.zeros_like(m)
    opt.opt.step()
    opt.opt.zero_grad(set_to_none=True)
    for g, lr in zip(opt.opt.param_groups, saved, strict=True):
        g["lr"] = lr
