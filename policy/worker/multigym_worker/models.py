"""Model loading: the built-in architectures trained from scratch and Hugging Face directories.

`load_model("tiny" | "small" | "base" | DIR, ...)` returns a `CausalLM` and its `PolicyTokenizer`.
A directory must hold a Hugging Face `config.json` of a supported family (llama, mistral, qwen2,
qwen3), safetensors weights and a tokenizer with a chat template; nothing is downloaded. A plain name
that is neither built in nor a directory is looked up in the models directory
(`<MULTIGYM_HOME>/models/<name>`, where `multigym model fetch` installs pretrained models).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from .model import CausalLM, ModelConfig
from .tokenizer import PolicyTokenizer

BUILTIN_VOCAB = 4096

#: Built-in architectures (Llama family, tied embeddings). Parameter counts include the embeddings.
BUILTINS: dict[str, ModelConfig] = {
    # ≈ 1.3M parameters (0.5M of them embeddings): CPU tests and the embedded default.
    "tiny": ModelConfig(
        vocab_size=BUILTIN_VOCAB,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        rope_theta=1e5,
    ),
    # ≈ 25.7M parameters.
    "small": ModelConfig(
        vocab_size=BUILTIN_VOCAB,
        hidden_size=512,
        intermediate_size=1408,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=64,
        max_position_embeddings=8192,
        rope_theta=1e6,
    ),
    # ≈ 125M parameters: GPU benchmarks.
    "base": ModelConfig(
        vocab_size=BUILTIN_VOCAB,
        hidden_size=1024,
        intermediate_size=2432,
        num_hidden_layers=12,
        num_attention_heads=16,
        num_key_value_heads=4,
        head_dim=64,
        max_position_embeddings=8192,
        rope_theta=1e6,
    ),
}

SUPPORTED_FAMILIES = ("llama", "mistral", "qwen2", "qwen3")


class ModelLoadError(ValueError):
    """The model name or directory cannot be loaded (unknown name, unsupported family, missing files)."""

    type = "model_load"


def config_from_hf(raw: dict) -> ModelConfig:
    """Maps a Hugging Face `config.json` (transformers 4.x or 5.x layout) to `ModelConfig`."""
    family = raw.get("model_type")
    if family not in SUPPORTED_FAMILIES:
        raise ModelLoadError(
            f"model_type {family!r} is not supported (supported: {', '.join(SUPPORTED_FAMILIES)})"
        )
    rope = raw.get("rope_parameters") or {}
    theta = raw.get("rope_theta", rope.get("rope_theta", 10000.0))
    scaling = raw.get("rope_scaling") or (rope if rope.get("rope_type", "default") != "default" else None)
    if family == "llama" and (raw.get("attention_bias") or raw.get("mlp_bias")):
        raise ModelLoadError("llama checkpoints with attention_bias/mlp_bias are not supported")
    heads = int(raw["num_attention_heads"])
    max_pos = int(raw.get("max_position_embeddings", 4096))
    if family == "mistral" and raw.get("sliding_window"):
        max_pos = min(max_pos, int(raw["sliding_window"]))
    return ModelConfig(
        vocab_size=int(raw["vocab_size"]),
        hidden_size=int(raw["hidden_size"]),
        intermediate_size=int(raw["intermediate_size"]),
        num_hidden_layers=int(raw["num_hidden_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=int(raw.get("num_key_value_heads") or heads),
        head_dim=int(raw.get("head_dim") or int(raw["hidden_size"]) // heads),
        max_position_embeddings=max_pos,
        rope_theta=float(theta),
        rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
        attention_bias=family == "qwen2" or (family == "qwen3" and bool(raw.get("attention_bias"))),
        qk_norm=family == "qwen3",
        rope_scaling=scaling,
        model_type=family,
    )


#: Safetensors files of a checkpoint directory that are not the policy's weights.
NOT_WEIGHTS = ("reference.safetensors",)


def load_state_dir(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of the safetensors files in `path`, except a checkpoint's frozen reference policy
    (`reference.safetensors`, which would otherwise overwrite the trained weights)."""
    files = sorted(f for f in path.glob("*.safetensors") if f.name not in NOT_WEIGHTS)
    if not files:
        raise ModelLoadError(f"no *.safetensors weights in {path}")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def check_weights(model: CausalLM, state: dict[str, torch.Tensor]) -> None:
    """Checks, without copying, that `state` holds every parameter of `model` (a tied head may be
    absent) with its shape and only finite values.

    Raises:
        ModelLoadError: naming the first missing, misshapen or non-finite tensor.
    """
    own = model.state_dict()
    missing = [
        k for k in own if k not in state and not (k == "lm_head.weight" and model.config.tie_word_embeddings)
    ]
    if missing:
        raise ModelLoadError(
            f"weights missing from the checkpoint: {missing[:5]}{' …' if len(missing) > 5 else ''}"
        )
    for k, t in own.items():
        if k not in state:
            continue
        if state[k].shape != t.shape:
            raise ModelLoadError(f"{k}: checkpoint shape {tuple(state[k].shape)} != model {tuple(t.shape)}")
        if state[k].is_floating_point() and not bool(torch.isfinite(state[k]).all()):
            raise ModelLoadError(f"{k}: the checkpoint holds NaN or infinite weights")


