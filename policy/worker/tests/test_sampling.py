"""Sampling: teacher-forced log-probs, seeds, greedy, top-k/top-p, stop strings, reasoning budget."""

from __future__ import annotations

import torch
from conftest import Worker

from multigym_worker import sampling
from multigym_worker.sampling import draw, warp_logits


def teacher_forced(w: Worker, prompt: list[int], completion: list[int]) -> torch.Tensor:
    model = w.engine.model
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        lp = model.logits(model(ids)).float().log_softmax(-1)[0]
    return lp[len(prompt) - 1 : -1].gather(-1, torch.tensor(completion)[:, None]).squeeze(-1)


def test_logprobs_equal_a_teacher_forced_forward(shared_worker: Worker) -> None:
    # prompts of different lengths exercise left padding and per-row positions in one batch
    body = {
        "prompts": ["a", "a much longer prompt with several more tokens", "12+34="],
        "n": 4,
        "max_tokens": 24,
    }
    out = shared_worker.ok(
        "/v1/generate", {**body, "seed": 11, "top_p": 0.9, "top_k": 50, "temperature": 0.8}
    )
    checked = 0
    for res in out["results"]:
        for s in res["samples"]:
            tf = teacher_forced(shared_worker, res["prompt_token_ids"], s["token_ids"])
            assert torch.allclose(tf, torch.tensor(s["logprobs"]), atol=1e-4), (
                (tf - torch.tensor(s["logprobs"])).abs().max()
            )
            checked += len(s["token_ids"])
    assert checked > 100


def test_seed_makes_a_request_reproducible(shared_worker: Worker) -> None:
    body = {"prompts": ["x", "y z"], "n": 3, "max_tokens": 12, "seed": 5}
    a = shared_worker.ok("/v1/generate", body)
    b = shared_worker.ok("/v1/generate", body)
    c = shared_worker.ok("/v1/generate", {**body, "seed": 6})
    ids = lambda r: [s["token_ids"] for x in r["results"] for s in x["samples"]]  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)


def test_greedy_and_top_k_1_agree(shared_worker: Worker) -> None:
    g = shared_worker.ok("/v1/generate", {"prompts": ["hello"], "n": 2, "max_tokens": 10, "temperature": 0})
    k = shared_worker.ok("/v1/generate", {"prompts": ["hello"], "max_tokens": 10, "top_k": 1, "seed": 3})
    s0, s1 = g["results"][0]["samples"]
    assert s0["token_ids"] == s1["token_ids"] == k["results"][0]["samples"][0]["token_ids"]


def test_warp_logits_top_k_and_top_p() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(warp_logits(logits, 1.0, 2, 1.0)).tolist() == [[False, False, True, True]]
    # nucleus 0.7: keep 0.5 and 0.3 (the mass above 0.3 is 0.5 < 0.7), drop the rest
    assert torch.isinf(warp_logits(logits, 1.0, 0, 0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(warp_logits(logits, 1.0, 0, 0.85)).tolist() == [[False, False, False, True]]


def reference_warp(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """`warp_logits` as it was before the top-k prefilter (a full sort per row for top-p)."""
    logits = logits / temperature
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        before = probs.cumsum(-1) - probs
        remove = before >= top_p
        remove[:, 0] = False
        sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
        logits = torch.empty_like(logits).scatter_(-1, idx, sorted_logits)
    return logits


def test_prefiltered_top_p_keeps_the_sorted_nucleus_and_draws_the_same_tokens() -> None:
    # Peaked rows keep their nucleus inside the prefilter; flat rows (mass spread over thousands of
    # tokens) fall back to the sort; a batch mixes both. Same uniforms -> same tokens as the old path.
    g = torch.Generator().manual_seed(0)
    v = 20_000
    fallbacks = 0
    for trial in range(12):
        scale = torch.tensor([0.3, 2.0, 6.0, 12.0])[torch.randint(0, 4, (16, 1), generator=g)]
        logits = torch.randn(16, v, generator=g) * scale
        temperature = [1.0, 0.7, 1.3][trial % 3]
        top_k = [0, 0, 50, 3000][trial % 4]
        top_p = [0.9, 0.5, 0.95, 0.99][trial % 4]
        ref = reference_warp(logits, temperature, top_k, top_p)
        got = warp_logits(logits, temperature, top_k, top_p)
        assert torch.equal(torch.isinf(got), torch.isinf(ref))
        assert torch.equal(got[~torch.isinf(got)], ref[~torch.isinf(ref)])
        kept = (~torch.isinf(ref)).sum(-1)
        fallbacks += int((kept > sampling.TOP_P_PREFILTER).sum())
        u = torch.rand(16, generator=g, dtype=torch.float64)
        assert torch.equal(draw(got.softmax(-1), u), draw(ref.softmax(-1), u))
    assert fallbacks > 0  # the sort fallback ran too
    assert fallbacks < 12 * 16  # and the prefilter alone decided most rows


def test_stop_string_ends_the_sample(shared_worker: Worker) -> None:
    body = {"prompts": ["the"], "max_tokens": 30, "seed": 2}
    free = shared_worker.ok("/v1/generate", body)["results"][0]["samples"][0]
    text = free["text"]
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert len(stop) == 2
    cut = shared_worker.ok("/v1/generate", {**body, "stop": [stop]})["results"][0]["samples"][0]
    assert cut["finish_reason"] == "stop"
    assert cut["text"] == text[: text.find(stop)]
    assert cut["token_ids"] == free["token_ids"][: len(cut["token_ids"])]
    assert len(cut["token_ids"]) < len(free["token_ids"])


def test_reasoning_budget_closes_the_think_block(shared_worker: Worker) -> None:
    tok = shared_worker.engine.tok
    prompt = tok.encode_chat([{"role": "user", "content": "think"}]) + [tok.think_open_id]
    body = {
        "prompt_token_ids": [prompt],
        "n": 3,
        "max_tokens": 20,
        "seed": 4,
        "reasoning": {"budget_tokens": 5},
    }
    forced = 0
    for s in shared_worker.ok("/v1/generate", body)["results"][0]["samples"]:
        ids = s["token_ids"]
        if s["finish_reason"] == "eos" and len(ids) <= 5:
            continue
        close = ids.index(tok.think_close_id)
        assert close <= 5  # at the latest right after 5 tokens of thought
        assert s["thinking_tokens"] == close + 1
        assert s["answer_tokens"] == len(ids) - close - 1
        assert "</think>" in s["text"]
        forced += close == 5
    assert forced > 0
    # without a budget the random model does not close the block: everything counts as thinking
    no_budget = {k: v for k, v in body.items() if k != "reasoning"} | {"max_tokens": 8}
    free = shared_worker.ok("/v1/generate", no_budget)
    for s in free["results"][0]["samples"]:
        if tok.think_close_id not in s["token_ids"]:
            assert s["thinking_tokens"] == len(s["token_ids"]) and s["answer_tokens"] == 0


def test_eos_ends_a_sample(worker: Worker) -> None:
    # teach the model to answer "ok" then <|eos|>, then check the finish reason and the text
    for _ in range(30):
        worker.ok(
            "/v1/sft_step", {"examples": [{"prompt": "say ok", "completion": "ok"}], "learning_rate": 3e-3}
        )
    s = worker.ok("/v1/generate", {"prompts": ["say ok"], "max_tokens": 8, "temperature": 0})["results"][0][
        "samples"
    ][0]
    assert s["finish_reason"] == "eos" and s["text"] == "ok"
    assert s["token_ids"][-1] == worker.engine.tok.eos_ids[0]
