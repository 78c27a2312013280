"""Hugging Face model directories: Llama / Qwen2 / Qwen3 checkpoints load into the worker's module
with the same logits as transformers, and a worker serves them with their tokenizer and template."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers
from conftest import start_worker

from multigym_worker.models import load_model
from multigym_worker.tokenizer import builtin_hf_tokenizer

COMMON = dict(
    vocab_size=4096, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-6, bos_token_id=0, eos_token_id=1,
)  # fmt: skip


def make_dir(tmp: Path, family: str) -> Path:
    torch.manual_seed(0)
    if family == "llama":
        cfg = transformers.LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False)
        model = transformers.LlamaForCausalLM(cfg)
    elif family == "qwen2":
        cfg = transformers.Qwen2Config(**COMMON, rope_theta=1e6, tie_word_embeddings=True)
        model = transformers.Qwen2ForCausalLM(cfg)
    else:
        cfg = transformers.Qwen3Config(**COMMON, head_dim=32, rope_theta=1e6, tie_word_embeddings=True)
        model = transformers.Qwen3ForCausalLM(cfg)
    with torch.no_grad():  # make the (zero-initialised) biases and norms non-trivial
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    out = tmp / family
    model.save_pretrained(out)
    builtin_hf_tokenizer().save_pretrained(out)
    return out


@pytest.mark.parametrize("family", ["llama", "qwen2", "qwen3"])
def test_logits_match_transformers(tmp_path: Path, family: str) -> None:
    path = make_dir(tmp_path, family)
    ref = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ours, tok, _ = load_model(str(path), torch.device("cpu"), torch.float32, seed=0)
    assert ours.config.model_type == family
    ids = torch.randint(0, 4096, (2, 37), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(ids).logits
        got = ours.logits(ours(ids))
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()
    assert tok.encode_chat([{"role": "user", "content": "hi"}])[:2] == [0, 3]


def test_worker_serves_a_model_directory(tmp_path: Path) -> None:
    path = make_dir(tmp_path, "qwen2")
    w = start_worker("--model", str(path))
    try:
        info = w.get("/v1/info")[1]
        assert info["model"] == str(path) and info["max_context"] == 512 and info["vocab_size"] == 4096
        out = w.ok(
            "/v1/generate",
            {"messages": [[{"role": "user", "content": "hi"}]], "n": 2, "max_tokens": 5, "seed": 0},
        )
        assert len(out["results"][0]["samples"]) == 2
        ids = out["results"][0]["prompt_token_ids"]
        assert w.engine.tok.decode(ids).endswith("<|im_start|>assistant\n")
    finally:
        w.stop()
