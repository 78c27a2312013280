"""Data parallelism for the policy worker on torch.distributed (DDP), one process per GPU.

One training step (GRPO or SFT) over R ranks, each holding a full replica of the model:
  1. every rank holds the whole validated request (`launch.py` broadcasts it from rank 0) and keeps
     its shard of the samples (`shard_by_tokens`: longest first onto the rank with the fewest tokens);
  2. the batch-wide normalisers are all-reduced — Σ loss tokens and Σ sequences by sum, Dr. GRPO's
     constant C by max — so each rank's loss is its exact share of the one-process batch loss
     (`grpo.BatchNorm`; a per-rank token mean would weight short shards up);
  3. each rank back-propagates its micro-batches under `DistributedDataParallel`; gradients are
     all-reduced once, during the last micro-batch's backward (`no_sync` before it), and *summed*
     (a comm hook replaces DDP's average), so every rank holds Σ_r ∇L_r = ∇L of the whole batch;
  4. every rank clips and takes the same AdamW step (same gradients, same optimizer state).
So an R-rank step equals a one-process step on the same batch up to floating-point summation order.
A rank whose shard is empty (fewer samples than ranks) runs one empty completion: zero gradient, but
DDP's all-reduce still completes.

Generation: the request's rows (prompt × n) are cut into R contiguous blocks; rank r samples block r
alone — no collective runs while it decodes — and the blocks are all-gathered back in request order
once at the end. Every row has its own random stream (seeded by the request's seed and the row's
index in the request, `sampling.row_seed`), so a seeded request gives the same samples on any number
of ranks.

Python objects (requests, samples) travel over a separate gloo group with a long timeout (`control`),
so idle follower ranks can wait for the next request indefinitely; tensors use the default group
(NCCL on GPUs, gloo on CPU).

Optimizer sharding (`shard_optimizer`, ZeRO stage 1: Rajbhandari et al. 2020, "ZeRO", §5.1 P_os):
`torch.distributed.optim.ZeroRedundancyOptimizer` keeps AdamW's two moments of each fp32 master only
on the rank that owns it (8 bytes/parameter become 8/R); the owner updates its masters and broadcasts
them. The update is the same as unsharded AdamW's. Checkpoints hold the consolidated (whole) state,
so they load with or without sharding and with any number of ranks.

Limits: every rank holds the whole model, its gradients and the fp32 masters (no FSDP), so the
model must fit one device; `--compile` with DDP is untested.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from .grpo import BatchNorm
from .model import CausalLM
from .optim import MasterAdamW, Schedule
from .sampling import SampleOut, Sampler, SamplingParams
from .trainer import OptimConfig, Trainer, TrainSeq

#: How long follower ranks wait for the next request on the control group.
CONTROL_TIMEOUT = timedelta(days=30)


class DistributedSetupError(RuntimeError):
    """The process was not started by torchrun (no RANK / WORLD_SIZE / LOCAL_RANK) or a device is
    missing. `type` is stable."""

    type = "distributed_setup"


@dataclass
class DistContext:
    """This process's place in the process group.

    Attributes:
        rank: global rank, 0 serves HTTP.
        world_size: number of ranks R.
        device: this rank's device (cuda:LOCAL_RANK, or cpu).
        control: gloo group for Python objects (long timeout).
    """

    rank: int
    world_size: int
    device: torch.device
    control: dist.ProcessGroup


def init_distributed(device: str) -> DistContext:
    """Joins torchrun's process group: NCCL on `cuda` (rank r uses cuda:LOCAL_RANK), gloo on `cpu`.

    Raises:
        DistributedSetupError: not launched by torchrun, or fewer GPUs than local ranks.
    """
    try:
        rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    except KeyError as e:
        raise DistributedSetupError(
            f"--distributed needs torchrun's environment ({e.args[0]} is not set); start with "
            "`torchrun --nproc-per-node N -m multigym_worker --distributed ...`"
        ) from e
    dev = torch.device(device)
    if dev.type == "cuda":
        if local >= torch.cuda.device_count():
            raise DistributedSetupError(
                f"local rank {local} has no GPU ({torch.cuda.device_count()} visible)"
            )
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world)
    control = dist.new_group(backend="gloo", timeout=CONTROL_TIMEOUT)
    return DistContext(rank, world, dev, control)


def block_of(n: int, rank: int, world: int) -> tuple[int, int]:
    """[start, end) of rank `rank`'s contiguous block when `n` items are cut into `world` blocks
    whose sizes differ by at most one (the first `n % world` blocks are one larger)."""
    q, r = divmod(n, world)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def shard_by_tokens(lengths: Sequence[int], world: int) -> list[list[int]]:
    """Indices of each rank's samples: longest first onto the rank with the fewest tokens so far
    (ties: fewest samples, then lowest rank). Each shard keeps the request order. Deterministic, so
    every rank computes the same assignment."""
    load = [(0, 0)] * world
    shards: list[list[int]] = [[] for _ in range(world)]
    for i in sorted(range(len(lengths)), key=lambda j: (-lengths[j], j)):
        r = min(range(world), key=lambda k: (load[k], k))
        shards[r].append(i)
        load[r] = (load[r][0] + lengths[i], load[r][1] + 1)
    return [sorted(s) for s in shards]


def _sum_hook(group, bucket):  # noqa: ANN001, ANN202 - DDP checks a real (not string) annotation
    """DDP comm hook: all-reduce a gradient bucket (`dist.GradBucket`) by sum (DDP's default divides
    by R); returns a future of the reduced tensor."""
    fut = dist.all_reduce(bucket.buffer(), group=group, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


class ShardedMasterAdamW(MasterAdamW):
    """`MasterAdamW` whose AdamW moments are sharded over the ranks (ZeRO stage 1). Collective: every
    rank steps together. `state_dict` (rank 0 only, after `consolidate` on every rank) is the whole
    state in `MasterAdamW`'s format; `load_state_dict` takes a whole state and keeps this rank's part."""

    def __init__(
        self, model: torch.nn.Module, weight_decay: float, betas: tuple[float, float], eps: float
    ) -> None:
        from torch.distributed.optim import ZeroRedundancyOptimizer  # imports torch.jit (warnings)

        super().__init__(model, weight_decay, betas, eps)
        fused = all(m.is_cuda for m in self.masters)
        self.opt = ZeroRedundancyOptimizer(  # type: ignore[assignment]
            self.masters,
            optimizer_class=torch.optim.AdamW,
            lr=1e-3,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            fused=fused or None,
        )

    def consolidate(self) -> None:
        """Gathers the whole optimizer state on rank 0 (collective)."""
        self.opt.consolidate_state_dict(to=0)  # type: ignore[attr-defined]


class DistributedTrainer(Trainer):
    """`Trainer` whose steps run data-parallel over all ranks (see the module docstring). Every rank
    must call `train_step` / `sft_step` with the same whole batch."""

    def __init__(
        self,
        model: CausalLM,
        pad_id: int,
        optim: OptimConfig,
        schedule: Schedule,
        ctx: DistContext,
        compile: bool = False,
        shard_optimizer: bool = False,
    ) -> None:
        super().__init__(model, pad_id, optim, schedule, compile=False)
        self.ctx = ctx
        self.shard_optimizer = shard_optimizer
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        # DDP broadcasts rank 0's parameters at construction: all replicas start identical.
        self.ddp = DistributedDataParallel(model, device_ids=ids)
        self.ddp.register_comm_hook(None, _sum_hook)
        self.forward = torch.compile(self.ddp, dynamic=True) if compile else self.ddp
        self._sync = contextlib.ExitStack()
        self._empty = False

    def new_optimizer(self) -> MasterAdamW:
        """A fresh AdamW (`ShardedMasterAdamW` with `shard_optimizer`)."""
        if self.shard_optimizer:
            c = self.optim_cfg
            return ShardedMasterAdamW(self.model, c.weight_decay, (c.beta1, c.beta2), c.eps)
        return super().new_optimizer()

    def before_checkpoint(self) -> None:
        """Collective, on every rank before rank 0 writes a checkpoint: consolidates a sharded
        optimizer state on rank 0."""
        if isinstance(self.opt, ShardedMasterAdamW):
            self.opt.consolidate()

    def shard(self, seqs: list[TrainSeq]) -> list[TrainSeq]:
        """This rank's samples of the whole batch, or one empty completion when it has none."""
        mine = shard_by_tokens([len(s.prompt) + len(s.completion) for s in seqs], self.ctx.world_size)
        self._empty = not mine[self.ctx.rank]
        if self._empty:
            return [TrainSeq([self.pad_id], [], [], 0.0, None)]
        return [seqs[i] for i in mine[self.ctx.rank]]

    def train_step(self, seqs: list[TrainSeq], hyper: dict) -> dict:
        """One data-parallel GRPO update of the whole batch `seqs`; metrics are whole-batch sums/means."""
        return super().train_step(self.shard(seqs), hyper)

    def sft_step(self, seqs: list[TrainSeq], learning_rate: float, micro_batch_size: int) -> dict:
        """One data-parallel supervised update of the whole batch `seqs`."""
        return super().sft_step(self.shard(seqs), learning_rate, micro_batch_size)

    # ---- Trainer hooks ---------------------------------------------------------------------------

    def reduce_norm(self, norm: BatchNorm) -> BatchNorm:
        """Whole-batch normalisers: Σ tokens, Σ sequences over ranks, max of Dr. GRPO's C (the same
        constant on every rank)."""
        dev = self.ctx.device
        sums = torch.tensor(
            [norm.tokens, 0.0 if self._empty else float(norm.sequences)], dtype=torch.float64, device=dev
        )
        top = torch.tensor([norm.constant], dtype=torch.float64, device=dev)
        dist.all_reduce(sums)
        dist.all_reduce(top, op=dist.ReduceOp.MAX)
        return BatchNorm(tokens=float(sums[0]), sequences=round(float(sums[1])), constant=float(top[0]))

    def reduce_sums(self, values: list[float]) -> list[float]:
        """Σ over ranks of each value (float64)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.ctx.device)
        dist.all_reduce(t)
        return t.tolist()

    def reduce_max(self, values: list[float]) -> list[float]:
        """Maximum over ranks of each value (float64)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.ctx.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.tolist()

    def begin_micro_batch(self, last: bool) -> None:
        """Micro-batches before the last accumulate locally (`DistributedDataParallel.no_sync`)."""
        self._sync.close()
        if not last:
            self._sync.enter_context(self.ddp.no_sync())

    def backward(self, loss: Tensor) -> None:
        """Backward; on the last micro-batch DDP sums the accumulated gradients over ranks."""
        try:
            loss.backward()
        finally:
            self._sync.close()


class DistributedSampler:
    """Wraps a `Sampler`: each rank samples its contiguous block of the rows; the result (on every
    rank) lists all rows in request order. Every rank must call `generate` with the same rows."""

    def __init__(self, inner: Sampler, ctx: DistContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def generate(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[SampleOut]:
        """One sample per row, rows split over ranks and gathered back in order. Decoding runs no
        collective; the one collective is the final gather (on the control group, CPU)."""
        lo, hi = block_of(len(prompts), self.ctx.rank, self.ctx.world_size)
        local = self.inner.generate(prompts[lo:hi], params, first_row=lo)
        parts: list[Any] = [None] * self.ctx.world_size
        dist.all_gather_object(parts, local, group=self.ctx.control)
        return [o for part in parts for o in part]
