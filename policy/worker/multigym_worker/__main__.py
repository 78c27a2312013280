"""`python -m multigym_worker`: starts the policy worker's HTTP server.

Example::

    python -m multigym_worker --model tiny --device cpu --host 127.0.0.1 --port 8765 --seed 0

Prints `multigym-worker listening on http://HOST:PORT` once it accepts requests (with `--port 0`, the
port the system picked).

Access: binds 127.0.0.1 by default. With a token (`MULTIGYM_POLICY_TOKEN`, `--auth-token-file`),
every route but /health needs `Authorization: Bearer <token>`; binding another address without a
token is refused unless `--allow-unauthenticated` is given. Checkpoints are confined to
`--checkpoint-dir`. See policy/worker/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sys
import threading
import time
from pathlib import Path

import torch
from aiohttp import web

from .auth import TokenConfigError, resolve_token
from .engine import Engine, EngineOptions, seed_all
from .errors import WorkerError
from .models import BUILTINS, load_model
from .optim import Schedule
from .paths import default_checkpoint_dir
from .server import build_app
from .trainer import OptimConfig

DTYPES = {
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "fp32": torch.float32,
    "float32": torch.float32,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(
        prog="multigym_worker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--model",
        default="tiny",
        help="tiny | small | base | a Hugging Face model directory | an installed model's name "
        "(e.g. smollm2-135m-instruct, see --models-dir)",
    )
    p.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="where installed models live (default $MULTIGYM_HOME/models, else ./.multigym/models)",
    )
    p.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu, cuda, cuda:N"
    )
    p.add_argument("--dtype", default=None, choices=sorted(DTYPES), help="default bf16 on CUDA, fp32 on CPU")
    p.add_argument("--seed", type=int, default=0, help="seeds weight init and the global RNGs")
    p.add_argument("--host", default="127.0.0.1", help="address to bind; another than loopback needs a token")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed)")
    p.add_argument(
        "--max-context", type=int, default=None, help="override the model's context length, tokens"
    )
    p.add_argument("--max-batch", type=int, default=256, help="most sequences decoded at once")
    p.add_argument("--no-cuda-graphs", action="store_true", help="decode without CUDA graphs")
    p.add_argument(
        "--coalesce-generate",
        action="store_true",
        help="decode concurrent generate requests with equal sampling settings as one batch (faster on a "
        "GPU with many small groups in flight; each request still gets the samples it would get alone)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the training forward pass")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--warmup-steps", type=int, default=0, help="GRPO steps of linear learning-rate warm-up")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant", help="after warm-up")
    p.add_argument("--total-steps", type=int, default=1000, help="GRPO steps of the cosine schedule")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine floor as a fraction of the peak")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW decoupled weight decay")
    p.add_argument("--adam-beta1", type=float, default=0.9)
    p.add_argument("--adam-beta2", type=float, default=0.999)
    p.add_argument("--adam-eps", type=float, default=1e-8)
    p.add_argument(
        "--checkpoint-dir",
        default=None,
        help="root of every /v1/checkpoint and /v1/load path (default MULTIGYM_CHECKPOINT_DIR, else "
        "$MULTIGYM_HOME/checkpoints, else ./.multigym/checkpoints)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="PATH",
        help="start from this checkpoint under --checkpoint-dir (weights, optimizer, policy version, "
        "idempotency records, run id), as POST /v1/load would",
    )
    p.add_argument(
        "--auth-token-file",
        default=None,
        help="file holding the bearer token (or MULTIGYM_POLICY_TOKEN_FILE / MULTIGYM_POLICY_TOKEN)",
    )
    p.add_argument(
        "--auth-token",
        default=None,
        help="bearer token; visible in the process list, prefer MULTIGYM_POLICY_TOKEN or a file",
    )
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback --host without a token (anyone who reaches the port controls training)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over torchrun's processes (one per GPU; gloo on CPU): rank 0 serves HTTP; "
        "see multigym_worker/launch.py",
    )
    p.add_argument(
        "--shard-optimizer",
        action="store_true",
        help="with --distributed: shard AdamW's moments over the ranks (ZeRO stage 1)",
    )
    p.add_argument(
        "--parallel",
        choices=("ddp", "fsdp"),
        default="ddp",
        help="with --distributed: ddp (a whole replica trains on every rank) or fsdp (FSDP2 "
        "fully_shard: fp32 weights, gradients and AdamW state sharded over the ranks; a whole "
        "replica in the serving dtype samples); see multigym_worker/fsdp.py",
    )
    args = p.parse_args(argv)
    if args.parallel == "fsdp" and not args.distributed:
        p.error("--parallel fsdp needs --distributed (start with torchrun)")
    if args.parallel == "fsdp" and args.compile:
        p.error("--compile is not supported with --parallel fsdp yet (drop one of them)")
    if args.parallel == "fsdp" and args.shard_optimizer:
        p.error("--shard-optimizer is for --parallel ddp; fsdp shards the optimizer state already")
    return args


def build_engine(args: argparse.Namespace) -> Engine:
    """Loads the model named by the flags and wraps it in an `Engine`."""
    device = torch.device(args.device)
    dtype_name = args.dtype or ("bf16" if device.type == "cuda" else "fp32")
    seed_all(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok, name = load_model(
        args.model, device, DTYPES[dtype_name], args.seed, args.max_context, args.models_dir
    )
    opts = EngineOptions(
        model_name=name,
        device=str(device),
        dtype=str(DTYPES[dtype_name]).removeprefix("torch."),
        seed=args.seed,
        max_batch=args.max_batch,
        cuda_graphs=not args.no_cuda_graphs,
        compile=args.compile,
        optim=OptimConfig(
            weight_decay=args.weight_decay, beta1=args.adam_beta1, beta2=args.adam_beta2, eps=args.adam_eps
        ),
        schedule=Schedule(args.warmup_steps, args.lr_schedule, args.total_steps, args.min_lr_ratio),
        # an installed model's name is resolved to its directory, which /v1/reset reads again
        model_source=args.model if args.model in BUILTINS else name,
        checkpoint_dir=args.checkpoint_dir or str(default_checkpoint_dir()),
        base_model=f"{name}@seed={args.seed}" if args.model in BUILTINS else name,
    )
    return Engine(model, tok, opts)


def resume(engine: Engine, args: argparse.Namespace) -> None:
    """`--resume PATH`: loads the checkpoint (confined to the root) into `engine`.

    Raises:
        WorkerError: the path is outside the root or the checkpoint does not load.
    """
    if args.resume:
        engine.load_path(engine.root.resolve(args.resume, "--resume"))


def access_token(args: argparse.Namespace) -> str | None:
    """The bearer token to require; exits with a message when the setup would be open to the network."""
    try:
        token = resolve_token(args.auth_token, args.auth_token_file)
    except TokenConfigError as e:
        sys.exit(f"multigym-worker: {e}")
    if token is None and not _loopback(args.host) and not args.allow_unauthenticated:
        sys.exit(
            f"multigym-worker: refusing to serve {args.host} without a token: anyone who reaches the port "
            "could train, overwrite or read the policy. Set MULTIGYM_POLICY_TOKEN (or --auth-token-file), "
            "or pass --allow-unauthenticated on a trusted network."
        )
    return token


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(args: argparse.Namespace) -> None:
    """Runs the server until cancelled."""
    token = access_token(args)
    engine = build_engine(args)
    try:
        resume(engine, args)
    except WorkerError as e:
        sys.exit(f"multigym-worker: --resume: {e.message}")
    runner = web.AppRunner(build_app(engine, token=token, coalesce=args.coalesce_generate), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the bound port for --port 0
    print(
        f"multigym-worker listening on http://{args.host}:{port} "
        f"(model {engine.opts.model_name}, {engine.opts.device}, {engine.opts.dtype}, "
        f"policy version {engine.policy_version}, checkpoints under {engine.root.root}"
        f"{', bearer token required' if token else ''})",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def exit_with_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Ends this process once `parent_pid` is gone (reparented), so a killed launcher leaks no worker.

    Turned on by the orchestrator with `MULTIGYM_EXIT_WITH_PARENT=1` (the parent is whoever started
    this process: the CLI, or torchrun for a rank); a daemon thread polls `os.getppid()`.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    if os.environ.get("MULTIGYM_EXIT_WITH_PARENT") == "1":
        exit_with_parent(os.getppid())
    if args.distributed:
        from .launch import main_distributed

        main_distributed(args)
        return
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
