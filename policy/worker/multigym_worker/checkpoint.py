"""Checkpoints: a directory that is also a loadable Hugging Face-style model directory.

Contents (format 2):
  * `model.safetensors`, `config.json` and the tokenizer files: the weights (a tied head stored
    once) — `--model DIR` can start a worker from them;
  * `reference.safetensors`: the frozen reference policy π_ref, when a GRPO step has run;
  * `trainer.json` + `trainer.safetensors`: AdamW's state (with fp32 masters under mixed precision),
    the schedule's step count and the torch RNG states, stored by `tensortree` (no pickle);
  * `state.json` (written last): policy version, idempotency records, run id, base model.

Nothing is ever unpickled: a directory with a `trainer.pt` (the pickle of older workers) and no
`trainer.json` is refused.

Writing is atomic: files go to a fresh `.tmp-<name>-*` directory beside the target, are fsynced, and
the directory is renamed into place, so a crash mid-write leaves no directory under the target
name. (Overwriting an existing checkpoint first renames it to `.old-<name>-*` and deletes it after
the new one is in place.)

Loading is staged: `read` checks every file against the running model (architecture, names, shapes,
finite weights, the optimizer state's layout, RNG sizes) without touching it; `commit` then installs
it all. A checkpoint that fails any check changes nothing: not the weights, optimizer, policy version
nor the idempotency records.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError
from .models import ModelLoadError, check_weights, copy_weights
from .optim import check_state_dict
from .tensortree import TreeFormatError, load_tree, save_tree

if TYPE_CHECKING:
    from .engine import Engine

FORMAT = 2
STATE = "state.json"
TRAINER_JSON, TRAINER_TENSORS = "trainer.json", "trainer.safetensors"
#: `config.json` fields that must match the running model for a checkpoint to load into it.
ARCHITECTURE = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "tie_word_embeddings",
)


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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_files(engine: Engine, d: Path) -> None:
    """Writes every checkpoint file into the existing directory `d`, `state.json` last, and fsyncs."""
    tied = engine.model.config.tie_word_embeddings
    save_file(_weights(engine.model.state_dict(), tied), str(d / "model.safetensors"))
    (d / "config.json").write_text(json.dumps(hf_config(engine), indent=2))
    engine.tok.hf.save_pretrained(str(d))
    tr = engine.trainer
    if tr.ref_state is not None:
        save_file(_weights(tr.ref_state, tied), str(d / "reference.safetensors"))
    trainer = {
        "format": FORMAT,
        "optimizer": tr.opt.state_dict() if tr.opt else None,
        "rl_steps": tr.rl_steps,
        "rng": engine.rng_state(),
    }
    save_tree(trainer, d / TRAINER_JSON, d / TRAINER_TENSORS)
    state = {"format": FORMAT, "model": engine.opts.model_name, **engine.lineage()}
    (d / STATE).write_text(json.dumps(state, allow_nan=False))
    for f in d.iterdir():
        _fsync(f)
    _fsync(d)


def save(engine: Engine, path: Path) -> None:
    """Writes the checkpoint directory `path` (already confined to the root) atomically; an existing
    checkpoint there is replaced.

    Raises:
        CheckpointError: the directory cannot be written (nothing is left under `path`'s name then,
            or the previous checkpoint is).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    except OSError as e:
        raise CheckpointError(f"cannot write checkpoint {path}: {e}", "path") from e
    try:
        write_files(engine, tmp)
        if path.exists() or path.is_symlink():
            old = path.parent / f".old-{path.name}-{uuid.uuid4().hex[:8]}"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
        _fsync(path.parent)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"cannot write checkpoint {path}: {e}", "path") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class Staged:
    """A checkpoint read and checked against the running model, not yet installed."""

    path: Path
    weights: dict[str, torch.Tensor]
    reference: dict[str, torch.Tensor] | None
    optimizer: dict[str, Any] | None
    rl_steps: int
    rng: dict[str, Any]
    lineage: dict[str, Any]


def _fail(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"cannot load checkpoint {path}: {why}", "path")


def _read_json(f: Path) -> Any:
    def reject(name: str) -> float:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(f.read_text(), parse_constant=reject)


