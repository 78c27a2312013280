"""Parity of the real SmolLM2-135M-Instruct: the worker's import of the GGUF against transformers'
own loading of the same file (`from_pretrained(dir, gguf_file=…)`), fp32 on CPU.

Needs the model installed by `npx multigym model fetch smollm2-135m-instruct` (scripts/setup.sh does
it). Without it these tests skip and say why, unless MULTIGYM_REQUIRE_DATA=1 (CI), which fails them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import transformers
from conftest import start_worker

from multigym_worker.importer.catalog import CATALOG
from multigym_worker.importer.install import sha256_file
from multigym_worker.models import load_model

NAME = "smollm2-135m-instruct"
REPO = Path(__file__).resolve().parents[3]
MODELS = (
    Path(os.environ["MULTIGYM_HOME"]).resolve() / "models"
    if "MULTIGYM_HOME" in os.environ
    else REPO / ".multigym/models"
)
MODEL_DIR = MODELS / NAME
GGUF = MODEL_DIR / "gguf" / Path(CATALOG[NAME].member).name

PROMPTS = [
    [{"role": "user", "content": "What is 17 + 25?"}],
    [{"role": "user", "content": "Write a Python function that returns the square of a number."}],
    [{"role": "system", "content": "You answer in one word."},
     {"role": "user", "content": "Capital of France?"}],
    [{"role": "user", "content": "Convert 3 km to miles. Show the formula."}],
    [{"role": "user", "content": "Tom has 3 apples and buys 12 more, then gives away 4. How many are left?"}],
    [{"role": "user", "content": "Name three colours."},
     {"role": "assistant", "content": "Red, green, blue."},
     {"role": "user", "content": "And two more?"}],
    [{"role": "user", "content": "The secret code is 4821. Repeat the secret code."}],
    [{"role": "user", "content": "Überprüfe: is 1,000 larger than 999? Answer yes or no."}],
]  # fmt: skip


def _require_model() -> None:
    if GGUF.is_file() and (MODEL_DIR / "config.json").is_file():
        return
    reason = f"{NAME} is not installed in {MODELS}: run `npx multigym model fetch {NAME}`"
    if os.environ.get("MULTIGYM_REQUIRE_DATA") == "1":
        pytest.fail(f"MULTIGYM_REQUIRE_DATA=1 and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def ours():
    _require_model()
    torch.manual_seed(0)
    return load_model(str(MODEL_DIR), torch.device("cpu"), torch.float32, seed=0)


@pytest.fixture(scope="module")
def reference():
    _require_model()
    assert sha256_file(GGUF) == CATALOG[NAME].sha256
    model = transformers.AutoModelForCausalLM.from_pretrained(
        GGUF.parent, gguf_file=GGUF.name, dtype=torch.float32
    )
    tok = transformers.AutoTokenizer.from_pretrained(GGUF.parent, gguf_file=GGUF.name)
    return model.eval(), tok


def _ids(tok, messages) -> list[int]:
    return tok.encode_chat(messages)


def test_config_template_and_stop_tokens(ours) -> None:
    model, tok, _ = ours
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.num_key_value_heads) == (
        30,
        576,
        9,
        3,
    )
    assert c.vocab_size == 49152 and c.tie_word_embeddings and c.rope_theta == 100000.0
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert tok.eos_ids == [2] and tok.pad_id == 2 and tok.hf.convert_ids_to_tokens(2) == "<|im_end|>"
    text = tok.render_chat(PROMPTS[0])
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith("<|im_start|>user\nWhat is 17 + 25?<|im_end|>\n<|im_start|>assistant\n")


def test_token_ids_match_transformers_gguf_tokenizer(ours, reference) -> None:
    _, tok, _ = ours
    _, ref_tok = reference
    for messages in PROMPTS:
        want = list(
            ref_tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]
        )
        assert _ids(tok, messages) == want, messages


def _right_padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, rows))
    ids = torch.tensor([r + [2] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return ids, mask


def test_logits_match_transformers_within_1e_3(ours, reference) -> None:
    """All 8 prompts in one right-padded batch (causal attention: padding never reaches a real token)."""
    model, tok, _ = ours
    ref, _ = reference
    rows = [_ids(tok, m) for m in PROMPTS]
    ids, mask = _right_padded(rows)
    with torch.no_grad():
        got = model.logits(model(ids))
        want = ref(input_ids=ids, attention_mask=mask).logits
    valid = mask.bool()
    worst = (got - want).abs()[valid].max().item()
    print(f"max |logit difference| over {len(PROMPTS)} prompts ({int(valid.sum())} positions): {worst:.2e}")
    assert worst < 1e-3


def test_32_greedy_tokens_identical_to_transformers(ours, reference) -> None:
    """The worker's batched greedy decoding (left-padded over its KV cache, behind /v1/generate)
    against HF `generate` on the same 8 prompts, left-padded in one batch."""
    _, tok, _ = ours
    ref, _ = reference
    rows = [_ids(tok, m) for m in PROMPTS]
    width = max(map(len, rows))
    ids = torch.tensor([[2] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    with torch.no_grad():
        full = ref.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=32,
            do_sample=False,
            eos_token_id=2,
            pad_token_id=2,
        )
    w = start_worker("--model", str(MODEL_DIR))
    try:
        out = w.ok("/v1/generate", {"messages": PROMPTS, "max_tokens": 32, "temperature": 0})
    finally:
        w.stop()
    for row, result in zip(full[:, width:].tolist(), out["results"], strict=True):
        want = row[: row.index(2) + 1] if 2 in row else row  # HF pads a finished row with EOS
        got = result["samples"][0]["token_ids"]
        assert got == want, (tok.decode(got), tok.decode(want))
        assert len(got) == 32 or got[-1] == 2
