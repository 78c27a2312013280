"""What the weights are (version, run, last key, base model) and what survives a restart: a worker
restarted from the run's newest checkpoint replays exactly the keys that checkpoint holds and refuses
a step computed for weights it does not have. (`expect` and `/v1/reset` themselves: test_identity.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import Worker, start_worker

from multigym_worker.__main__ import build_engine, parse_args, resume
from multigym_worker.errors import PathOutsideRootError


def body(key: str, expect: tuple[str | None, int] | None = None) -> dict[str, Any]:
    sample = {
        "prompt_token_ids": [0, 11, 12],
        "completion_token_ids": [13, 14, 1],
        "old_logprobs": [-8.3] * 3,
    }
    out: dict[str, Any] = {
        "idempotency_key": key,
        "samples": [
            {**sample, "advantage": 1.0},
            {**sample, "completion_token_ids": [20, 1, 2], "advantage": -1.0},
        ],
        "hyper": {"learning_rate": 1e-3},
    }
    if expect is not None:
        out["expect"] = {"run_id": expect[0], "policy_version": expect[1]}
    return out


def weights(w: Worker) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in w.engine.model.state_dict().items()}


def unchanged(w: Worker, before: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, before[k]) for k, v in weights(w).items())


def test_info_of_a_fresh_worker(worker: Worker) -> None:
    info = worker.get("/v1/info")[1]
    assert info["base_model"] == "builtin:tiny@seed=0" and info["model"] == "builtin:tiny"
    assert info["run_id"] is None and info["last_idempotency_key"] is None and info["loaded_from"] is None
    assert info["policy_version"] == 0 and info["checkpoint_dir"] == str(worker.engine.root.root)


def test_info_reports_the_last_applied_key_and_reset_forgets_it(worker: Worker) -> None:
    worker.ok("/v1/reset", {"run_id": "r1"})
    worker.ok("/v1/train_step", body("r1:0", ("r1", 0)))
    worker.ok("/v1/train_step", body("r1:0", ("r1", 0)))  # a replay is not applied
    info = worker.get("/v1/info")[1]
    assert info["last_idempotency_key"] == "r1:0" and info["policy_version"] == 1
    worker.ok("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]})
    assert worker.get("/v1/info")[1]["last_idempotency_key"] == "r1:0"  # train steps only
    worker.ok("/v1/reset", {"run_id": "r2"})
    info = worker.get("/v1/info")[1]
    assert info["last_idempotency_key"] is None and info["run_id"] == "r2" and info["policy_version"] == 0


def test_restart_from_the_newest_checkpoint_never_trains_a_step_twice(tmp_path: Path) -> None:
    flags = ("--checkpoint-dir", str(tmp_path))
    a = start_worker(*flags)
    try:
        a.ok("/v1/reset", {"run_id": "r1"})
        for i in range(2):  # versions 1, 2
            a.ok("/v1/train_step", body(f"r1:{i}", ("r1", i)))
        a.ok("/v1/checkpoint", {"path": "r1/step-1"})  # holds r1:0 and r1:1
        after_two = weights(a)
        a.ok("/v1/train_step", body("r1:2", ("r1", 2)))  # version 3: applied, never checkpointed
    finally:
        a.stop()  # the worker dies

    # a new worker started from the run's newest checkpoint, default flags otherwise
    b = start_worker(*flags, "--resume", "r1/step-1")
    try:
        info = b.get("/v1/info")[1]
        assert (
            info["policy_version"] == 2 and info["run_id"] == "r1" and info["last_idempotency_key"] == "r1:1"
        )
        assert info["loaded_from"] == str(tmp_path / "r1" / "step-1")
        assert unchanged(b, after_two)
        # a retried step the checkpoint holds replays and changes nothing
        replay = b.ok("/v1/train_step", body("r1:1", ("r1", 1)))
        assert replay["replayed"] is True and replay["policy_version"] == 2 and unchanged(b, after_two)
        # the step after the checkpoint was lost with the dead worker's weights; the orchestrator
        # believes the worker is at version 3 and the worker cannot know that key: refused
        status, out = b.post("/v1/train_step", body("r1:3", ("r1", 3)))
        assert status == 409 and out["error"]["worker"] == {"run_id": "r1", "policy_version": 2}
        assert unchanged(b, after_two) and "train_step:r1:3" not in b.engine.records
        # redone from the checkpoint's version, the lost step is applied once
        redo = b.ok("/v1/train_step", body("r1:2", ("r1", 2)))
        assert redo["replayed"] is False and redo["policy_version"] == 3
        assert b.ok("/v1/train_step", body("r1:2", ("r1", 2)))["replayed"] is True
        assert b.get("/v1/info")[1]["loaded_from"] is None  # trained since the load
    finally:
        b.stop()


def test_resume_is_confined_to_the_root(tmp_path: Path) -> None:
    args = parse_args(["--checkpoint-dir", str(tmp_path), "--resume", "../elsewhere"])
    with pytest.raises(PathOutsideRootError, match="outside the checkpoint root"):
        resume(build_engine(args), args)


def test_a_checkpoint_keeps_the_base_model(tmp_path: Path) -> None:
    a = start_worker("--checkpoint-dir", str(tmp_path), "--seed", "3")
    try:
        a.ok("/v1/train_step", body("r9:0"))
        a.ok("/v1/checkpoint", {"path": "ck"})
    finally:
        a.stop()
    b = start_worker("--checkpoint-dir", str(tmp_path))  # seed 0
    try:
        assert b.get("/v1/info")[1]["base_model"] == "builtin:tiny@seed=0"
        b.ok("/v1/load", {"path": "ck"})
        assert b.get("/v1/info")[1]["base_model"] == "builtin:tiny@seed=3"
        b.ok("/v1/reset", {})  # back to this worker's own base model
        assert b.get("/v1/info")[1]["base_model"] == "builtin:tiny@seed=0"
    finally:
        b.stop()
