"""Checkpoints cannot run code, a failed load changes nothing, and a crash mid-write never leaves a
checkpoint that loads."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import Worker, start_worker
from safetensors.torch import load_file, save_file

import multigym_worker
from multigym_worker import checkpoint
from multigym_worker.tensortree import load_tree, save_tree

HERE = Path(__file__).resolve().parent.parent


def step_body(key: str, adv: float = 1.0) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "samples": [
            {"prompt_token_ids": [0, 11, 12], "completion_token_ids": [13, 14, 1], "old_logprobs": [-8.3] * 3,
             "advantage": adv},
            {"prompt_token_ids": [0, 11, 12], "completion_token_ids": [20, 1], "old_logprobs": [-8.3] * 2,
             "advantage": -adv},
        ],
        "hyper": {"learning_rate": 1e-3, "kl_coef": 0.01},
    }  # fmt: skip


def snapshot(w: Worker) -> dict[str, Any]:
    """Everything a load may change."""
    e = w.engine
    tr = e.trainer
    opt = tr.opt.opt.state_dict() if tr.opt else None
    return {
        "weights": {k: v.detach().clone() for k, v in e.model.state_dict().items()},
        "opt": None
        if opt is None
        else {i: {k: v.clone() for k, v in s.items()} for i, s in opt["state"].items()},
        "ref": None if tr.ref_state is None else {k: v.clone() for k, v in tr.ref_state.items()},
        "rl_steps": tr.rl_steps,
        "rng": torch.get_rng_state().clone(),
        "lineage": json.loads(json.dumps(e.lineage())),
        "info": w.get("/v1/info")[1],
    }


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture
def trained(tmp_path: Path) -> Worker:
    """A worker with two GRPO steps of run r1 (version 2) and its checkpoint `good`."""
    w = start_worker("--checkpoint-dir", str(tmp_path))
    w.ok("/v1/reset", {"run_id": "r1"})
    w.ok("/v1/train_step", step_body("r1:0"))
    w.ok("/v1/train_step", step_body("r1:1", 0.5))
    w.ok("/v1/checkpoint", {"path": "good"})
    yield w
    w.stop()


@pytest.fixture
def other(tmp_path: Path) -> Worker:
    """A second worker on the same root, one step of run r2 (version 1), with optimizer state."""
    w = start_worker("--checkpoint-dir", str(tmp_path), "--seed", "5")
    w.ok("/v1/reset", {"run_id": "r2"})
    w.ok("/v1/train_step", step_body("r2:0", -1.0))
    yield w
    w.stop()


def copy_good(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    shutil.copytree(tmp_path / "good", d)
    return d


class Evil:
    """Unpickling this creates `marker` (what a crafted pickle would do with a shell command)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


def test_the_good_checkpoint_round_trips(trained: Worker, other: Worker, tmp_path: Path) -> None:
    want = snapshot(trained)
    out = other.ok("/v1/load", {"path": "good"})
    assert out == {
        "path": str(tmp_path / "good"),
        "policy_version": 2,
        "run_id": "r1",
        "last_idempotency_key": "r1:1",
    }
    got = snapshot(other)
    for key in ("weights", "opt", "ref", "rl_steps", "lineage"):
        assert same(got[key], want[key]), key
    assert "trainer.pt" not in os.listdir(tmp_path / "good")


