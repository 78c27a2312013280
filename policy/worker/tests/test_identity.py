"""Whose weights the worker holds: run id and policy version, `expect` preconditions, `/v1/reset`."""

from __future__ import annotations

from pathlib import Path

import torch
from conftest import Worker, start_worker
from test_training import batch, params

HYPER = {"learning_rate": 2e-3, "kl_coef": 0.02}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_fresh_worker_holds_no_run(worker: Worker) -> None:
    status, info = worker.get("/v1/info")
    assert status == 200 and info["run_id"] is None and info["policy_version"] == 0


def test_reset_is_a_fresh_start_for_the_run_that_claims_it(worker: Worker) -> None:
    w0 = params(worker)
    samples = batch(worker, seed=1)
    first = worker.ok("/v1/train_step", {"idempotency_key": "a:1", "samples": samples, "hyper": HYPER})
    after_first = params(worker)
    worker.ok("/v1/train_step", {"idempotency_key": "a:2", "samples": batch(worker, seed=2), "hyper": HYPER})
    assert worker.ok("/v1/reset", {"run_id": "b"}) == {"policy_version": 0, "run_id": "b"}
    assert same(params(worker), w0)
    info = worker.get("/v1/info")[1]
    assert info["run_id"] == "b" and info["policy_version"] == 0
    # No records, optimizer moments or reference survive: the same step trains again, to the same weights.
    again = worker.ok("/v1/train_step", {"idempotency_key": "a:1", "samples": samples, "hyper": HYPER})
    assert again["replayed"] is False and again["policy_version"] == 1
    assert again["metrics"]["loss"] == first["metrics"]["loss"]
    assert same(params(worker), after_first)
    assert worker.ok("/v1/reset", {}) == {"policy_version": 0, "run_id": None}


def test_requests_expecting_other_weights_are_refused_and_change_nothing(
    worker: Worker, tmp_path: Path
) -> None:
    worker.ok("/v1/reset", {"run_id": "run-a"})
    samples = batch(worker, seed=3)
    w0 = params(worker)
    for expect in ({"run_id": "run-b", "policy_version": 0}, {"run_id": "run-a", "policy_version": 1}):
        status, body = worker.post(
            "/v1/train_step",
            {"idempotency_key": "run-a:1", "samples": samples, "hyper": HYPER, "expect": expect},
        )
        assert status == 409, body
        assert body["error"]["type"] == "policy_mismatch" and body["error"]["field"] == "expect"
        assert body["error"]["worker"] == {"run_id": "run-a", "policy_version": 0}
        status, body = worker.post("/v1/generate", {"prompts": ["1+1="], "max_tokens": 2, "expect": expect})
        assert status == 409 and body["error"]["type"] == "policy_mismatch"
        status, body = worker.post("/v1/checkpoint", {"path": "ck", "expect": expect})
        assert status == 409 and body["error"]["type"] == "policy_mismatch"
    assert not (worker.engine.root.root / "ck").exists()
    assert same(params(worker), w0)
    assert worker.get("/v1/info")[1]["policy_version"] == 0

    here = {"run_id": "run-a", "policy_version": 0}
    out = worker.ok("/v1/generate", {"prompts": ["1+1="], "max_tokens": 2, "expect": here})
    assert out["policy_version"] == 0
    step = {"idempotency_key": "run-a:1", "samples": samples, "hyper": HYPER, "expect": here}
    assert worker.ok("/v1/train_step", step)["policy_version"] == 1
    # A retry of an applied step expects the version before it: the recorded key replays.
    replay = worker.ok("/v1/train_step", step)
    assert replay["replayed"] is True and replay["policy_version"] == 1
    step["idempotency_key"] = "run-a:2"
    status, body = worker.post("/v1/train_step", step)
    assert status == 409 and body["error"]["worker"] == {"run_id": "run-a", "policy_version": 1}


def test_checkpoints_keep_the_run_and_load_can_claim_them(tmp_path: Path) -> None:
    a = start_worker("--checkpoint-dir", str(tmp_path))
    try:
        a.ok("/v1/reset", {"run_id": "run-a"})
        a.ok("/v1/train_step", {"idempotency_key": "run-a:1", "samples": batch(a, seed=4), "hyper": HYPER})
        ck = str(tmp_path / "ck")
        saved = a.ok("/v1/checkpoint", {"path": ck, "expect": {"run_id": "run-a", "policy_version": 1}})
        lineage = {"path": ck, "policy_version": 1, "run_id": "run-a", "last_idempotency_key": "run-a:1"}
        assert saved == lineage
    finally:
        a.stop()
    b = start_worker("--checkpoint-dir", str(tmp_path))
    try:
        assert b.ok("/v1/load", {"path": ck}) == lineage
        assert b.get("/v1/info")[1]["run_id"] == "run-a"
        assert b.ok("/v1/load", {"path": ck, "run_id": "run-c"})["run_id"] == "run-c"
        assert b.get("/v1/info")[1] == {**b.get("/v1/info")[1], "run_id": "run-c", "policy_version": 1}
    finally:
        b.stop()


def test_reset_of_a_directory_model_reads_its_weights_again(tmp_path: Path) -> None:
    a = start_worker("--checkpoint-dir", str(tmp_path))
    try:
        a.ok("/v1/train_step", {"idempotency_key": "k", "samples": batch(a, seed=5), "hyper": HYPER})
        a.ok("/v1/checkpoint", {"path": str(tmp_path / "base")})
        trained = params(a)
    finally:
        a.stop()
    b = start_worker("--model", str(tmp_path / "base"))
    try:
        assert same(params(b), trained)
        b.ok("/v1/train_step", {"idempotency_key": "k2", "samples": batch(b, seed=6), "hyper": HYPER})
        assert not same(params(b), trained)
        assert b.ok("/v1/reset", {"run_id": "r"})["policy_version"] == 0
        assert same(params(b), trained)
    finally:
        b.stop()
