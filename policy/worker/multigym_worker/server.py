"""The aiohttp application: routes of policy/protocol.ts, validation, error bodies, one model lock.

Model work runs in a one-thread executor under an `asyncio.Lock`, so requests that touch the model
are serialized while the event loop keeps answering `/health` and `/v1/info`. With `coalesce=True`
(`--coalesce-generate`), generate requests that wait for the lock together and share their sampling
settings are decoded as one batch (`GenerateQueue`): many small groups in flight at once (one per
task, as the rollout activities send them) then fill the GPU instead of queueing one by one.

JSON is strict both ways (`jsonio`): a request with NaN or Infinity is a 400, and an answer that would
carry one becomes a 500 `non_finite_output` error instead of invalid JSON. Access control is the
`auth.guard` middleware (bearer token, `Content-Type: application/json`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from aiohttp import web

from . import jsonio
from .auth import guard
from .engine import Engine, coalesce_key
from .errors import CudaOomError, NonFiniteOutputError, RequestValidationError, WorkerError
from .validation import RequestValidator

log = logging.getLogger("multigym_worker")

ENGINE = web.AppKey("engine", Engine)
LOCK = web.AppKey("lock", asyncio.Lock)
POOL = web.AppKey("pool", ThreadPoolExecutor)
VALIDATOR = web.AppKey("validator", RequestValidator)

#: Runs one model request: `dispatch(route, body, call)` must return `call()`'s response. A
#: data-parallel worker's rank 0 first announces `(route, body)` to the other ranks
#: (`multigym_worker.launch`); the default runs `call()` alone.
Dispatch = Callable[[str, dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]]
DISPATCH = web.AppKey("dispatch", Callable[..., dict[str, Any]])


def run_here(_route: str, _body: dict[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The single-process `Dispatch`: runs `call()`."""
    return call()


def error_response(err: WorkerError) -> web.Response:
    """JSON error body with the error's status."""
    return web.json_response(err.body(), status=err.status, dumps=jsonio.dumps)


def json_answer(route: str, out: dict[str, Any]) -> web.Response:
    """A 200 answer in strict JSON, or a 500 `non_finite_output` error when `out` holds NaN/±inf."""
    try:
        return web.json_response(text=jsonio.dumps(out))
    except ValueError:
        log.error("%s produced a non-finite number; answered 500 instead of invalid JSON", route)
        return error_response(
            NonFiniteOutputError(
                f"{route}: the answer holds NaN or Infinity (the model's weights may be broken); load a "
                "checkpoint (POST /v1/load) or restart the worker"
            )
        )


