"""Data parallelism on CPU with gloo: 2 ranks give the one-process step and the one-process samples.

Both ranks run in processes spawned by `torch.multiprocessing` (one spawn for all cases: starting
the processes dominates the time). Each case compares the gradient (before clipping), the metrics
and the weights after the step with a plain `Trainer` on the same whole batch in this process.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import torch.distributed as dist
from gloo import assert_same_update, run_ranks

from multigym_worker.distributed import (
    DistContext,
    DistributedSampler,
    DistributedSetupError,
    DistributedTrainer,
    block_of,
    init_distributed,
    shard_by_tokens,
)
from multigym_worker.models import load_model
from multigym_worker.optim import MasterAdamW, Schedule
from multigym_worker.sampling import Sampler, SamplingParams
from multigym_worker.trainer import OptimConfig, Trainer, TrainSeq, completion_logprobs

CPU = torch.device("cpu")


def hyper(aggregation: str, mb: int) -> dict[str, Any]:
    return {
        "learning_rate": 1e-3,
        "micro_batch_size": mb,
        "loss_agg_mode": aggregation,
        "kl_coef": 0.05,
        "clip_low": 0.2,
        "clip_high": 0.28,
        "max_grad_norm": 1.0,
        "loss_agg_norm": 16 if aggregation == "seq-mean-token-sum-norm" else None,
    }


def make_batch(seed: int, n: int) -> list[TrainSeq]:
    """`n` sequences of different lengths with a masked token, old log-probs = the model's ± noise."""
    model, _, _ = load_model("tiny", CPU, torch.float32, 0)
    g = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    seqs = []
    for i in range(n):
        p = torch.randint(5, vocab, (3 + (i * 7) % 11,), generator=g).tolist()
        c = torch.randint(5, vocab, (2 + (i * 5) % 13,), generator=g).tolist()
        mask = [0 if k == 1 else 1 for k in range(len(c))]
        seqs.append(TrainSeq(p, c, None, ((i % 3) - 1) * 0.7 + 0.1, mask))
    with torch.no_grad():
        for s in seqs:
            logp, _, _ = completion_logprobs(model, [s], 0, False)
            noise = 0.3 * torch.randn(len(s.completion), generator=g)
            s.old_logprobs = (logp[0] + noise).tolist()
    return seqs


#: (name, steps: [(kind, batch seed, size, aggregation, micro-batch)]) run on fresh models.
ZERO_STEPS = [("grpo", 1, 10, "token-mean", 2), ("grpo", 2, 7, "seq-mean-token-mean", 3)]
CASES = [
    ("token-mean", [("grpo", 1, 10, "token-mean", 2), ("grpo", 2, 7, "token-mean", 3)]),
    (
        "seq-mean-token-mean",
        [("grpo", 1, 10, "seq-mean-token-mean", 4), ("grpo", 3, 9, "seq-mean-token-mean", 1)],
    ),
    ("seq-mean-token-sum-norm", [("grpo", 1, 10, "seq-mean-token-sum-norm", 10)]),
    ("one sample, one empty rank", [("grpo", 4, 1, "token-mean", 2)]),
    ("sft", [("sft", 5, 6, "", 2)]),
    ("sharded optimizer", ZERO_STEPS),
    ("sharded optimizer, resumed", ZERO_STEPS),
]
PROMPTS = [[11, 12, 13], [20, 21], [30, 31, 32, 33, 34], [40], [50, 51, 52]]


