"""Weight hand-over for overlapped sampling (gloo, 2 processes on CPU): rank 0 trains a GRPO step,
rank 1 samples with the old weights, then receives the new ones; afterwards its weights equal the
trainer's exactly, it knows their version, and it samples what the trainer's weights sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from gloo import run_ranks
from test_distributed import hyper, make_batch

from multigym_worker.distributed import DistContext
from multigym_worker.handover import _buckets, hand_over, weight_tensors
from multigym_worker.models import load_model
from multigym_worker.optim import Schedule
from multigym_worker.sampling import Sampler, SamplingParams
from multigym_worker.trainer import OptimConfig, Trainer

CPU = torch.device("cpu")
PROMPTS = [[11, 12, 13], [20, 21], [30, 31, 32, 33, 34]]
PARAMS = SamplingParams(max_tokens=12, seed=4)


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def rank_main(ctx: DistContext, out: str) -> dict[str, Any]:
    """Rank 0 trains (version 1), rank 1 samples; then the hand-over (64 KiB buckets: many messages)."""
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    res: dict[str, Any] = {}
    if ctx.rank == 0:
        trainer = Trainer(model, tok.pad_id, OptimConfig(), Schedule())
        trainer.train_step(make_batch(1, 6), hyper("token-mean", 3))
        res["trained"] = weights(model)
        res["samples"] = [o.token_ids for o in Sampler(model, tok).generate(PROMPTS, PARAMS)]
    else:
        res["before"] = [o.token_ids for o in Sampler(model, tok).generate(PROMPTS, PARAMS)]
    res["version"] = hand_over(model, 1 if ctx.rank == 0 else 0, src=0, bucket_bytes=64 << 10)
    if ctx.rank == 1:
        res["received"] = weights(model)
        res["after"] = [o.token_ids for o in Sampler(model, tok).generate(PROMPTS, PARAMS)]
        res["tied"] = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
        torch.save(res, Path(out) / "rank1.pt")
    return res


def test_sampler_holds_the_trainers_weights_after_the_hand_over(tmp_path: Path) -> None:
    trainer = run_ranks(rank_main, 2, str(tmp_path))
    sampler = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert trainer["version"] == sampler["version"] == 1
    start, _, _ = load_model("tiny", CPU, torch.float32, 0)
    assert trainer["trained"].keys() == sampler["received"].keys()
    for k, w in trainer["trained"].items():
        torch.testing.assert_close(sampler["received"][k], w, rtol=0, atol=0, msg=k)
    assert any(not torch.equal(start.state_dict()[k], w) for k, w in trainer["trained"].items())
    assert sampler["tied"], "the tied head still shares the embedding's storage"
    # before: the old weights' samples; after: the trainer's
    assert sampler["after"] == trainer["samples"]
    assert sampler["before"] != sampler["after"]


def test_buckets_keep_order_split_by_size_and_dtype() -> None:
    ts = [
        torch.zeros(10),
        torch.zeros(10),
        torch.zeros(3, dtype=torch.bfloat16),
        torch.zeros(30),
        torch.zeros(1),
    ]
    runs = list(_buckets(ts, bucket_bytes=80))
    assert [[t.numel() for t in r] for r in runs] == [[10, 10], [3], [30], [1]]
    assert [t for r in runs for t in r] == ts
    model, _, _ = load_model("tiny", CPU, torch.float32, 0)
    tensors = weight_tensors(model)
    assert len(tensors) == len(model.state_dict()) - 1  # the tied head once
