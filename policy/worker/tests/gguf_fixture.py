"""A small GGUF file written the way llama.cpp's converter writes Llama models, for import tests.

Weights come from a random `transformers.LlamaForCausalLM`; Q and K are permuted as
`convert_hf_to_gguf.py` does; the large matrices are Q4_1-quantised and the embedding Q8_0 (as in
SmolLM2's file); the vocabulary is the built-in byte-level BPE with a ChatML template.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import torch
import transformers

from multigym_worker.tokenizer import ASSET, CHAT_TEMPLATE, SPECIAL_TOKENS

DIMS = dict(vocab_size=4096, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)  # fmt: skip
TEMPLATE = CHAT_TEMPLATE.replace("{{ bos_token }}", "")


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's `LlamaModel.permute` (convert_hf_to_gguf.py)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(
    path: Path, seed: int = 0, arch: str = "llama", pre: str = "smollm", tie: bool = True
) -> transformers.LlamaForCausalLM:
    """Writes a GGUF file at `path`; returns the model it was made from (before quantisation)."""
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(**DIMS, rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=tie)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_vocab_size(cfg.vocab_size)
    tok = json.loads(ASSET.read_text())
    tokens = sorted(tok["model"]["vocab"], key=tok["model"]["vocab"].get)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types([3 if t in SPECIAL_TOKENS else 1 for t in tokens])
    w.add_token_merges([" ".join(m) for m in tok["model"]["merges"]])
    w.add_bos_token_id(0)
    w.add_eos_token_id(4)  # <|im_end|>
    w.add_pad_token_id(2)
    w.add_chat_template(TEMPLATE)

    def put(name: str, t: torch.Tensor, qtype: gguf.GGMLQuantizationType | None) -> None:
        a = t.detach().float().numpy()
        if qtype is None:
            w.add_tensor(name, a)
        else:
            w.add_tensor(name, gguf.quants.quantize(a, qtype), raw_dtype=qtype)

    q4, q8 = gguf.GGMLQuantizationType.Q4_1, gguf.GGMLQuantizationType.Q8_0
    put("token_embd.weight", model.model.embed_tokens.weight, q8)
    for i, layer in enumerate(model.model.layers):
        att, mlp = layer.self_attn, layer.mlp
        q = llama_cpp_permute(att.q_proj.weight.detach().numpy(), cfg.num_attention_heads)
        k = llama_cpp_permute(att.k_proj.weight.detach().numpy(), cfg.num_key_value_heads)
        put(f"blk.{i}.attn_q.weight", torch.from_numpy(q), q4)
        put(f"blk.{i}.attn_k.weight", torch.from_numpy(k), q4)
        put(f"blk.{i}.attn_v.weight", att.v_proj.weight, q4)
        put(f"blk.{i}.attn_output.weight", att.o_proj.weight, q4)
        put(f"blk.{i}.ffn_gate.weight", mlp.gate_proj.weight, q4)
        put(f"blk.{i}.ffn_up.weight", mlp.up_proj.weight, q4)
        put(f"blk.{i}.ffn_down.weight", mlp.down_proj.weight, q4)
        put(f"blk.{i}.attn_norm.weight", layer.input_layernorm.weight, None)
        put(f"blk.{i}.ffn_norm.weight", layer.post_attention_layernorm.weight, None)
    put("output_norm.weight", model.model.norm.weight, None)
    if not tie:
        put("output.weight", model.lm_head.weight, q4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model
