"""`--coalesce-generate`: generate requests waiting for the model together, with the same sampling
settings, are decoded as one batch, and each gets the answer it would have got alone (seeded
sampling included: every row keeps its own request's random stream)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from conftest import start_worker

from multigym_worker.server import GENERATE_QUEUE, LOCK


def test_waiting_requests_are_batched_per_sampling_settings_and_answer_as_alone() -> None:
    w = start_worker("--coalesce-generate")
    try:
        bodies: list[dict[str, Any]] = [
            {"prompts": [p], "n": 1 + i % 2, "max_tokens": 6, "temperature": 1, "seed": 10 + i}
            for i, p in enumerate(["hello", "2+2=", "abc def", "xxxxx", "the cat sat", "1 2 3"])
        ]
        bodies.append({"prompts": ["other"], "max_tokens": 3, "temperature": 0})  # another key
        bodies.append({"prompt_token_ids": [[5, 99_999]], "max_tokens": 6, "temperature": 1})  # invalid
        alone = [w.post("/v1/generate", b) for b in bodies]
        assert alone[-1][0] == 400 and alone[-1][1]["error"]["type"] == "token_out_of_range"

        rows_per_call: list[int] = []
        generate = w.engine.sampler.generate

        def counting(rows, params, **kw):  # noqa: ANN001, ANN003, ANN202
            rows_per_call.append(len(rows))
            return generate(rows, params, **kw)

        w.engine.sampler.generate = counting
        app = w.runner.app
        asyncio.run_coroutine_threadsafe(app[LOCK].acquire(), w.loop).result(5)  # hold the model
        answers: list[Any] = [None] * len(bodies)

        def send(i: int) -> None:
            answers[i] = w.post("/v1/generate", bodies[i])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(app[GENERATE_QUEUE].pending) < len(bodies) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(app[GENERATE_QUEUE].pending) == len(bodies)
        w.loop.call_soon_threadsafe(app[LOCK].release)
        for t in threads:
            t.join(60)
    finally:
        w.stop()
    # One batch for the six (9 rows: n alternates 1, 2) plus the invalid one's key-mates, one for "other".
    assert sorted(rows_per_call) == [1, 9]
    assert answers[-1] == alone[-1]
    for (status, got), (_, want) in zip(answers[:-1], alone[:-1], strict=True):
        assert status == 200
        for g, a in zip(got["results"], want["results"], strict=True):
            assert g["prompt_token_ids"] == a["prompt_token_ids"]
            for gs, s in zip(g["samples"], a["samples"], strict=True):
                assert gs["token_ids"] == s["token_ids"] and gs["text"] == s["text"]
                assert gs["logprobs"] == pytest.approx(s["logprobs"], abs=1e-4)


def test_without_the_flag_requests_run_one_by_one(shared_worker) -> None:  # noqa: ANN001
    assert shared_worker.runner.app.get(GENERATE_QUEUE) is None
