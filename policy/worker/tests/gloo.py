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
