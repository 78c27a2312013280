"""Helpers for tests that run several gloo ranks on CPU in processes spawned by
`torch.multiprocessing`: each rank joins the group, runs its part, rank 0 saves what the test checks."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from multigym_worker.distributed import DistContext

CPU = torch.device("cpu")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join(rank: int, world: int, port: int) -> DistContext:
    """Joins a gloo group of `world` ranks on 127.0.0.1:`port` (one CPU thread per rank)."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    return DistContext(rank, world, CPU, dist.new_group(backend="gloo"))


def _entry(rank: int, fn: Callable[..., Any], world: int, port: int, out: str, args: tuple) -> None:
    ctx = join(rank, world, port)
    try:
        result = fn(ctx, *args)
        if rank == 0:
            torch.save(result, Path(out) / "result.pt")
    finally:
        dist.destroy_process_group()


def run_ranks(fn: Callable[..., Any], world: int, *args: Any) -> Any:
    """Runs `fn(ctx, *args)` on `world` gloo ranks (a module-level function, for spawn) and returns
    rank 0's result (saved with torch.save, so it may hold tensors)."""
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(_entry, args=(fn, world, free_port(), d, args), nprocs=world, join=True)
        return torch.load(Path(d) / "result.pt", weights_only=False)


def assert_same_update(
    name: str,
    start: dict[str, torch.Tensor],
    one: dict[str, torch.Tensor],
    two: dict[str, torch.Tensor],
    lr: float,
    steps: int,
) -> None:
    """Asserts that two runs of the same `steps` AdamW updates from the weights `start` (one process;
    several ranks) moved every tensor alike, when their gradients agree only to float rounding (the
    ranks sum in another order). Adam divides each element's step by that element's own RMS, so an
    element whose gradient is ~0 steps by about ±lr with the sign of its rounding noise (seen: 1 to 2
    elements of a tensor off by 3e-5 at lr 1e-3 on one CPU, none on another: 1.5e-4 of a small
    tensor's update norm). So the updates are compared norm-relative (1e-3; a wrong reduction is off by
    order 1), and no element may differ by more than 2·lr a step (AdamW: Loshchilov & Hutter 2019,
    "Decoupled Weight Decay Regularization", Algorithm 2)."""
    for k, w in one.items():
        d1, d2 = w - start[k], two[k] - start[k]
        err = float((d2 - d1).norm())
        assert err <= 1e-3 * float(d1.norm()) + 1e-7, (name, k, err, float(d1.norm()))
        worst = float((two[k] - w).abs().max())
        assert worst <= 2 * lr * steps, (name, k, worst)
