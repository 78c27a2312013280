"""Sampling over data-parallel ranks: per-row random streams make a seeded request give the same
samples on 1 and 2 ranks, and decoding runs no collective (gloo, 2 processes on CPU)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.distributed_c10d as c10d
from gloo import run_ranks

from multigym_worker.distributed import DistContext, DistributedSampler
from multigym_worker.models import load_model
from multigym_worker.sampling import Sampler, SamplingParams, draw, row_seed, row_uniforms

CPU = torch.device("cpu")
#: Rows of different lengths (left padding differs per batch) and a repeated prompt (n > 1).
PROMPTS = [[11, 12, 13], [20, 21], [30, 31, 32, 33, 34], [40], [50, 51, 52], [11, 12, 13], [60, 61]]
#: Every collective of torch.distributed (patched in `distributed_c10d`, where they live, so calls
#: made through `torch.distributed.*` and torch's own nested calls are both counted).
COLLECTIVES = [
    n
    for n in (
        "all_reduce", "all_reduce_coalesced", "broadcast", "broadcast_object_list", "all_gather",
        "all_gather_object", "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor",
        "reduce", "gather", "gather_object", "scatter", "scatter_object_list", "all_to_all",
        "all_to_all_single", "barrier", "monitored_barrier", "send", "recv", "isend", "irecv",
        "batch_isend_irecv", "send_object_list", "recv_object_list",
    )
    if hasattr(c10d, n)
]  # fmt: skip


def count_collectives() -> Counter:
    """Wraps every collective in this process; returns the counter they increment."""
    calls: Counter = Counter()
    for name in COLLECTIVES:
        fn = getattr(c10d, name)

        def wrapped(*a: Any, _fn: Any = fn, _name: str = name, **k: Any) -> Any:
            calls[_name] += 1
            return _fn(*a, **k)

        setattr(c10d, name, wrapped)
        if hasattr(dist, name):
            setattr(dist, name, wrapped)
    return calls


def requests() -> list[tuple[str, SamplingParams]]:
    warped = SamplingParams(max_tokens=16, seed=3, temperature=0.8, top_p=0.9, top_k=40)
    return [
        ("sampled, 3 tokens", SamplingParams(max_tokens=3, seed=7)),
        ("sampled, 24 tokens", SamplingParams(max_tokens=24, seed=7)),
        ("top-p top-k, 16 tokens", warped),
        ("greedy, 16 tokens", SamplingParams(max_tokens=16, temperature=0.0)),
    ]


def sample_on_ranks(ctx: DistContext) -> dict[str, Any]:
    """Each request on this rank: the samples and the collectives counted while it ran."""
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    sampler = DistributedSampler(Sampler(model, tok, max_batch=2), ctx)  # chunks inside each rank too
    calls = count_collectives()
    results: dict[str, Any] = {}
    for name, params in requests():
        calls.clear()
        out = sampler.generate(PROMPTS, params)
        results[name] = {"samples": out, "collectives": dict(calls)}
    return results


def test_two_ranks_sample_what_one_process_samples_with_one_gather_per_request() -> None:
    two = run_ranks(sample_on_ranks, 2)
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    alone = Sampler(model, tok)
    for name, params in requests():
        got = two[name]["samples"]
        want = alone.generate(PROMPTS, params)
        assert [o.token_ids for o in got] == [o.token_ids for o in want], name
        assert [o.finish_reason for o in got] == [o.finish_reason for o in want], name
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(torch.tensor(a.logprobs), torch.tensor(b.logprobs), rtol=0, atol=1e-5)
        # one gather of the finished rows per request (all_gather_object runs two all_gathers inside:
        # sizes, then bytes), the same for 3 and 24 decoded tokens: nothing per token
        calls = two[name]["collectives"]
        assert calls.get("all_gather_object") == 1, calls
        assert set(calls) <= {"all_gather_object", "all_gather"}, calls
        assert calls == two["sampled, 3 tokens"]["collectives"], (name, calls)
    sampled = [tuple(o.token_ids) for o in two["sampled, 24 tokens"]["samples"]]
    assert sampled[0] != sampled[5], "the same prompt in two rows draws two streams"
    assert all(len(s) == 24 for s in sampled)  # the tiny random model does not stop early here


def test_a_row_samples_the_same_in_any_batch_and_chunking() -> None:
    model, tok, _ = load_model("tiny", CPU, torch.float32, 0)
    params = SamplingParams(max_tokens=10, seed=5)
    whole = Sampler(model, tok).generate(PROMPTS, params)
    chunked = Sampler(model, tok, max_batch=3).generate(PROMPTS, params)
    assert [o.token_ids for o in chunked] == [o.token_ids for o in whole]
    # row 4 alone (first_row=4): same stream, same sample, though its batch has no padding now
    alone = Sampler(model, tok).generate(PROMPTS[4:5], params, first_row=4)
    assert alone[0].token_ids == whole[4].token_ids
    other = Sampler(model, tok).generate(PROMPTS[4:5], params, first_row=3)
    assert other[0].token_ids != whole[4].token_ids


def test_row_streams_are_distinct_and_reproducible() -> None:
    seeds = {row_seed(s, r) for s in range(50) for r in range(50)}
    assert len(seeds) == 2500 and all(0 <= x < 2**63 for x in seeds)
    u = row_uniforms(9, 10, 4, 6)
    assert u.shape == (4, 6) and u.dtype == torch.float64 and bool(((u >= 0) & (u < 1)).all())
    torch.testing.assert_close(row_uniforms(9, 12, 2, 6), u[2:], rtol=0, atol=0)
    assert not torch.equal(row_uniforms(8, 10, 4, 6), u)


def test_draw_follows_the_distribution_and_never_draws_a_zero() -> None:
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0]).repeat(40_000, 1) * 3.0  # unnormalised
    u = torch.rand(40_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ids = draw(probs, u)
    freq = torch.bincount(ids, minlength=5).double() / len(ids)
    want = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0], dtype=torch.float64)
    sigma = (want * (1 - want) / len(ids)).sqrt()
    assert bool(((freq - want).abs() <= 5 * sigma + 1e-12).all()), freq
    # edges: u = 0 takes the first token of positive probability; u → 1 the last one
    masked = torch.tensor([[0.0, 0.0, 0.7, 0.3, 0.0, 0.0]])
    assert draw(masked, torch.tensor([0.0], dtype=torch.float64)).item() == 2
    assert draw(masked, torch.tensor([1 - 2**-53], dtype=torch.float64)).item() == 3
    tiny = torch.tensor([[1.0, 1e-12]])  # far below fp32's resolution next to 1: still reachable
    assert draw(tiny, torch.tensor([1 - 1e-13], dtype=torch.float64)).item() == 1
