"""Checkpoints: a directory that is also a loadable Hugging Face-style model directory.

Contents:
  * `model.safetensors`, `config.json` and the tokenizer files: the weights (a tied head stored
    once) — `--model DIR` can start a worker from them;
  * `reference.safetensors`: the frozen reference policy π_ref, when a GRPO step has run;
  * `trainer.pt`: AdamW states (with fp32 masters under mixed precision), the schedule's step count
    and the torch RNG states;
  * `state.json` (written last): policy version, run id and idempotency records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from .errors import CheckpointError
from .models import ModelLoadError, load_weights

if TYPE_CHECKING:
    from .engine import Engine


def hf_config(engine: Engine) -> dict[str, Any]:
    """A Hugging Face `config.json` for the model (llama layout for the built-ins)."""
    c = engine.model.config
    arch = {
        "llama": "LlamaForCausalLM",
        "mistral": "MistralForCausalLM",
        "qwen2": "Qwen2ForCausalLM",
        "qwen3": "Qwen3ForCausalLM",
    }
    out = {
        "architectures": [arch[c.model_type]],
        "model_type": c.model_type,
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": c.head_dim,
        "max_position_embeddings": c.max_position_embeddings,
        "rope_theta": c.rope_theta,
        "rms_norm_eps": c.rms_norm_eps,
        "tie_word_embeddings": c.tie_word_embeddings,
        "rope_scaling": c.rope_scaling,
        "hidden_act": "silu",
        "bos_token_id": engine.tok.hf.bos_token_id,
        "eos_token_id": engine.tok.eos_ids,
        "torch_dtype": str(next(engine.model.parameters()).dtype).removeprefix("torch."),
    }
    if c.model_type == "qwen3":
        out["attention_bias"] = c.attention_bias
    return out


def _weights(state: dict[str, torch.Tensor], tied: bool) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().contiguous().cpu() for k, v in state.items() if not (tied and k == "lm_head.weight")
    }


def save(engine: Engine, path: str) -> None:
    """Writes the checkpoint directory `path` (created if needed; existing files are replaced).

    Raises:
        CheckpointError: the directory cannot be written.
    """
    d = Path(path)
    try:
        d.mkdir(parents=True, exist_ok=True)
        tied = engine.model.config.tie_word_embeddings
        save_file(_weights(engine.model.state_dict(), tied), str(d / "model.safetensors"))
        (d / "config.json").write_text(json.dumps(hf_config(engine), indent=2))
        engine.tok.hf.save_pretrained(str(d))
        tr = engine.trainer
        if tr.ref_state is not None:
            save_file(_weights(tr.ref_state, tied), str(d / "reference.safetensors"))
        torch.save(
            {
                "opt": tr.opt.state_dict() if tr.opt else None,
                "rl_steps": tr.rl_steps,
                "rng": engine.rng_state(),
            },
            d / "trainer.pt",
        )
        state = {
            "policy_version": engine.policy_version,
            "records": engine.records,
            "model": engine.opts.model_name,
            "run_id": engine.run_id,
        }
        (d / "state.json").write_text(json.dumps(state))
    except OSError as e:
        raise CheckpointError(f"cannot write checkpoint {path}: {e}", "path") from e


def load(engine: Engine, path: str) -> None:
    """Restores weights, optimizer and schedule state, RNG, policy version and idempotency records.

    Raises:
        CheckpointError: missing or incompatible files.
    """
    d = Path(path)
    if not (d / "state.json").is_file():
        raise CheckpointError(f"{path} is not a complete checkpoint (no state.json)", "path")
    try:
        load_weights(engine.model, load_file(str(d / "model.safetensors")))
        tr = engine.trainer
        ref = d / "reference.safetensors"
        if ref.is_file():
            ref_state = load_file(str(ref))
            if engine.model.config.tie_word_embeddings:
                ref_state["lm_head.weight"] = ref_state["model.embed_tokens.weight"]
            tr.set_reference(ref_state)
        else:
            tr.set_reference(None)
        blob = torch.load(d / "trainer.pt", weights_only=False, map_location="cpu")
        tr.opt = None
        if blob["opt"] is not None:
            tr.optimizer().load_state_dict(blob["opt"])
        tr.rl_steps = int(blob["rl_steps"])
        torch.set_rng_state(blob["rng"]["cpu"])
        if "cuda" in blob["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(blob["rng"]["cuda"])
        state = json.loads((d / "state.json").read_text())
    except (OSError, KeyError, ModelLoadError) as e:
        raise CheckpointError(f"cannot load checkpoint {path}: {e}", "path") from e
    engine.policy_version = int(state["policy_version"])
    engine.records = state["records"]
    engine.run_id = state.get("run_id")