def parse_lineage(raw: Any) -> dict[str, Any]:
    """The lineage fields of a `state.json` (see `Engine.lineage`), type-checked.

    Raises:
        ValueError: a field is missing or of the wrong type.
    """
    if not isinstance(raw, dict):
        raise ValueError("state.json is not an object")
    v, records = raw.get("policy_version"), raw.get("records")
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError("state.json: policy_version must be an integer ≥ 0")
    if not isinstance(records, dict) or not all(
        isinstance(k, str) and isinstance(r, dict) for k, r in records.items()
    ):
        raise ValueError("state.json: records must map keys to recorded responses")
    for key in ("run_id", "last_idempotency_key"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ValueError(f"state.json: {key} must be a string or null")
    base = raw.get("base_model", raw.get("model"))
    if not isinstance(base, str):
        raise ValueError("state.json: base_model must be a string")
    return {
        "policy_version": v,
        "records": records,
        "run_id": raw.get("run_id"),
        "last_idempotency_key": raw.get("last_idempotency_key"),
        "base_model": base,
    }


def _check_architecture(engine: Engine, d: Path) -> None:
    saved = _read_json(d / "config.json")
    ours = hf_config(engine)
    for key in ARCHITECTURE:
        if saved.get(key, ours[key]) != ours[key]:
            raise ValueError(
                f"config.json: {key} is {saved.get(key)!r}, the running model's is {ours[key]!r} "
                f"(start a worker with --model {d} to serve this architecture)"
            )


def _check_rng(rng: Any) -> None:
    cpu = rng.get("cpu") if isinstance(rng, dict) else None
    own = torch.get_rng_state()
    if not isinstance(cpu, torch.Tensor) or cpu.dtype != torch.uint8 or cpu.shape != own.shape:
        raise ValueError("trainer: rng.cpu is not a torch CPU RNG state")
    cuda = rng.get("cuda")
    if cuda is not None and not (
        isinstance(cuda, list) and all(isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda)
    ):
        raise ValueError("trainer: rng.cuda is not a list of CUDA RNG states")


def read(engine: Engine, path: Path) -> Staged:
    """Reads and checks the checkpoint directory `path` (already confined to the root) against the
    running model, without changing anything.

    Raises:
        CheckpointError: not a checkpoint, a pickle checkpoint, another architecture, or any file
            missing, malformed or inconsistent.
    """
    if not (path / STATE).is_file():
        raise _fail(path, "it is not a complete checkpoint (no state.json)")
    if not (path / TRAINER_JSON).is_file():
        if (path / "trainer.pt").exists():
            raise _fail(
                path,
                "its trainer.pt is a pickle (an older worker's format), which is never loaded because "
                "unpickling can run code; start a worker with --model on the directory to keep its weights",
            )
        raise _fail(path, f"{TRAINER_JSON} is missing")
    try:
        raw_state = _read_json(path / STATE)
        if raw_state.get("format") != FORMAT:
            raise ValueError(f"state.json: format {raw_state.get('format')!r}, this worker reads {FORMAT}")
        lineage = parse_lineage(raw_state)
        _check_architecture(engine, path)
        weights = load_file(str(path / "model.safetensors"))
        check_weights(engine.model, weights)
        reference = None
        if (path / "reference.safetensors").is_file():
            reference = load_file(str(path / "reference.safetensors"))
            check_weights(engine.model, reference)
            if engine.model.config.tie_word_embeddings:
                reference["lm_head.weight"] = reference["model.embed_tokens.weight"]
        tree = load_tree(path / TRAINER_JSON, path / TRAINER_TENSORS)
        if not isinstance(tree, dict) or tree.get("format") != FORMAT:
            raise ValueError(f"{TRAINER_JSON}: not a format-{FORMAT} trainer state")
        if tree.get("optimizer") is not None:
            check_state_dict(tree["optimizer"], engine.model)
        rl_steps = tree.get("rl_steps")
        if not isinstance(rl_steps, int) or isinstance(rl_steps, bool) or rl_steps < 0:
            raise ValueError(f"{TRAINER_JSON}: rl_steps must be an integer ≥ 0")
        _check_rng(tree.get("rng"))
    except (OSError, SafetensorError, TreeFormatError, ModelLoadError, ValueError, AttributeError) as e:
        raise _fail(path, str(e)) from e
    return Staged(path, weights, reference, tree["optimizer"], rl_steps, tree["rng"], lineage)


def commit(engine: Engine, staged: Staged) -> None:
    """Installs a checkpoint that `read` has checked: weights, reference, optimizer, schedule, RNG and
    lineage (policy version, records, run id)."""
    tr = engine.trainer
    tr.opt = None  # free the old moments before the new ones are built
    copy_weights(engine.model, staged.weights)
    tr.weights_changed()
    tr.set_reference(staged.reference)
    if staged.optimizer is not None:
        tr.optimizer().load_state_dict(staged.optimizer)
    tr.rl_steps = staged.rl_steps
    torch.set_rng_state(staged.rng["cpu"])
    cuda = staged.rng.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    engine.set_lineage(staged.lineage, loaded_from=staged.path)
