"""The worker's model state and the request handlers behind each route (no HTTP here).

Every method takes a validated request body (defaults applied) and returns the response body of
policy/protocol.ts. Calls must be serialized by the caller (the server holds one lock).

The weights a worker holds are named by (run id, policy version): `/v1/reset` and `/v1/load` set the
run, every train or SFT step adds one to the version, checkpoints keep both. A request carrying
`expect` runs only when the worker holds exactly those weights (`check_expected`), so a run notices
a restarted worker (run None, version 0) or another run's weights instead of training on them.

Lineage: with the weights the engine keeps what they are — version, run, the idempotency records of
the steps they contain, the last applied train-step key and the base model they started from — and a
checkpoint stores and restores all of it together. So a worker restarted from the run's newest
checkpoint replays exactly the keys that checkpoint contains, and a step applied after it (lost with
the old worker's weights) is a key it cannot know: sent with `expect`, it is refused (409) instead of
being applied to weights it was not computed for.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import checkpoint
from .errors import (
    ContextTooLongError,
    PolicyMismatchError,
    RequestValidationError,
    TokenOutOfRangeError,
    WorkerError,
)
from .grpo import LossConfig
from .model import CausalLM
from .models import count_parameters, reset_weights
from .optim import Schedule
from .paths import CheckpointRoot, default_checkpoint_dir
from .sampling import Sampler, SamplingParams
from .tokenizer import PolicyTokenizer
from .trainer import OptimConfig, Trainer, TrainSeq


@dataclass
class EngineOptions:
    """Command-line settings that are not per request."""

    model_name: str
    device: str
    dtype: str
    seed: int = 0
    max_batch: int = 256
    cuda_graphs: bool = True
    compile: bool = False
    optim: OptimConfig | None = None
    schedule: Schedule | None = None
    #: The `--model` argument (built-in name or directory): what `/v1/reset` restores; None: no reset.
    model_source: str | None = None
    #: Directory every checkpoint path is confined to (default `paths.default_checkpoint_dir()`).
    checkpoint_dir: str | None = None
    #: Identity of the initial weights (default: the model name; `builtin:<name>@seed=<seed>` from
    #: the command line).
    base_model: str | None = None


def coalesce_key(body: dict[str, Any]) -> str:
    """Generate requests with equal keys may be decoded together (`Engine.generate_many`): the same
    sampling settings and the same `expect` precondition; prompts, `n` and `seed` may differ."""
    fields = ("max_tokens", "temperature", "top_p", "top_k", "stop", "reasoning", "expect")
    return json.dumps([body.get(f) for f in fields], sort_keys=True)


def seed_all(seed: int) -> None:
    """Seeds Python's, NumPy's and torch's global RNGs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Engine:
    """A model, its tokenizer, sampler and trainer, the policy version and the idempotency records."""

    def __init__(self, model: CausalLM, tok: PolicyTokenizer, opts: EngineOptions) -> None:
        self.model = model
        self.tok = tok
        self.opts = opts
        self.sampler = Sampler(model, tok, opts.max_batch, opts.cuda_graphs)
        self.trainer = Trainer(
            model, tok.pad_id, opts.optim or OptimConfig(), opts.schedule or Schedule(), opts.compile
        )
        #: Incremented by every non-replayed train_step / sft_step; 0 for a fresh worker.
        self.policy_version = 0
        #: `route:idempotency_key` → recorded response.
        self.records: dict[str, dict[str, Any]] = {}
        #: The run these weights belong to (`/v1/reset`, `/v1/load`); None for weights no run claimed.
        self.run_id: str | None = None
        #: Idempotency key of the last applied (not replayed) train_step.
        self.last_idempotency_key: str | None = None
        self.base_model = opts.base_model or opts.model_name
        #: Checkpoint the current state was loaded from (None: built at start, reset, or trained since).
        self.loaded_from: Path | None = None
        self.root = CheckpointRoot(opts.checkpoint_dir or default_checkpoint_dir())
        self.vocab_size = model.config.vocab_size
        self.max_context = model.config.max_position_embeddings

    # ---- helpers -------------------------------------------------------------------------------

    def _check_ids(self, ids: list[int], field: str) -> None:
        for j, t in enumerate(ids):
            if t >= self.vocab_size:
                raise TokenOutOfRangeError(
                    f"{field}.{j}: token id {t} is outside the vocabulary (size {self.vocab_size})",
                    f"{field}.{j}",
                )

    def _replay(self, route: str, key: str | None) -> dict[str, Any] | None:
        if key is None or f"{route}:{key}" not in self.records:
            return None
        out = copy.deepcopy(self.records[f"{route}:{key}"])
        out["replayed"] = True
        return out

    def _record(self, route: str, key: str | None, response: dict[str, Any]) -> None:
        if key is not None:
            self.records[f"{route}:{key}"] = copy.deepcopy(response)

    def check_expected(self, route: str, body: dict[str, Any]) -> None:
        """Raises `PolicyMismatchError` when `body["expect"]` names other weights than these. A
        train_step whose idempotency key is recorded passes: it replays and changes nothing."""
        expected = body.get("expect")
        if expected is None:
            return
        if route == "/v1/train_step" and f"train_step:{body['idempotency_key']}" in self.records:
            return
        if route == "/v1/reference_kl" and f"reference_kl:{body.get('idempotency_key')}" in self.records:
            return
        if expected["run_id"] != self.run_id or expected["policy_version"] != self.policy_version:
            raise PolicyMismatchError(expected, self.run_id, self.policy_version)

    def _applied(self) -> None:
        """Bookkeeping of a step that changed the weights."""
        self.policy_version += 1
        self.loaded_from = None

    def lineage(self) -> dict[str, Any]:
        """What the weights are: policy version, records, run id, last key, base model (the part of
        `state.json` that `/v1/load` restores)."""
        return {
            "policy_version": self.policy_version,
            "records": self.records,
            "run_id": self.run_id,
            "last_idempotency_key": self.last_idempotency_key,
            "base_model": self.base_model,
        }

    def set_lineage(self, lineage: dict[str, Any], loaded_from: Path | None) -> None:
        """Installs `lineage` (checked by `checkpoint.parse_lineage`)."""
        self.policy_version = lineage["policy_version"]
        self.records = lineage["records"]
        self.run_id = lineage["run_id"]
        self.last_idempotency_key = lineage["last_idempotency_key"]
        self.base_model = lineage["base_model"]
        self.loaded_from = loaded_from

    # ---- routes ----------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """`GET /v1/info`."""
        return {
            "model": self.opts.model_name,
            "tokenizer": self.tok.name,
            "device": self.opts.device,
            "dtype": self.opts.dtype,
            "policy_version": self.policy_version,
            "run_id": self.run_id,
            "max_context": self.max_context,
            "vocab_size": self.vocab_size,
            "parameters": count_parameters(self.model),
            "base_model": self.base_model,
            "last_idempotency_key": self.last_idempotency_key,
            "checkpoint_dir": str(self.root.root),
            "loaded_from": None if self.loaded_from is None else str(self.loaded_from),
            # the overlapped mode (handover.py) is not served yet: a run asking for it is refused
            "rollout_modes": ["sync"],
        }

    def prompts_of(self, body: dict[str, Any]) -> tuple[list[list[int]], str]:
        """Tokenized prompts of a generate request and the name of the field they came from."""
        given = [k for k in ("prompts", "messages", "prompt_token_ids") if k in body]
        if len(given) != 1:
            raise RequestValidationError(
                f"give exactly one of prompts, messages, prompt_token_ids (got {', '.join(given) or 'none'})",
                given[1] if len(given) > 1 else "prompts",
            )
        field = given[0]
        if field == "prompts":
            ids = [self.tok.encode_prompt(p) for p in body["prompts"]]
        elif field == "messages":
            ids = [self.tok.encode_chat(m) for m in body["messages"]]
        else:
            ids = [list(p) for p in body["prompt_token_ids"]]
            for i, p in enumerate(ids):
                self._check_ids(p, f"prompt_token_ids.{i}")
        for i, p in enumerate(ids):
            if len(p) >= self.max_context:
                raise ContextTooLongError(f"{field}.{i}", len(p), self.max_context)
        return ids, field

    @staticmethod
    def _sampling(body: dict[str, Any]) -> SamplingParams:
        return SamplingParams(
            max_tokens=int(body["max_tokens"]),
            temperature=float(body["temperature"]),
            top_p=float(body["top_p"]),
            top_k=int(body["top_k"]),
            stop=list(body["stop"]),
            seed=body.get("seed"),
            budget_tokens=(body.get("reasoning") or {}).get("budget_tokens"),
        )

    def _response(self, prompts: list[list[int]], n: int, outs: list[Any]) -> dict[str, Any]:
        results = []
        for i, p in enumerate(prompts):
            samples = [
                {
                    "text": o.text,
                    "token_ids": o.token_ids,
                    "logprobs": o.logprobs,
                    "finish_reason": o.finish_reason,
                    "thinking_tokens": o.thinking_tokens,
                    "answer_tokens": o.answer_tokens,
                }
                for o in outs[i * n : (i + 1) * n]
            ]
            results.append({"prompt_token_ids": p, "samples": samples})
        return {"policy_version": self.policy_version, "results": results}

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/generate`: `n` samples per prompt; completions are cut at the context end."""
        prompts, _ = self.prompts_of(body)
        n = int(body["n"])
        rows = [p for p in prompts for _ in range(n)]
        return self._response(prompts, n, self.sampler.generate(rows, self._sampling(body)))

    def generate_many(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any] | WorkerError]:
        """Several generate requests with equal `coalesce_key`s decoded as one batch.

        Each answer is exactly what `generate` would return for the request alone: every row keeps the
        random stream of its own request's seed and row (`Sampler.generate`'s `streams`). A request
        whose prompts are invalid gets its own error (returned, not raised) and the others still run.
        """
        out: list[dict[str, Any] | WorkerError | None] = [None] * len(bodies)
        ready: list[tuple[int, list[list[int]], int]] = []
        for i, body in enumerate(bodies):
            try:
                ready.append((i, self.prompts_of(body)[0], int(body["n"])))
            except WorkerError as e:
                out[i] = e
        rows: list[list[int]] = []
        streams: list[tuple[int, int]] = []
        for i, prompts, n in ready:
            seed = bodies[i].get("seed")
            seed = int(torch.randint(0, 2**62, (1,))) if seed is None else int(seed)
            mine = [p for p in prompts for _ in range(n)]
            rows += mine
            streams += [(seed, r) for r in range(len(mine))]
        samples = (
            self.sampler.generate(rows, self._sampling(bodies[ready[0][0]]), streams=streams) if rows else []
        )
        k = 0
        for i, prompts, n in ready:
            out[i] = self._response(prompts, n, samples[k : k + len(prompts) * n])
            k += len(prompts) * n
        return out  # type: ignore[return-value]

    def _train_seqs(self, samples: list[dict[str, Any]]) -> list[TrainSeq]:
        """The samples of a train_step or reference_kl body, checked: token ids in the vocabulary,
        log-probs and mask as long as the completion, prompt + completion within the context."""
        seqs = []
        for i, s in enumerate(samples):
            f = f"samples.{i}"
            self._check_ids(s["prompt_token_ids"], f"{f}.prompt_token_ids")
            self._check_ids(s["completion_token_ids"], f"{f}.completion_token_ids")
            n = len(s["completion_token_ids"])
            for key in ("old_logprobs", "completion_mask"):
                if s.get(key) is not None and len(s[key]) != n:
                    raise RequestValidationError(
                        f"{f}.{key}: has {len(s[key])} entries for {n} completion tokens", f"{f}.{key}"
                    )
            total = len(s["prompt_token_ids"]) + n
            if total > self.max_context:
                raise ContextTooLongError(f, total, self.max_context, "prompt + completion")
            old = s.get("old_logprobs")
            seqs.append(
                TrainSeq(
                    list(s["prompt_token_ids"]),
                    list(s["completion_token_ids"]),
                    None if old is None else list(old),
                    float(s.get("advantage", 0.0)),
                    s.get("completion_mask"),
                )
            )
        return seqs

    def train_step(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/train_step`: one GRPO update, or the recorded answer for a known key."""
        key = body["idempotency_key"]
        replay = self._replay("train_step", key)
        if replay is not None:
            return replay
        LossConfig.from_hyper(body["hyper"])  # inconsistent options: 400 before anything runs
        seqs = self._train_seqs(body["samples"])
        metrics = self.trainer.train_step(seqs, body["hyper"])
        self._applied()
        self.last_idempotency_key = key
        out = {"policy_version": self.policy_version, "metrics": metrics, "replayed": False}
        self._record("train_step", key, out)
        return out

    def reference_kl(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/reference_kl`: Σ_t KL_t(π_θ ‖ π_ref) per sample, for a KL penalty in the reward;
        with an idempotency key, recorded (a repeat replays it, whatever the weights are by then)."""
        key = body.get("idempotency_key")
        replay = self._replay("reference_kl", key)
        if replay is not None:
            return replay
        seqs = self._train_seqs(body["samples"])
        kl = self.trainer.reference_kl(
            seqs, body["kl_estimator"], float(body["kl_clamp"]), int(body["micro_batch_size"])
        )
        out = {"policy_version": self.policy_version, "kl": kl, "replayed": False}
        self._record("reference_kl", key, out)
        return out

    def sft_step(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/sft_step`: supervised cross-entropy on the completions."""
        key = body.get("idempotency_key")
        replay = self._replay("sft_step", key)
        if replay is not None:
            return replay
        seqs = []
        for i, ex in enumerate(body["examples"]):
            chat = ex.get("messages") is not None
            prompt = (
                self.tok.encode_chat(ex["messages"])
                if chat
                else self.tok.encode_prompt(ex.get("prompt") or "")
            )
            completion = self.tok.encode_text(ex["completion"]) + [self.tok.completion_end_id(chat)]
            total = len(prompt) + len(completion)
            if total > self.max_context:
                raise ContextTooLongError(f"examples.{i}", total, self.max_context, "prompt + completion")
            seqs.append(TrainSeq(prompt, completion))
        res = self.trainer.sft_step(seqs, float(body["learning_rate"]), int(body["micro_batch_size"]))
        self._applied()
        out = {"policy_version": self.policy_version, **res, "replayed": False}
        self._record("sft_step", key, out)
        return out

    def tokenize(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/tokenize`: token counts as prompts (with the model's special tokens)."""
        ids = [self.tok.encode_prompt(t) for t in body["texts"]]
        out: dict[str, Any] = {"counts": [len(x) for x in ids]}
        if body["return_ids"]:
            out["token_ids"] = ids
        return out

    def _checkpoint_response(self, path: Path) -> dict[str, Any]:
        return {
            "path": str(path),
            "policy_version": self.policy_version,
            "run_id": self.run_id,
            "last_idempotency_key": self.last_idempotency_key,
        }

    def save(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/checkpoint`: writes the directory `path` (under the checkpoint root) atomically."""
        path = self.root.resolve(body["path"])
        checkpoint.save(self, path)
        return self._checkpoint_response(path)

    def load(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/load`: the checkpoint's weights, optimizer, records and run (under the root), or
        nothing when any part fails; `run_id`, when given, claims them."""
        self.load_path(self.root.resolve(body["path"]))
        if body.get("run_id") is not None:
            self.run_id = body["run_id"]
        return self._checkpoint_response(self.loaded_from or self.root.root)

    def load_path(self, path: Path) -> None:
        """Loads a checkpoint directory already confined to the root (also `--resume` at start)."""
        checkpoint.commit(self, checkpoint.read(self, path))

    def reset(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/reset`: the base model's weights again (as at start), no optimizer state,
        reference policy or records, policy version 0, the global RNGs re-seeded; claimed for
        `run_id`.

        Raises:
            RequestValidationError: the worker was built without a model source.
        """
        if self.opts.model_source is None:
            raise RequestValidationError("this worker was started without a model source to reset to")
        reset_weights(self.model, self.opts.model_source, self.opts.seed)
        self.trainer.reset()
        self.records = {}
        self.policy_version = 0
        self.run_id = body.get("run_id")
        self.last_idempotency_key = None
        self.base_model = self.opts.base_model or self.opts.model_name
        self.loaded_from = None
        seed_all(self.opts.seed)
        return {"policy_version": 0, "run_id": self.run_id}

    def rng_state(self) -> dict[str, Any]:
        """Torch RNG states (CPU and, when present, CUDA)."""
        state: dict[str, Any] = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state
