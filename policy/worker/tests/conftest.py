"""Test helpers: a real policy worker (aiohttp app on a free port, in a background thread)."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from aiohttp import web

from multigym_worker.__main__ import build_engine, parse_args, resume
from multigym_worker.engine import Engine
from multigym_worker.server import build_app

torch.set_num_threads(2)


class Worker:
    """A running worker: `post`/`get` return (status, JSON body); `token` is sent when set."""

    def __init__(self, engine: Engine, token: str | None = None, coalesce: bool = False) -> None:
        self.engine = engine
        self.token = token
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(build_app(engine, coalesce=coalesce, token=token))
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(30)
        self.url = f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def post(
        self, path: str, body: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return self.request("POST", path, body, raw, headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.request("GET", path, headers=headers)

    def ok(self, path: str, body: Any) -> Any:
        status, out = self.post(path, body)
        assert status == 200, out
        return out

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if self.own_root:
            shutil.rmtree(self.own_root, ignore_errors=True)

    own_root: str | None = None


def start_worker(*flags: str, token: str | None = None) -> Worker:
    """A fresh worker started with command-line `flags` (default: tiny on CPU, seed 0, a checkpoint
    root of its own that `stop()` removes, unless `--checkpoint-dir` is among the flags)."""
    own_root = None if "--checkpoint-dir" in flags else tempfile.mkdtemp(prefix="mg-ckroot-")
    root = ["--checkpoint-dir", own_root] if own_root else []
    args = parse_args(["--model", "tiny", "--device", "cpu", "--seed", "0", *root, *flags])
    engine = build_engine(args)
    resume(engine, args)
    w = Worker(engine, token, coalesce=args.coalesce_generate)
    w.own_root = own_root
    return w


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = start_worker()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def shared_worker() -> Iterator[Worker]:
    """One worker for a module's read-only tests (generation, validation)."""
    w = start_worker()
    yield w
    w.stop()
