"""Test helpers: a real policy worker (aiohttp app on a free port, in a background thread)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from aiohttp import web

from multigym_worker.__main__ import build_engine, parse_args
from multigym_worker.engine import Engine
from multigym_worker.server import build_app

torch.set_num_threads(2)


class Worker:
    """A running worker: `post`/`get` return (status, JSON body)."""

    def __init__(self, engine: Engine, coalesce: bool = False) -> None:
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(build_app(engine, coalesce=coalesce))
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

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def post(self, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        return self.request("POST", path, body, raw)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def ok(self, path: str, body: Any) -> Any:
        status, out = self.post(path, body)
        assert status == 200, out
        return out

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_worker(*flags: str) -> Worker:
    """A fresh worker started with command-line `flags` (default: tiny on CPU, seed 0)."""
    args = parse_args(["--model", "tiny", "--device", "cpu", "--seed", "0", *flags])
    return Worker(build_engine(args), coalesce=args.coalesce_generate)


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
