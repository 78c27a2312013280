"""Ragged lengths: a batch whose rows end at different steps (EOS, length, stop strings, a reasoning
budget) samples the same tokens, log-probs and finish reasons with compaction (finished rows dropped
from the batch, `Sampler(compaction=True)`) as without it, for a fixed seed."""

from __future__ import annotations

import pytest
import torch

from multigym_worker import decode
from multigym_worker.decode import bucket_for, buckets
from multigym_worker.models import load_model
from multigym_worker.sampling import Sampler, SamplingParams


@pytest.fixture(scope="module")
def tiny():  # noqa: ANN201
    model, tok, _ = load_model("tiny", torch.device("cpu"), torch.float32, seed=0)
    model.eval()
    # the random model spreads its mass over the 4,096 tokens: 150 end ids stop ≈ 4% of the rows
    # at every step, so lengths spread from 1 to max_tokens
    tok.eos_ids = sorted(set(tok.eos_ids) | set(range(1000, 1150)))
    return model, tok


def prompts(seed: int, rows: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(1, 12, (rows,), generator=g).tolist()
    return [torch.randint(5, 4000, (n,), generator=g).tolist() for n in lens]


def both(model, tok, rows, params, monkeypatch):  # noqa: ANN001, ANN201
    calls: list[int] = []
    compact = decode.Decoder.compact

    def counting(self, keep):  # noqa: ANN001, ANN202
        calls.append(int(keep.shape[0]))
        return compact(self, keep)

    monkeypatch.setattr(decode.Decoder, "compact", counting)
    plain = Sampler(model, tok, compaction=False).generate(rows, params)
    assert calls == []
    ragged = Sampler(model, tok, compaction=True).generate(rows, params)
    return plain, ragged, calls


def assert_same(plain, ragged) -> None:  # noqa: ANN001
    for a, b in zip(plain, ragged, strict=True):
        assert b.token_ids == a.token_ids
        assert b.finish_reason == a.finish_reason and b.text == a.text
        assert (b.thinking_tokens, b.answer_tokens) == (a.thinking_tokens, a.answer_tokens)
        assert b.logprobs == pytest.approx(a.logprobs, abs=1e-5)


def test_buckets() -> None:
    assert buckets(24) == [24, 16, 8, 4, 2, 1]
    assert buckets(64) == [64, 32, 16, 8, 4, 2, 1]
    assert buckets(1) == [1]
    assert bucket_for(24, 17) == 24 and bucket_for(24, 16) == 16 and bucket_for(24, 3) == 4


@pytest.mark.parametrize(
    ("seed", "temperature", "top_p", "top_k"),
    [(1, 1.0, 1.0, 0), (2, 0.8, 0.9, 0), (3, 1.2, 1.0, 40)],
)
def test_compaction_samples_as_the_plain_batch(tiny, monkeypatch, seed, temperature, top_p, top_k) -> None:  # noqa: ANN001
    model, tok = tiny
    rows = prompts(seed, 16)
    params = SamplingParams(max_tokens=40, temperature=temperature, top_p=top_p, top_k=top_k, seed=seed)
    plain, ragged, calls = both(model, tok, rows, params, monkeypatch)
    assert_same(plain, ragged)
    lengths = [len(x.token_ids) for x in plain]
    assert min(lengths) < 8 and max(lengths) == 40  # EOS at varied steps, some rows to the end
    assert {x.finish_reason for x in plain} == {"eos", "length"}
    assert calls and calls == sorted(calls, reverse=True)  # the batch shrank, bucket by bucket


def test_compaction_with_stop_strings_and_a_reasoning_budget(tiny, monkeypatch) -> None:  # noqa: ANN001
    model, tok = tiny
    rows = prompts(7, 16)
    free = Sampler(model, tok, compaction=False).generate(rows, SamplingParams(max_tokens=32, seed=9))
    # two-character pieces of some completions' text: those rows stop there, the rest run on
    stops = [x.text[len(x.text) // 2 : len(x.text) // 2 + 2] for x in free[:6] if len(x.text.strip()) > 8]
    stops = [s for s in stops if len(s) == 2]
    assert stops
    params = SamplingParams(max_tokens=32, seed=9, stop=stops)
    plain, ragged, calls = both(model, tok, rows, params, monkeypatch)
    assert_same(plain, ragged)
    assert "stop" in {x.finish_reason for x in plain} and calls
    # a budget tracks the think state inside the loop; it is compacted with the rows
    think = [r + [tok.think_open_id] for r in rows[:8]]
    params = SamplingParams(max_tokens=24, seed=3, budget_tokens=4)
    plain, ragged, calls = both(model, tok, think, params, monkeypatch)
    assert_same(plain, ragged)
    assert calls and any(0 < x.answer_tokens for x in plain)
