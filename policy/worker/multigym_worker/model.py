"""A Llama-family decoder-only transformer with a static KV cache.

One module covers the built-in models and Hugging Face checkpoints of the Llama, Mistral, Qwen2 and
Qwen3 families: pre-norm RMSNorm (Zhang & Sennrich 2019), rotary position embeddings (Su et al. 2021,
RoFormer eq. 34, in the "rotate half" layout of Hugging Face), grouped-query attention (Ainslie et al.
2023), SwiGLU MLP (Shazeer 2020), optional q/k bias (Qwen2) and q/k RMSNorm (Qwen3). Parameter names
match Hugging Face's `LlamaForCausalLM`, so safetensors files load and save without renaming.

Shapes: B batch, T new tokens, S cache length, H query heads, K key/value heads, D head dim.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class ModelConfig:
    """Architecture hyper-parameters (names follow Hugging Face `LlamaConfig`)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    max_position_embeddings: int
    rope_theta: float = 1e6
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = True
    attention_bias: bool = False
    qk_norm: bool = False
    rope_scaling: dict[str, Any] | None = field(default=None)
    model_type: str = "llama"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm, computed in fp32 (Zhang & Sennrich 2019, eq. 4)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(dtype)


def rope_inv_freq(cfg: ModelConfig) -> Tensor:
    """Inverse frequencies θ_i = base^(−2i/D) (RoFormer eq. 15), with Llama-3 / linear scaling."""
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    sc = cfg.rope_scaling or {}
    kind = sc.get("rope_type", sc.get("type", "default"))
    if kind == "linear":
        inv = inv / float(sc["factor"])
    elif kind == "llama3":
        factor = float(sc["factor"])
        low, high = float(sc["low_freq_factor"]), float(sc["high_freq_factor"])
        old = float(sc["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        smooth = (old / wavelen - low) / (high - low)
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        mid = (1 - smooth) * inv / factor + smooth * inv
        is_mid = (wavelen <= old / low) & (wavelen >= old / high)
        inv = torch.where(is_mid, mid, scaled)
    elif kind not in ("default", None):
        raise ValueError(f"unsupported rope_scaling type {kind!r}")
    return inv.float()


def rotate_half(x: Tensor) -> Tensor:
    """[x1, x2] → [−x2, x1] on the last dim."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class KVCache:
    """Preallocated keys and values for every layer: `k[l], v[l]` of shape [B, K, S, D].

    Writes go to slot indices given as a tensor (`index_copy_`), so a decode step has static shapes
    and can be captured in a CUDA graph.
    """

    def __init__(self, cfg: ModelConfig, batch: int, length: int, device: torch.device, dtype: torch.dtype):
        shape = (batch, cfg.num_key_value_heads, length, cfg.head_dim)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.length = length


class Attention(nn.Module):
    """Multi-head attention with grouped key/value heads and rotary embeddings."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h, k, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.h, self.k, self.d = h, k, d
        self.q_proj = nn.Linear(cfg.hidden_size, h * d, bias=cfg.attention_bias)
        self.k_proj = nn.Linear(cfg.hidden_size, k * d, bias=cfg.attention_bias)
        self.v_proj = nn.Linear(cfg.hidden_size, k * d, bias=cfg.attention_bias)
        self.o_proj = nn.Linear(h * d, cfg.hidden_size, bias=False)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(d, cfg.rms_norm_eps)
            self.k_norm = RMSNorm(d, cfg.rms_norm_eps)
        else:
            self.q_norm = self.k_norm = None

    def forward(
        self,
        x: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
        cache: tuple[Tensor, Tensor] | None,
        slots: Tensor | None,
    ) -> Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d)
        k = self.k_proj(x).view(b, t, self.k, self.d)
        v = self.v_proj(x).view(b, t, self.k, self.d).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = (q * cos + rotate_half(q) * sin).to(v.dtype)
        k = (k * cos + rotate_half(k) * sin).to(v.dtype)
        if cache is not None:
            ck, cv = cache
            ck.index_copy_(2, slots, k)
            cv.index_copy_(2, slots, v)
            if mask is not None:  # decoding: attend over the cache; without a mask only the new tokens
                k, v = ck, cv
        gqa = self.h != self.k
        if mask is None:
            if gqa:  # training: expand the key/value heads so the flash kernel applies
                k = k.repeat_interleave(self.h // self.k, dim=1)
                v = v.repeat_interleave(self.h // self.k, dim=1)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.h * self.d))


class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)) (Shazeer 2020, eq. 6)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm decoder layer."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, cache, slots):  # noqa: ANN001, ANN201 - hot path
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, slots)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """Embeddings, layers and final norm (Hugging Face's `model.` prefix)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class CausalLM(nn.Module):
    """Decoder-only language model. `forward` returns final hidden states; `logits` projects them."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)

    def init_weights(self, seed: int) -> None:
        """Random init for training from scratch: N(0, 0.02), output projections scaled by 1/√(2L)
        (GPT-2, Radford et al. 2019, §2.3)."""
        gen = torch.Generator().manual_seed(seed)
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p) if name.endswith("norm.weight") else nn.init.zeros_(p)
                continue
            s = (
                std / math.sqrt(2 * self.config.num_hidden_layers)
                if name.endswith(("o_proj.weight", "down_proj.weight"))
                else std
            )
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen) * s)

    def rope(self, positions: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """cos, sin of shape [B, 1, T, D] for integer `positions` [B, T] (fp32 angles)."""
        ang = positions.float()[..., None] * self.inv_freq.float()
        emb = torch.cat((ang, ang), dim=-1)[:, None]
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(
        self,
        input_ids: Tensor,
        positions: Tensor | None = None,
        mask: Tensor | None = None,
        cache: KVCache | None = None,
        slots: Tensor | None = None,
    ) -> Tensor:
        """Hidden states [B, T, hidden].

        Args:
            input_ids: [B, T] token ids.
            positions: [B, T] rotary positions; default 0..T−1 for every row.
            mask: boolean [B, 1, T, S] (True = attend) over the whole cache; None means plain causal
                attention over the T new tokens only (training with right padding, or a prefill).
            cache: KV cache; the new keys and values are written at `slots` ([T] cache indices).
        """
        b, t = input_ids.shape
        if positions is None:
            positions = torch.arange(t, device=input_ids.device).expand(b, t)
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.rope(positions, x.dtype)  # angles in fp32, applied in the model dtype (as HF)
        for i, layer in enumerate(self.model.layers):
            kv = (cache.k[i], cache.v[i]) if cache is not None else None
            x = layer(x, cos, sin, mask, kv, slots)
        return self.model.norm(x)

    def logits(self, hidden: Tensor) -> Tensor:
        """Vocabulary logits of hidden states (same dtype as the weights)."""
        return self.lm_head(hidden)