def copy_weights(model: CausalLM, state: dict[str, torch.Tensor]) -> None:
    """Copies `state` (checked by `check_weights`) into `model`'s parameters in place."""
    with torch.no_grad():
        for k, t in model.state_dict().items():
            if k in state:
                t.copy_(state[k].to(t.dtype))


def resolve_model_dir(name: str, models_dir: Path | None = None) -> Path:
    """The directory of model `name`: `name` itself when it holds a config.json, else
    `models_dir/name` (default `$MULTIGYM_HOME/models`, else `./.multigym/models`).

    Raises:
        ModelLoadError: neither exists; the message says how to fetch a catalogue model.
    """
    from .importer.catalog import CATALOG
    from .importer.install import default_models_dir

    path = Path(name)
    if (path / "config.json").is_file():
        return path
    models = models_dir or default_models_dir()
    if "/" not in name and (models / name / "config.json").is_file():
        return models / name
    if name in CATALOG:
        raise ModelLoadError(
            f"model {name!r} is not installed in {models}: run `npx multigym model fetch {name}` "
            "(or pass --models-dir)"
        )
    raise ModelLoadError(
        f"{name!r} is neither a built-in model ({', '.join(BUILTINS)}), a directory with config.json, "
        f"nor an installed model in {models} (fetchable: {', '.join(CATALOG)})"
    )


def load_weights(model: CausalLM, state: dict[str, torch.Tensor]) -> None:
    """Checks `state` against `model`, then copies it (nothing is copied when a check fails)."""
    check_weights(model, state)
    copy_weights(model, state)


def load_model(
    name: str,
    device: torch.device,
    dtype: torch.dtype,
    seed: int,
    max_context: int | None = None,
    models_dir: Path | None = None,
) -> tuple[CausalLM, PolicyTokenizer, str]:
    """Builds a model and its tokenizer.

    Args:
        name: `tiny`, `small`, `base` (fresh random weights from `seed`), a Hugging Face directory,
            or the name of a model installed in `models_dir` (see `resolve_model_dir`).
        max_context: overrides the longest prompt + completion (RoPE extrapolates; quality is the
            caller's concern).
    Returns:
        (model in eval mode on `device`/`dtype`, tokenizer, display name).
    Raises:
        ModelLoadError: unknown name, unsupported family or missing files.
    """
    if name in BUILTINS:
        cfg = dataclasses.replace(BUILTINS[name])
        tok = PolicyTokenizer.builtin()
        if max_context:
            cfg.max_position_embeddings = max_context
        model = CausalLM(cfg)
        model.init_weights(seed)
        display = f"builtin:{name}"
    else:
        path = resolve_model_dir(name, models_dir)
        raw = json.loads((path / "config.json").read_text())
        cfg = config_from_hf(raw)
        if max_context:
            cfg.max_position_embeddings = max_context
        extra_eos: list[int] = []
        for src in (raw, _read_json(path / "generation_config.json")):
            eos = src.get("eos_token_id")
            extra_eos += eos if isinstance(eos, list) else ([eos] if eos is not None else [])
        tok = PolicyTokenizer.from_dir(path, extra_eos)
        model = CausalLM(cfg)
        load_weights(model, load_state_dir(path))
        display = str(path)
    model.to(device=device, dtype=dtype)
    model.inv_freq = model.inv_freq.float()
    model.eval()
    return model, tok, display


def reset_weights(model: CausalLM, source: str, seed: int) -> None:
    """Puts back the weights `load_model(source, ..., seed)` gave `model`, in place (same tensors,
    so captured CUDA graphs stay valid): a built-in is re-initialised from `seed`, a directory's
    safetensors are read again.

    Raises:
        ModelLoadError: the directory's weights are gone or no longer fit the model.
    """
    if source in BUILTINS:
        model.init_weights(seed)
    else:
        load_weights(model, load_state_dir(Path(source)))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters (a tied head counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