def full(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor of a DTensor (collective, under FSDP), or the tensor."""
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def run_case(trainer: Trainer, steps: list[tuple]) -> dict[str, Any]:
    """Runs `steps`; returns each step's metrics and whole gradient (before clipping) and the final
    whole weights (DTensors gathered, so FSDP ranks compare with one process)."""
    grads: list[torch.Tensor] = []
    original = MasterAdamW.clip_and_step

    def spy(self: MasterAdamW, lr: float, max_norm: float) -> float:
        grads.append(torch.cat([full(p.grad).flatten() for p in self.params]).clone())
        return original(self, lr, max_norm)

    MasterAdamW.clip_and_step = spy  # type: ignore[method-assign]
    try:
        metrics = []
        for kind, seed, n, aggregation, mb in steps:
            seqs = make_batch(seed, n)
            if kind == "grpo":
                m = trainer.train_step(seqs, hyper(aggregation, mb))
            else:
                m = trainer.sft_step(seqs, 1e-3, mb)
            m.pop("seconds")
            metrics.append(m)
    finally:
        MasterAdamW.clip_and_step = original  # type: ignore[method-assign]
    weights = {k: full(v.detach()).clone() for k, v in trainer.model.state_dict().items()}
    return {"metrics": metrics, "grads": grads, "weights": weights}


def rank_main(ctx: DistContext) -> dict[str, Any]:
    """One of two gloo ranks: every case, then generation."""
    rank = ctx.rank
    results: dict[str, Any] = {}
    for name, steps in CASES:
        model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
        zero = name.startswith("sharded")
        trainer = DistributedTrainer(model, tok.pad_id, OptimConfig(), Schedule(), ctx, shard_optimizer=zero)
        if name == "sharded optimizer, resumed":
            # one step, consolidate, then a fresh replica loads weights + whole state and goes on
            first = run_case(trainer, steps[:1])
            trainer.before_checkpoint()
            state: list[Any] = [trainer.opt.state_dict() if rank == 0 else None]  # type: ignore[union-attr]
            dist.broadcast_object_list(state, src=0)
            model, tok, _ = load_model("tiny", CPU, torch.float32, 99)
            model.load_state_dict(first["weights"])
            trainer = DistributedTrainer(
                model, tok.pad_id, OptimConfig(), Schedule(), ctx, shard_optimizer=True
            )
            trainer.rl_steps = 1
            trainer.ref_state = {
                k: v.clone() for k, v in load_model("tiny", CPU, torch.float32, 0)[0].state_dict().items()
            }
            trainer.optimizer().load_state_dict(copy.deepcopy(state[0]))  # loading edits the dict
            rest = run_case(trainer, steps[1:])
            results[name] = {
                "metrics": first["metrics"] + rest["metrics"],
                "grads": first["grads"] + rest["grads"],
                "weights": rest["weights"],
                "opt_state": state[0],
            }
            continue
        results[name] = run_case(trainer, steps)
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    sampler = DistributedSampler(Sampler(model, tok), ctx)
    greedy = SamplingParams(max_tokens=8, temperature=0.0)
    results["greedy"] = sampler.generate(PROMPTS, greedy)
    results["sampled"] = sampler.generate([PROMPTS[0]] * 4, SamplingParams(max_tokens=12, seed=7))
    return results


def test_two_gloo_ranks_equal_one_process() -> None:
    two = run_ranks(rank_main, 2)
    for name, steps in CASES:
        model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
        plain = Trainer(model, tok.pad_id, OptimConfig(), Schedule())
        if "opt_state" in two[name]:  # the consolidated sharded state is the one-process state
            run_case(plain, steps[:1])
            mine, theirs = plain.opt.state_dict()["opt"]["state"], two[name]["opt_state"]["opt"]["state"]  # type: ignore[union-attr]
            assert mine.keys() == theirs.keys()
            for i, st in mine.items():
                for k, v in st.items():
                    err = float((theirs[i][k] - v).norm() / v.norm().clamp(min=1e-30))
                    assert err < 1e-5, (name, i, k, err)
            one = run_case(plain, steps[1:])
            one["metrics"] = two[name]["metrics"][:1] + one["metrics"]
            one["grads"] = two[name]["grads"][:1] + one["grads"]
        else:
            one = run_case(plain, steps)
        got = two[name]
        for m1, m2 in zip(one["metrics"], got["metrics"], strict=True):
            assert m1.keys() == m2.keys()
            for k in m1:
                assert abs(m1[k] - m2[k]) <= 1e-5 * max(1.0, abs(m1[k])), (name, k, m1[k], m2[k])
        for g1, g2 in zip(one["grads"], got["grads"], strict=True):
            assert float((g2 - g1).norm() / g1.norm()) < 1e-5, name
        start, _, _ = load_model("tiny", CPU, torch.float32, 0)
        assert_same_update(name, start.state_dict(), one["weights"], got["weights"], 1e-3, len(steps))
        assert any(not torch.equal(start.state_dict()[k], w) for k, w in one["weights"].items())

    # generation: rows split over the ranks come back in request order (greedy = one-process greedy)
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    alone = Sampler(model, tok).generate(PROMPTS, SamplingParams(max_tokens=8, temperature=0.0))
    assert [o.token_ids for o in two["greedy"]] == [o.token_ids for o in alone]
    for a, b in zip(two["greedy"], alone, strict=True):
        torch.testing.assert_close(torch.tensor(a.logprobs), torch.tensor(b.logprobs), rtol=0, atol=1e-5)
    # the same prompt on both ranks draws from different random streams
    sampled = [tuple(o.token_ids) for o in two["sampled"]]
    assert len(sampled) == 4 and sampled[:2] != sampled[2:]


def test_shards_cover_the_batch_once_and_balance_tokens() -> None:
    lengths = [50, 3, 7, 40, 8, 9, 1]
    shards = shard_by_tokens(lengths, 3)
    assert sorted(i for s in shards for i in s) == list(range(len(lengths)))
    assert all(s == sorted(s) for s in shards)
    loads = sorted(sum(lengths[i] for i in s) for s in shards)
    assert loads == [28, 40, 50]
    assert shard_by_tokens([5], 2) == [[0], []]


def test_blocks_are_contiguous_and_differ_by_at_most_one() -> None:
    for n in range(0, 9):
        blocks = [block_of(n, r, 3) for r in range(3)]
        assert blocks[0][0] == 0 and blocks[-1][1] == n
        assert all(blocks[r][1] == blocks[r + 1][0] for r in range(2))
        sizes = [b - a for a, b in blocks]
        assert max(sizes) - min(sizes) <= 1


def test_without_torchrun_the_setup_error_says_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(DistributedSetupError, match="torchrun --nproc-per-node"):
        init_distributed("cpu")
