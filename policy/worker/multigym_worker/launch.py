"""`torchrun ... -m multigym_worker --distributed`: one worker process per GPU (or CPU process), data
parallel (see `distributed.py`).

    torchrun --nproc-per-node 2 -m multigym_worker --model base --device cuda --distributed --port 8765

Rank 0 serves the HTTP protocol alone. For every request that touches the model it first broadcasts
the validated body to the other ranks over the control group, then all ranks run the same `Engine`
method, so the policy version and the idempotency records stay identical everywhere:
  * `/v1/generate`: each rank samples its block of the rows, rank 0 answers with all of them;
  * `/v1/train_step`, `/v1/sft_step`: each rank computes its shard's gradients (DDP, summed; or
    FSDP with `--parallel fsdp`: reduce-scattered, then all-gathered into the sampler's replica);
  * `/v1/reference_kl`: every rank computes the whole batch (the same answer);
  * `/v1/checkpoint`: rank 0 alone writes the files (the replicas are identical) after a sharded
    optimizer state (`--shard-optimizer`, `--parallel fsdp`) is gathered;
  * `/v1/load`: every rank loads the same directory (one host, or a shared filesystem);
  * `/v1/reset`: every rank puts back the same base weights;
  * `/v1/tokenize`, `/health`, `/v1/info`: rank 0 alone, nothing is broadcast.
After each broadcast request the ranks exchange (outcome, policy version); this is also the barrier
that orders a checkpoint's files before the next request. Errors that every rank raises the same way
(validation, a missing checkpoint) are answered as usual; a rank that fails alone, or outcomes that
differ, end the process group (torchrun then stops every rank) rather than let replicas diverge.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

import torch.distributed as dist
from aiohttp import web

from .distributed import DistContext, DistributedSampler, DistributedTrainer, init_distributed
from .engine import Engine
from .errors import WorkerError
from .optim import Schedule
from .server import build_app
from .trainer import OptimConfig

log = logging.getLogger("multigym_worker.launch")

#: Routes every rank runs (with the same body).
ALL_RANKS: dict[str, Callable[[Engine, dict[str, Any]], dict[str, Any]]] = {
    "/v1/generate": Engine.generate,
    "/v1/train_step": Engine.train_step,
    "/v1/sft_step": Engine.sft_step,
    # every rank: under FSDP its forward passes are collective; under DDP it keeps the ranks'
    # idempotency records and reference policy the same
    "/v1/reference_kl": Engine.reference_kl,
    "/v1/load": Engine.load,
    "/v1/reset": Engine.reset,
}
#: Route announced to every rank but run by rank 0 alone.
SAVE = "/v1/checkpoint"
#: Message that ends the follower loops.
STOP = "stop"

Outcome = tuple[str, int]


def make_distributed(
    engine: Engine, ctx: DistContext, shard_optimizer: bool = False, parallel: str = "ddp"
) -> None:
    """Replaces `engine`'s trainer and sampler by their data-parallel versions (collective: every
    rank must call it, after loading the same model). `shard_optimizer`: ZeRO-1 AdamW moments (DDP);
    `parallel`: "ddp" or "fsdp" (`fsdp.FSDPTrainer`: the engine's model stays the sampler's whole
    replica, a sharded fp32 copy trains)."""
    o = engine.opts
    if parallel == "fsdp":
        from .fsdp import FSDPTrainer

        engine.trainer = FSDPTrainer(
            engine.model, engine.tok.pad_id, o.optim or OptimConfig(), o.schedule or Schedule(), ctx
        )
    else:
        engine.trainer = DistributedTrainer(
            engine.model,
            engine.tok.pad_id,
            o.optim or OptimConfig(),
            o.schedule or Schedule(),
            ctx,
            o.compile,
            shard_optimizer,
        )
    engine.sampler = DistributedSampler(engine.sampler, ctx)  # type: ignore[assignment]


def trainer(engine: Engine) -> DistributedTrainer:
    """`engine`'s data-parallel trainer (after `make_distributed`)."""
    assert isinstance(engine.trainer, DistributedTrainer)
    return engine.trainer


def exchange(ctx: DistContext, mine: Outcome) -> list[Outcome]:
    """All ranks' (outcome, policy version) of the request just run (a barrier)."""
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, mine, group=ctx.control)
    return out


class Coordinator:
    """Rank 0's `server.Dispatch`: announces model requests to the other ranks and checks that every
    rank ended the same way."""

    def __init__(self, engine: Engine, ctx: DistContext) -> None:
        self.engine = engine
        self.ctx = ctx

    def dispatch(
        self, route: str, body: dict[str, Any], call: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Runs `call()` on rank 0 and the same request on every other rank."""
        if route not in ALL_RANKS and route != SAVE:
            return call()
        dist.broadcast_object_list([(route, body)], src=0, group=self.ctx.control)
        outcome = "ok"
        try:
            if route == SAVE:
                trainer(self.engine).before_checkpoint()
            return call()
        except WorkerError as e:
            outcome = e.type
            raise
        except BaseException:
            log.critical("rank 0 failed on %s; ending the process group", route, exc_info=True)
            os._exit(1)
        finally:
            outcomes = exchange(self.ctx, (outcome, self.engine.policy_version))
            if any(o != outcomes[0] for o in outcomes):
                log.critical("ranks diverged on %s: %s; ending the process group", route, outcomes)
                os._exit(1)

    def stop(self) -> None:
        """Ends the follower loops."""
        dist.broadcast_object_list([(STOP, None)], src=0, group=self.ctx.control)


def follow(engine: Engine, ctx: DistContext) -> None:
    """A rank > 0: runs the requests rank 0 announces until it says stop. Exceptions other than
    `WorkerError` propagate (the process exits and torchrun stops the group)."""
    while True:
        msg: list[Any] = [None]
        dist.broadcast_object_list(msg, src=0, group=ctx.control)
        route, body = msg[0]
        if route == STOP:
            return
        outcome = "ok"
        try:
            if route == SAVE:
                trainer(engine).before_checkpoint()
            else:
                ALL_RANKS[route](engine, body)
        except WorkerError as e:
            outcome = e.type
        exchange(ctx, (outcome, engine.policy_version))


async def serve_rank0(
    args: argparse.Namespace, engine: Engine, coord: Coordinator, token: str | None
) -> None:
    """Rank 0's HTTP server; runs until cancelled, then stops the followers."""
    runner = web.AppRunner(build_app(engine, coord.dispatch, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the bound port for --port 0
    print(
        f"multigym-worker listening on http://{args.host}:{port} "
        f"(model {engine.opts.model_name}, {engine.opts.device}, {engine.opts.dtype}, "
        f"data parallel over {coord.ctx.world_size} ranks)",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        coord.stop()


def main_distributed(args: argparse.Namespace) -> None:
    """Entry point of `--distributed` (under torchrun)."""
    from .__main__ import access_token, build_engine, resume  # the single-process flags and loader

    token = access_token(args)
    ctx = init_distributed(args.device)
    args.device = str(ctx.device)
    try:
        engine = build_engine(args)
        make_distributed(engine, ctx, args.shard_optimizer, args.parallel)
        resume(engine, args)  # every rank: after the data-parallel trainer exists
        if ctx.rank == 0:
            asyncio.run(serve_rank0(args, engine, Coordinator(engine, ctx), token))
        else:
            follow(engine, ctx)
    except KeyboardInterrupt:
        pass
    finally:
        dist.destroy_process_group()
