"""FSDP2 on CPU with gloo: a 2-rank fully sharded step gives the one-process step (gradient, metrics,
weights, within the DDP test's tolerances), the sampler's replica receives the new weights, and a
DCP checkpoint written by 2 ranks loads into one process without a process group (same weights,
same AdamW moments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from gloo import assert_same_update, run_ranks
from test_distributed import full, hyper, make_batch, run_case

from multigym_worker.__main__ import parse_args
from multigym_worker.distributed import DistContext, DistributedTrainer
from multigym_worker.fsdp import FSDPTrainer, load_train_state, save_train_state
from multigym_worker.models import copy_weights, load_model
from multigym_worker.optim import MasterAdamW, Schedule
from multigym_worker.trainer import OptimConfig, Trainer

CPU = torch.device("cpu")
#: (name, steps: [(kind, batch seed, size, aggregation, micro-batch)]); KL on (kl_coef 0.05), so the
#: sharded reference model runs too. Batch 10 at micro-batch 2 over 2 ranks gives 3 + 2 micro-batches
#: (one padded); batch 1 leaves rank 1 without a sample.
CASES = [
    ("token-mean", [("grpo", 1, 10, "token-mean", 2), ("grpo", 2, 7, "token-mean", 3)]),
    ("seq-mean-token-mean", [("grpo", 3, 9, "seq-mean-token-mean", 4)]),
    ("one sample, one empty rank", [("grpo", 4, 1, "token-mean", 2)]),
    ("sft", [("sft", 5, 6, "", 2)]),
    (
        "resumed from the worker checkpoint form",
        [("grpo", 1, 10, "token-mean", 2), ("grpo", 2, 7, "token-mean", 3)],
    ),
]


def resume_midway(ctx: DistContext, trainer: FSDPTrainer, steps: list[tuple]) -> dict[str, Any]:
    """One step, the whole state as `/v1/checkpoint` writes it (consolidated on every rank), then a
    fresh FSDP trainer on other weights loads it as `/v1/load` does and takes the other steps."""
    first = run_case(trainer, steps[:1])
    trainer.before_checkpoint()
    # rank 0 alone holds the gathered state (it writes the checkpoint); every rank loads it
    held: list[Any] = [trainer.opt.state_dict() if ctx.rank == 0 else None]  # type: ignore[union-attr]
    if ctx.rank != 0:
        with pytest.raises(RuntimeError, match="rank 0 holds it"):
            trainer.opt.state_dict()  # type: ignore[union-attr]
    dist.broadcast_object_list(held, src=0)
    state = held[0]
    weights = {k: v.clone() for k, v in trainer.replica.state_dict().items()}
    replica, tok, _ = load_model("tiny", CPU, torch.float32, 99)
    fresh = FSDPTrainer(replica, tok.pad_id, OptimConfig(), Schedule(), ctx)
    fresh.opt = None
    copy_weights(replica, weights)
    fresh.weights_changed()
    fresh.set_reference(trainer.ref_state)
    fresh.optimizer().load_state_dict(state)
    fresh.rl_steps = trainer.rl_steps
    rest = run_case(fresh, steps[1:])
    return {
        "metrics": first["metrics"] + rest["metrics"],
        "grads": first["grads"] + rest["grads"],
        "weights": rest["weights"],
        "replica": {k: v.clone() for k, v in replica.state_dict().items()},
        "local_numel": next(fresh.model.parameters()).to_local().numel(),
        "opt_state": state,
    }


def rank_main(ctx: DistContext, ckpt: str) -> dict[str, Any]:
    """One of two gloo ranks: every case on a fresh FSDP trainer; the first case is then saved."""
    results: dict[str, Any] = {}
    for i, (name, steps) in enumerate(CASES):
        replica, tok, _ = load_model("tiny", CPU, torch.float32, 0)
        trainer = FSDPTrainer(replica, tok.pad_id, OptimConfig(), Schedule(), ctx)
        local = next(trainer.model.parameters()).to_local().numel()
        if name.startswith("resumed"):
            res = resume_midway(ctx, trainer, steps)
            results[name] = res
            continue
        res = run_case(trainer, steps)
        res["replica"] = {k: v.clone() for k, v in replica.state_dict().items()}
        res["local_numel"] = local
        results[name] = res
        if i == 0:
            save_train_state(trainer.model, trainer.opt, Path(ckpt))
            st = trainer.opt.opt.state  # type: ignore[union-attr]
            res["moments"] = [
                {k: full(st[p][k]).clone() for k in ("exp_avg", "exp_avg_sq")}
                for p in trainer.opt.params  # type: ignore[union-attr]
            ]
    results["bf16"] = bf16_fsdp_and_ddp(ctx)
    return results


def bf16_fsdp_and_ddp(ctx: DistContext) -> dict[str, Any]:
    """One GRPO step with a bf16 replica under FSDP (fp32 sharded masters, bf16 compute, fp32
    gradient reduction) and under DDP (bf16 weights and gradients, fp32 masters)."""
    out = {}
    for kind, cls in (("fsdp", FSDPTrainer), ("ddp", DistributedTrainer)):
        replica, tok, _ = load_model("tiny", CPU, torch.bfloat16, 0)
        trainer = cls(replica, tok.pad_id, OptimConfig(), Schedule(), ctx)
        m = trainer.train_step(make_batch(1, 6), hyper("token-mean", 2))
        trainer.before_checkpoint()
        if ctx.rank != 0:  # rank 0 holds FSDP's gathered state
            continue
        state = trainer.opt.state_dict()  # type: ignore[union-attr]
        masters = torch.cat([x.flatten() for x in state["masters"]])
        out[kind] = {"metrics": m, "masters": masters, "dtype": next(replica.parameters()).dtype}
    return out


def test_two_fsdp_ranks_equal_one_process_and_the_checkpoint_loads_on_one(tmp_path: Path) -> None:
    ckpt = tmp_path / "dcp"
    two = run_ranks(rank_main, 2, str(ckpt))
    for i, (name, steps) in enumerate(CASES):
        model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
        plain = Trainer(model, tok.pad_id, OptimConfig(), Schedule())
        got = two[name]
        if "opt_state" in got:  # the consolidated state is the one-process state, in its format
            one = run_case(plain, steps[:1])
            mine, theirs = plain.opt.state_dict(), got["opt_state"]  # type: ignore[union-attr]
            assert theirs["masters"] is None and mine["opt"]["param_groups"] == theirs["opt"]["param_groups"]
            assert mine["opt"]["state"].keys() == theirs["opt"]["state"].keys()
            for j, st in mine["opt"]["state"].items():
                for k, v in st.items():
                    err = float((theirs["opt"]["state"][j][k] - v).norm() / v.norm().clamp(min=1e-30))
                    # the clipped gradient carries the fp32 norm's rounding (≤ 5e-5, see above)
                    assert err < 1e-4, (name, j, k, err)
            rest = run_case(plain, steps[1:])
            one = {k: one[k] + rest[k] for k in ("metrics", "grads")} | {"weights": rest["weights"]}
        else:
            one = run_case(plain, steps)
        for m1, m2, g in zip(one["metrics"], got["metrics"], got["grads"], strict=True):
            assert m1.keys() == m2.keys()
            for k in m1.keys() - {"grad_norm"}:
                assert abs(m1[k] - m2[k]) <= 1e-5 * max(1.0, abs(m1[k])), (name, k, m1[k], m2[k])
            # an fp32 norm of 1.3M gradients is off the exact one by ~2e-5 (relative) in one process;
            # the sharded norm (two partial sums) lands elsewhere within that: compare both with the
            # float64 norm of the same gradient
            exact = float(g.double().norm())
            for norm in (m1.get("grad_norm", exact), m2.get("grad_norm", exact)):  # SFT has none
                assert abs(norm - exact) <= 5e-5 * exact, (name, norm, exact)
        for g1, g2 in zip(one["grads"], got["grads"], strict=True):
            assert float((g2 - g1).norm() / g1.norm()) < 1e-5, name
        start, _, _ = load_model("tiny", CPU, torch.float32, 0)
        assert_same_update(name, start.state_dict(), one["weights"], got["weights"], 1e-3, len(steps))
        # the sampler's whole replica holds the trained weights
        for k, w in got["weights"].items():
            torch.testing.assert_close(got["replica"][k], w, rtol=0, atol=0, msg=f"{name}: replica {k}")
        assert any(not torch.equal(start.state_dict()[k], w) for k, w in one["weights"].items())
        # each rank holds half of the embedding rows (a sharded parameter, not a replica)
        assert got["local_numel"] * 2 == start.model.embed_tokens.weight.numel()

        if i == 0:  # saved by 2 ranks, loaded here by one process without a process group
            fresh, _, _ = load_model("tiny", CPU, torch.float32, 7)
            opt = MasterAdamW(fresh, 0.0, (0.9, 0.999), 1e-8)
            load_train_state(fresh, opt, ckpt)
            # exactly what the two ranks held (which is the one-process update, checked above)
            for k, w in got["weights"].items():
                torch.testing.assert_close(fresh.state_dict()[k], w, rtol=0, atol=0, msg=f"dcp {k}")
            mine, theirs = plain.opt.opt.state, opt.opt.state  # type: ignore[union-attr]
            assert len(theirs) == len(mine) == len(got["moments"]) > 0
            for p_plain, p_loaded, saved in zip(plain.opt.params, opt.params, got["moments"], strict=True):  # type: ignore[union-attr]
                for key in ("exp_avg", "exp_avg_sq"):
                    torch.testing.assert_close(theirs[p_loaded][key], saved[key], rtol=0, atol=0)
                    # and the one-process moments up to the clipped gradients' rounding
                    a, b = mine[p_plain][key], theirs[p_loaded][key]
                    assert float((b - a).norm() / a.norm().clamp(min=1e-30)) < 1e-4, key
                assert float(theirs[p_loaded]["step"]) == float(mine[p_plain]["step"]) == 2.0

    # bf16: FSDP's first step matches DDP's. Same bf16 forward (same loss); gradients reduced in fp32
    # rather than bf16 (norm within 1e-4); AdamW's first step is lr·sign(g) on the fp32 masters, so
    # they differ only where a near-zero gradient component changes sign or vanishes (< 3% of them,
    # 0.85% when written), by at most 2·lr
    bf = two["bf16"]
    fs, dd = bf["fsdp"], bf["ddp"]
    assert fs["dtype"] == dd["dtype"] == torch.bfloat16
    assert fs["masters"].dtype == dd["masters"].dtype == torch.float32
    assert abs(fs["metrics"]["loss"] - dd["metrics"]["loss"]) <= 1e-6 * abs(dd["metrics"]["loss"])
    assert abs(fs["metrics"]["grad_norm"] - dd["metrics"]["grad_norm"]) <= 1e-4 * dd["metrics"]["grad_norm"]
    diff = (fs["masters"] - dd["masters"]).abs()
    assert float((diff > 1e-6).float().mean()) < 0.03
    assert float(diff.max()) <= 2e-3 + 1e-6
    start, _, _ = load_model("tiny", CPU, torch.bfloat16, 0)
    moved = fs["masters"] - torch.cat(
        [p.float().flatten() for p in MasterAdamW(start, 0, (0.9, 0.999), 1e-8).params]
    )
    assert float((moved.abs() > 5e-4).float().mean()) > 0.9  # the step moved almost every weight by ≈ lr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--parallel", "fsdp"], "--parallel fsdp needs --distributed"),
        (["--distributed", "--parallel", "fsdp", "--shard-optimizer"], "fsdp shards the optimizer state"),
        (
            ["--distributed", "--parallel", "fsdp", "--compile"],
            "--compile is not supported with --parallel fsdp",
        ),
    ],
)
def test_fsdp_flags_that_do_not_combine_are_refused(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--model", "tiny", "--device", "cpu", *flags])
    assert message in capsys.readouterr().err