def _is_oom(e: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    return isinstance(e, oom) or (isinstance(e, RuntimeError) and "CUDA out of memory" in str(e))


async def in_model_thread(app: web.Application, fn: Callable[[], Any]) -> Any:
    """Runs `fn` in the model thread (the caller holds the model lock); CUDA OOM becomes `CudaOomError`."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(app[POOL], fn)
    except Exception as e:
        if _is_oom(e):
            app[ENGINE].sampler.release()  # drop the cached decode graph and KV cache
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise CudaOomError(
                f"CUDA out of memory; the request was dropped, try a smaller batch ({e})"
            ) from e
        raise


async def run_model(app: web.Application, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Runs `fn` in the model thread under the model lock; CUDA OOM becomes `CudaOomError`."""
    async with app[LOCK]:
        return await in_model_thread(app, fn)


class GenerateQueue:
    """Generate requests waiting for the model lock; whoever gets the lock runs every waiting request
    with its `coalesce_key` as one batch (`Engine.generate_many`) and hands each its answer."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, dict[str, Any], asyncio.Future]] = []

    async def submit(self, app: web.Application, body: dict[str, Any]) -> dict[str, Any]:
        """The answer to one validated generate `body`; raises its `WorkerError`."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        key = coalesce_key(body)
        self.pending.append((key, body, fut))
        async with app[LOCK]:
            if not fut.done():  # not already answered as part of an earlier batch
                batch = [p for p in self.pending if p[0] == key]
                self.pending = [p for p in self.pending if p[0] != key]
                engine = app[ENGINE]

                def call() -> list[Any]:
                    engine.check_expected("/v1/generate", body)  # one key: one expectation
                    return engine.generate_many([b for _, b, _ in batch])

                try:
                    answers = await in_model_thread(app, call)
                except Exception as e:
                    for _, _, f in batch:
                        f.set_exception(e)
                else:
                    for (_, _, f), a in zip(batch, answers, strict=True):
                        f.set_exception(a) if isinstance(a, Exception) else f.set_result(a)
        return await fut


GENERATE_QUEUE = web.AppKey("generate_queue", GenerateQueue)


def model_route(
    route: str, method: Callable[[Engine, dict[str, Any]], dict[str, Any]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A POST handler: parse JSON, validate against the route's schema, run `method` on the engine."""

    async def handler(request: web.Request) -> web.Response:
        app = request.app
        try:
            try:
                raw = jsonio.loads(await request.read())
            except (ValueError, UnicodeDecodeError) as e:
                raise RequestValidationError(f"the body is not valid JSON: {e}") from e
            body = app[VALIDATOR].validate(route, raw)
            engine, dispatch = app[ENGINE], app[DISPATCH]

            def call() -> dict[str, Any]:
                # Under the model lock, before any rank runs the request (all ranks hold the same weights).
                engine.check_expected(route, body)
                return dispatch(route, body, lambda: method(engine, body))

            queue = app.get(GENERATE_QUEUE)
            if queue is not None and route == "/v1/generate":
                out = await queue.submit(app, body)
            else:
                out = await run_model(app, call)
            return json_answer(route, out)
        except WorkerError as e:
            return error_response(e)
        except Exception as e:  # a bug: answer 500 with the reason and keep serving
            log.exception("internal error on %s", route)
            return web.json_response(
                {"error": {"type": "internal", "message": f"{type(e).__name__}: {e}"}}, status=500
            )

    return handler


async def health(_request: web.Request) -> web.Response:
    """`GET /health`: liveness."""
    return web.json_response({"status": "ok"}, dumps=jsonio.dumps)


async def info(request: web.Request) -> web.Response:
    """`GET /v1/info`: model, device, dtype, policy version, run id, last applied key, sizes."""
    return json_answer("/v1/info", request.app[ENGINE].info())


def build_app(
    engine: Engine, dispatch: Dispatch | None = None, coalesce: bool = False, token: str | None = None
) -> web.Application:
    """The aiohttp application serving `engine`; `dispatch` (default `run_here`) runs model requests.
    `coalesce` batches concurrent generate requests (single process only: not with a `dispatch`);
    with `token`, every route but `/health` requires `Authorization: Bearer <token>`."""
    if coalesce and dispatch is not None:
        raise ValueError("coalescing generate requests is not supported with a data-parallel dispatch")
    app = web.Application(client_max_size=1024**3, middlewares=[guard(token, error_response)])
    if coalesce:
        app[GENERATE_QUEUE] = GenerateQueue()
    app[ENGINE] = engine
    app[DISPATCH] = dispatch or run_here
    app[LOCK] = asyncio.Lock()
    app[POOL] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
    app[VALIDATOR] = RequestValidator()

    async def shutdown(a: web.Application) -> None:
        a[POOL].shutdown(wait=False)

    app.on_cleanup.append(shutdown)
    app.router.add_get("/health", health)
    app.router.add_get("/v1/info", info)
    app.router.add_post("/v1/generate", model_route("/v1/generate", Engine.generate))
    app.router.add_post("/v1/train_step", model_route("/v1/train_step", Engine.train_step))
    app.router.add_post("/v1/sft_step", model_route("/v1/sft_step", Engine.sft_step))
    app.router.add_post("/v1/reference_kl", model_route("/v1/reference_kl", Engine.reference_kl))
    app.router.add_post("/v1/tokenize", model_route("/v1/tokenize", Engine.tokenize))
    app.router.add_post("/v1/checkpoint", model_route("/v1/checkpoint", Engine.save))
    app.router.add_post("/v1/load", model_route("/v1/load", Engine.load))
    app.router.add_post("/v1/reset", model_route("/v1/reset", Engine.reset))
    return app
