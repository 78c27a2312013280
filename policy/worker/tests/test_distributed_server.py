"""The data-parallel worker as users start it: torchrun, 2 gloo ranks on CPU, HTTP on rank 0, AdamW
state sharded (DDP with `--shard-optimizer`, and FSDP with `--parallel fsdp`), so a checkpoint first
gathers it.

Covers what only the launcher does: requests announced to rank 1, generation gathered in request
order, idempotent replays, an error every rank raises, a checkpoint written by rank 0 and loaded by
both ranks (a step after the load repeats the step after the save exactly).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent.parent


class Launched:
    """`torchrun --standalone --nproc-per-node 2 -m multigym_worker --distributed` (tiny, CPU) with
    `flags` (how the state is sharded)."""

    def __init__(self, root: Path, flags: list[str]) -> None:
        env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        cmd += ["-m", "multigym_worker", "--model", "tiny", "--device", "cpu", "--distributed"]
        cmd += [
            "--port",
            "0",
            "--threads",
            "1",
            "--seed",
            "3",
            *flags,
            "--checkpoint-dir",
            str(root),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        while True:
            line = self.lines.get(timeout=300)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def ok(self, path: str, body: Any) -> Any:
        status, out = self.post(path, body)
        assert status == 200, (out, "".join(self.log[-30:]))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: torchrun and its 2 ranks
        self.proc.wait(60)


@pytest.fixture(params=[["--shard-optimizer"], ["--parallel", "fsdp"]], ids=["ddp-zero1", "fsdp"])
def launched(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    w = Launched(tmp_path, request.param)
    yield w
    w.stop()


def test_two_rank_worker_over_http(launched: Launched, tmp_path: Path) -> None:
    w = launched
    prompts = ["one two", "three", "four five six", "seven"]
    ids = w.ok("/v1/tokenize", {"texts": prompts, "return_ids": True})["token_ids"]
    gen = w.ok("/v1/generate", {"prompts": prompts, "n": 3, "max_tokens": 6, "temperature": 0})
    # 12 rows over 2 ranks: prompt 1's three samples are split between the ranks, greedy agrees
    assert [r["prompt_token_ids"] for r in gen["results"]] == ids
    for r in gen["results"]:
        assert len(r["samples"]) == 3
        assert len({tuple(s["token_ids"]) for s in r["samples"]}) == 1
    sampled = w.ok("/v1/generate", {"prompts": prompts, "n": 4, "max_tokens": 6, "seed": 1})
    samples = [
        {
            "prompt_token_ids": r["prompt_token_ids"],
            "completion_token_ids": s["token_ids"],
            "old_logprobs": s["logprobs"],
            "advantage": (j % 2) - 0.5,
        }
        for r in sampled["results"]
        for j, s in enumerate(r["samples"])
    ]
    hyper = {"learning_rate": 1e-3, "micro_batch_size": 3, "kl_coef": 0.02}
    first = w.ok("/v1/train_step", {"idempotency_key": "k1", "samples": samples, "hyper": hyper})
    assert first["policy_version"] == 1 and not first["replayed"]
    # the KL in the reward: π_θ (one step on) against π_ref (the start), every rank in step
    kl_body = {"samples": samples, "kl_estimator": "k1", "kl_clamp": 10.0, "micro_batch_size": 4}
    kl = w.ok("/v1/reference_kl", {**kl_body, "idempotency_key": "k1"})
    assert len(kl["kl"]) == len(samples) and any(abs(x) > 0 for x in kl["kl"]), kl
    again = w.ok("/v1/train_step", {"idempotency_key": "k1", "samples": samples, "hyper": hyper})
    assert again["replayed"] and again["metrics"] == first["metrics"] and again["policy_version"] == 1

    bad = [{**samples[0], "completion_token_ids": [10**7] * len(samples[0]["old_logprobs"])}]
    status, err = w.post("/v1/train_step", {"idempotency_key": "bad", "samples": bad, "hyper": hyper})
    assert status == 400 and err["error"]["type"] == "token_out_of_range"

    ck = str(tmp_path / "ck")
    assert w.ok("/v1/checkpoint", {"path": ck})["policy_version"] == 1
    assert (tmp_path / "ck" / "state.json").is_file()
    second = w.ok("/v1/train_step", {"idempotency_key": "k2", "samples": samples, "hyper": hyper})
    assert second["policy_version"] == 2
    assert w.ok("/v1/load", {"path": ck})["policy_version"] == 1
    assert w.ok("/v1/train_step", {"idempotency_key": "k1", "samples": samples, "hyper": hyper})["replayed"]
    redo = w.ok("/v1/train_step", {"idempotency_key": "k2", "samples": samples, "hyper": hyper})
    assert redo["policy_version"] == 2 and not redo["replayed"]
    for key in ("loss", "grad_norm", "kl", "entropy", "tokens"):
        assert redo["metrics"][key] == pytest.approx(second["metrics"][key], rel=1e-6, abs=1e-9), key
    sft = w.ok(
        "/v1/sft_step", {"examples": [{"prompt": "1+1=", "completion": "2"}] * 3, "micro_batch_size": 1}
    )
    assert sft["policy_version"] == 3

    # A request expecting other weights is refused before any rank runs it: the group keeps serving.
    status, err = w.post("/v1/checkpoint", {"path": ck, "expect": {"run_id": "r", "policy_version": 3}})
    assert status == 409 and err["error"]["worker"] == {"run_id": None, "policy_version": 3}
    assert w.ok("/v1/reset", {"run_id": "r"}) == {"policy_version": 0, "run_id": "r"}
    expect = {"run_id": "r", "policy_version": 0}
    fresh = w.ok(
        "/v1/train_step", {"idempotency_key": "k1", "samples": samples, "hyper": hyper, "expect": expect}
    )
    assert fresh["policy_version"] == 1 and not fresh["replayed"]
    for key in ("loss", "grad_norm", "kl", "entropy", "tokens"):
        assert fresh["metrics"][key] == pytest.approx(first["metrics"][key], rel=1e-6, abs=1e-9), key