def test_a_pickle_checkpoint_is_refused_and_runs_nothing(
    trained: Worker, other: Worker, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    assert pickle.loads(pickle.dumps(Evil(marker))) is None and marker.exists()  # the payload works
    marker.unlink()
    evil = copy_good(tmp_path, "evil")
    (evil / checkpoint.TRAINER_JSON).unlink()
    (evil / checkpoint.TRAINER_TENSORS).unlink()
    (evil / "trainer.pt").write_bytes(pickle.dumps({"opt": Evil(marker), "rl_steps": 2, "rng": Evil(marker)}))
    torch.save({"x": Evil(marker)}, evil / "model.pt")
    before = snapshot(other)
    status, out = other.post("/v1/load", {"path": "evil"})
    assert status == 400 and out["error"]["type"] == "checkpoint" and out["error"]["field"] == "path"
    assert "pickle" in out["error"]["message"]
    assert not marker.exists()
    after = snapshot(other)
    assert all(same(after[k], before[k]) for k in before)


def test_a_pickle_beside_a_valid_checkpoint_is_never_opened(
    trained: Worker, other: Worker, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    d = copy_good(tmp_path, "with-pickle")
    (d / "trainer.pt").write_bytes(pickle.dumps(Evil(marker)))
    assert other.ok("/v1/load", {"path": "with-pickle"})["policy_version"] == 2
    assert not marker.exists()


def test_no_worker_module_unpickles() -> None:
    src = Path(multigym_worker.__file__).parent
    for f in src.glob("*.py"):
        text = f.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, f.name


def corrupt_optimizer_shape(d: Path) -> None:
    tree = load_tree(d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)
    state = tree["optimizer"]["opt"]["state"]
    state[3]["exp_avg"] = torch.zeros(7)
    save_tree(tree, d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)


def short_rng_state(d: Path) -> None:
    tree = load_tree(d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)
    tree["rng"]["cpu"] = torch.zeros(10, dtype=torch.uint8)
    save_tree(tree, d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)


def drop_optimizer_entry(d: Path) -> None:
    tree = load_tree(d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)
    tree["optimizer"]["opt"]["param_groups"][0]["params"].pop()
    save_tree(tree, d / checkpoint.TRAINER_JSON, d / checkpoint.TRAINER_TENSORS)


def edit_json(name: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        raw = json.loads((d / name).read_text())
        edit(raw)
        (d / name).write_text(json.dumps(raw))

    return apply


def edit_weights(
    edit: Callable[[dict[str, torch.Tensor]], None], name: str = "model.safetensors"
) -> Callable:
    def apply(d: Path) -> None:
        w = load_file(str(d / name))
        edit(w)
        save_file(w, str(d / name))

    return apply


def nan_weight(w: dict[str, torch.Tensor]) -> None:
    k = next(iter(w))
    w[k] = w[k].clone()
    w[k].view(-1)[0] = float("nan")


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "optimizer moment of the wrong shape": corrupt_optimizer_shape,
    "optimizer missing a parameter": drop_optimizer_entry,
    "trainer tensors truncated": lambda d: (d / checkpoint.TRAINER_TENSORS).write_bytes(
        (d / checkpoint.TRAINER_TENSORS).read_bytes()[:100]
    ),
    "trainer json names a missing tensor": edit_json(
        checkpoint.TRAINER_JSON, lambda t: t.update(rng={"$dict": [["cpu", {"$tensor": "nope"}]]})
    ),
    "trainer json with an unknown tag": edit_json(
        checkpoint.TRAINER_JSON, lambda t: t.update(rng={"$eval": "x"})
    ),
    "rng state of the wrong size": short_rng_state,
    "schedule step negative": edit_json(checkpoint.TRAINER_JSON, lambda t: t.update(rl_steps=-1)),
    "records not an object": edit_json(checkpoint.STATE, lambda s: s.update(records=[1, 2])),
    "policy version negative": edit_json(checkpoint.STATE, lambda s: s.update(policy_version=-3)),
    "run id not a string": edit_json(checkpoint.STATE, lambda s: s.update(run_id=7)),
    "another format": edit_json(checkpoint.STATE, lambda s: s.update(format=1)),
    "another architecture": edit_json("config.json", lambda c: c.update(hidden_size=256)),
    "a weight missing": edit_weights(lambda w: w.pop(sorted(w)[-1])),
    "a weight of the wrong shape": edit_weights(lambda w: w.update({sorted(w)[0]: torch.zeros(3, 3)})),
    "NaN weights": edit_weights(nan_weight),
    "NaN reference weights": edit_weights(nan_weight, "reference.safetensors"),
    "weights file garbage": lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64),
    "no state.json": lambda d: (d / checkpoint.STATE).unlink(),
    "state.json with NaN": lambda d: (d / checkpoint.STATE).write_text(
        '{"format": 2, "policy_version": NaN}'
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_failed_load_changes_nothing(
    trained: Worker, other: Worker, tmp_path: Path, corruption: str
) -> None:
    d = copy_good(tmp_path, "bad")
    CORRUPTIONS[corruption](d)
    before = snapshot(other)
    status, out = other.post("/v1/load", {"path": "bad"})
    assert status == 400 and out["error"]["type"] == "checkpoint", out
    after = snapshot(other)
    for key in before:
        assert same(after[key], before[key]), (corruption, key)
    # and the worker goes on from where it was
    assert other.ok("/v1/train_step", step_body("r2:1"))["policy_version"] == 2


def test_an_injected_failure_mid_write_leaves_nothing_loadable(
    trained: Worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_tree", fail)
    status, out = trained.post("/v1/checkpoint", {"path": "new"})
    assert (
        status == 400 and out["error"]["type"] == "checkpoint" and "No space left" in out["error"]["message"]
    )
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    # overwriting an existing checkpoint that fails keeps the old one, intact and loadable
    good = {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()}
    trained.ok("/v1/train_step", step_body("r1:2"))
    status, _ = trained.post("/v1/checkpoint", {"path": "good"})
    assert status == 400
    assert {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()} == good
    monkeypatch.undo()
    assert trained.ok("/v1/load", {"path": "good"})["policy_version"] == 2


KILLER = """
import os, signal, sys
from pathlib import Path
from multigym_worker import checkpoint
from multigym_worker.__main__ import build_engine, parse_args

engine = build_engine(parse_args(["--model", "tiny", "--device", "cpu", "--checkpoint-dir", sys.argv[1]]))
engine.policy_version = 9
real = checkpoint.save_tree

def save_then_die(value, json_path, tensor_path):
    real(value, json_path, tensor_path)  # model, config, tokenizer and trainer files are on disk
    os.kill(os.getpid(), signal.SIGKILL)  # the crash: before state.json and the rename

checkpoint.save_tree = save_then_die
checkpoint.save(engine, engine.root.resolve(sys.argv[2]))
"""


@pytest.mark.parametrize("target", ["fresh", "good"])
def test_a_worker_killed_mid_write_leaves_no_loadable_checkpoint(
    trained: Worker, tmp_path: Path, target: str
) -> None:
    good = {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(tmp_path), target],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(f".tmp-{target}-")]
    assert len(partial) == 1 and (partial[0] / "model.safetensors").is_file()
    assert not (partial[0] / checkpoint.STATE).exists()
    before = snapshot(trained)
    if target == "fresh":
        assert not (tmp_path / "fresh").exists()
        status, out = trained.post("/v1/load", {"path": "fresh"})
        assert status == 400 and "no state.json" in out["error"]["message"]
    else:  # the checkpoint being overwritten is untouched
        assert {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()} == good
    status, out = trained.post("/v1/load", {"path": partial[0].name})  # even by its temporary name
    assert status == 400 and out["error"]["type"] == "checkpoint"
    assert same(snapshot(trained)["weights"], before["weights"])
    assert trained.engine.policy_version == 2
