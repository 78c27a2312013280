"""GGUF (llama.cpp) → Hugging Face model directory: config, dequantised weights, tokenizer, template.

Reads a GGUF file with PyPI's `gguf` package (which dequantises Q4_0/Q4_1/Q8_0/K-quants to float32)
and produces what `models.load_model` loads: a Llama `config.json`, a safetensors state dict with
Hugging Face's parameter names, and a `tokenizers` BPE tokenizer rebuilt from the file's vocabulary,
merges and pre-tokenizer type, with the file's chat template.

Two llama.cpp conventions are undone here:
  * Q and K projection rows are stored permuted (llama.cpp's `convert_hf_to_gguf.py`, `permute`):
    its RoPE rotates interleaved pairs (x0, x1), (x2, x3)…, Hugging Face's the two halves of each
    head. `unpermute_qk` is the exact inverse.
  * GGUF dimensions are listed fastest-first; the `gguf` reader already returns numpy arrays in
    row-major [out_features, in_features] order, which is PyTorch's `nn.Linear.weight` layout.

Only what the Llama architecture with a byte-level BPE vocabulary needs is supported (SmolLM2,
Llama-2/3-style files); anything else is refused with a `GGUFImportError` naming the key.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch


class GGUFImportError(ValueError):
    """The GGUF file cannot be converted (unsupported architecture, tokenizer or tensor)."""

    type = "gguf_import"


#: Per-layer GGUF tensor names → Hugging Face `LlamaForCausalLM` names (`{i}` is the layer).
LAYER_NAMES = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_BLOCK = re.compile(r"^blk\.(\d+)\.(\w+)\.weight$")

# llama.cpp's pre-tokenizer types (`tokenizer.ggml.pre`) whose split is GPT-2's regex after isolating
# every digit (llama-vocab.cpp: "\\p{N}", then the GPT-2 pattern) — the StarCoder/SmolLM tokenizers.
DIGIT_SPLIT_PRE = ("smollm", "starcoder", "refact", "codeshell")
# Plain GPT-2 byte-level split.
GPT2_PRE = ("gpt-2", "gpt2", "default")


@dataclass
class ConvertedModel:
    """A GGUF file's content in Hugging Face form."""

    config: dict[str, Any]
    generation_config: dict[str, Any]
    state: dict[str, torch.Tensor]
    tokenizer: Any  # transformers.PreTrainedTokenizerFast
    #: GGUF tensor types counted by name (e.g. {"Q4_1": 210, "Q8_0": 1, "F32": 61}).
    quantization: dict[str, int] = field(default_factory=dict)
    #: `general.name` and the other `general.*` strings, for the manifest.
    general: dict[str, Any] = field(default_factory=dict)


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of llama.cpp's Q/K row permutation for one projection.

    Args:
        w: [n_head · D, in] weight as stored in the GGUF (D = head dim).
        n_head: heads of this projection (query heads for Q, key/value heads for K).
    Returns:
        [n_head · D, in] in Hugging Face's rotate-half layout. llama.cpp's forward map is
        `w.reshape(n_head, 2, D/2, in).swapaxes(1, 2)`; this reshapes to (n_head, D/2, 2, in) and swaps back.
    """
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise GGUFImportError(f"Q/K projection with {rows} rows does not split into {n_head} heads")
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def _required(reader: Any, key: str) -> Any:
    value = _field(reader, key)
    if value is None:
        raise GGUFImportError(f"the GGUF file has no {key!r} entry")
    return value


def read_config(reader: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(config.json, generation_config.json)` contents from the file's `llama.*` and token-id keys."""
    arch = _required(reader, "general.architecture")
    if arch != "llama":
        raise GGUFImportError(f"general.architecture {arch!r} is not supported (supported: llama)")
    heads = int(_required(reader, "llama.attention.head_count"))
    hidden = int(_required(reader, "llama.embedding_length"))
    head_dim = int(_field(reader, "llama.rope.dimension_count", hidden // heads))
    if head_dim != hidden // heads:
        raise GGUFImportError(f"llama.rope.dimension_count {head_dim} != embedding_length / head_count")
    if _field(reader, "llama.rope.scaling.type") not in (None, "none"):
        raise GGUFImportError("llama.rope.scaling.type: RoPE scaling in GGUF files is not supported")
    tokens = _required(reader, "tokenizer.ggml.tokens")
    names = {t.name for t in reader.tensors}
    bos, eos = _field(reader, "tokenizer.ggml.bos_token_id"), _field(reader, "tokenizer.ggml.eos_token_id")
    pad = _field(reader, "tokenizer.ggml.padding_token_id", eos)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": int(_field(reader, "llama.vocab_size", len(tokens))),
        "hidden_size": hidden,
        "intermediate_size": int(_required(reader, "llama.feed_forward_length")),
        "num_hidden_layers": int(_required(reader, "llama.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(_field(reader, "llama.attention.head_count_kv", heads)),
        "head_dim": head_dim,
        "max_position_embeddings": int(_required(reader, "llama.context_length")),
        "rope_theta": float(_field(reader, "llama.rope.freq_base", 10000.0)),
        "rms_norm_eps": float(_required(reader, "llama.attention.layer_norm_rms_epsilon")),
        "tie_word_embeddings": "output.weight" not in names,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
    }
    generation = {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad}
    return config, generation


def read_weights(reader: Any, config: dict[str, Any], dtype: torch.dtype) -> tuple[dict, dict[str, int]]:
    """Dequantised tensors under Hugging Face names, Q/K unpermuted; and the tensor types counted."""
    from gguf.quants import dequantize

    state: dict[str, torch.Tensor] = {}
    kinds: Counter[str] = Counter()
    for t in reader.tensors:
        kinds[t.tensor_type.name] += 1
        m = _BLOCK.match(t.name)
        if m and m.group(2) in LAYER_NAMES:
            name = f"model.layers.{m.group(1)}.{LAYER_NAMES[m.group(2)]}.weight"
        elif t.name in GLOBAL_NAMES:
            name = GLOBAL_NAMES[t.name]
        elif t.name == "rope_freqs.weight":
            raise GGUFImportError("rope_freqs.weight (Llama-3.1 RoPE scaling) is not supported")
        else:
            raise GGUFImportError(f"unexpected tensor {t.name!r} in a llama GGUF file")
        try:
            w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        except NotImplementedError as e:
            raise GGUFImportError(f"{t.name}: tensor type {t.tensor_type.name} cannot be dequantised") from e
        if m and m.group(2) == "attn_q":
            w = unpermute_qk(w, config["num_attention_heads"])
        elif m and m.group(2) == "attn_k":
            w = unpermute_qk(w, config["num_key_value_heads"])
        state[name] = torch.from_numpy(np.array(w, order="C", copy=True)).to(dtype)
    return state, dict(sorted(kinds.items()))


def build_tokenizer(reader: Any) -> Any:
    """A `PreTrainedTokenizerFast` from the file's byte-level BPE vocabulary, merges and template.

    Raises:
        GGUFImportError: not a `gpt2` (byte-level BPE) vocabulary, an unknown `tokenizer.ggml.pre`,
            or no chat template.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    kind = _required(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise GGUFImportError(
            f"tokenizer.ggml.model {kind!r} is not supported (supported: gpt2 byte-level BPE)"
        )
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    if pre in DIGIT_SPLIT_PRE:
        pre_tok = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    elif pre in GPT2_PRE:
        pre_tok = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        known = ", ".join(DIGIT_SPLIT_PRE + GPT2_PRE)
        raise GGUFImportError(f"tokenizer.ggml.pre {pre!r} is not supported (supported: {known})")
    template = _field(reader, "tokenizer.chat_template")
    if not template:
        raise GGUFImportError("the GGUF file has no tokenizer.chat_template; the worker needs one")
    tokens: list[str] = list(_required(reader, "tokenizer.ggml.tokens"))
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in _required(reader, "tokenizer.ggml.merges")]
    tk = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False))
    tk.pre_tokenizer = pre_tok
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    # Control tokens (type 3: <|im_start|>, <|endoftext|>, …) stay whole and are special.
    tk.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types, strict=True) if k == 3]
    )

    def tok(key: str) -> str | None:
        tid = _field(reader, f"tokenizer.ggml.{key}")
        return tokens[int(tid)] if tid is not None else None

    eos = tok("eos_token_id")
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token=tok("bos_token_id"),
        eos_token=eos,
        unk_token=tok("unknown_token_id"),
        pad_token=tok("padding_token_id") or eos,
    )
    hf.chat_template = template
    return hf


def convert(path: str | Path, dtype: torch.dtype = torch.float32) -> ConvertedModel:
    """Reads and converts the GGUF file at `path`.

    Args:
        path: a GGUF v2/v3 file of a llama-architecture model with a byte-level BPE vocabulary.
        dtype: dtype of the dequantised weights (float32 keeps the dequantised values exactly).
    Raises:
        GGUFImportError: not a readable GGUF file, or unsupported content.
    """
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except (ValueError, OSError, IndexError) as e:  # bad magic, truncated file, unknown value type
        raise GGUFImportError(f"{Path(path).name} is not a readable GGUF file ({e})") from e
    config, generation = read_config(reader)
    state, kinds = read_weights(reader, config, dtype)
    config["torch_dtype"] = str(dtype).removeprefix("torch.")
    general = {
        k.removeprefix("general."): _field(reader, k)
        for k in ("general.name", "general.organization", "general.finetune", "general.license")
        if _field(reader, k) is not None
    }
    return ConvertedModel(config, generation, state, build_tokenizer(reader), kinds, general)
