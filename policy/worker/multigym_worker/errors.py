"""Typed errors of the policy worker. Each maps to one HTTP status and a stable `type` string, and is
sent as `{"error": {"type", "message", "field"}}` (`ErrorResponse` in policy/protocol.ts)."""

from __future__ import annotations


class WorkerError(Exception):
    """Base class: `status` is the HTTP status, `type` the stable error type, `field` the dotted path
    of the offending request field (or None)."""

    status = 500
    type = "internal"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict:
        """The JSON error body."""
        err: dict = {"type": self.type, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}


class RequestValidationError(WorkerError):
    """Malformed JSON, a wrong shape or an inconsistent request (400 `validation`)."""

    status = 400
    type = "validation"


class ContextTooLongError(WorkerError):
    """A prompt (or prompt + completion) longer than the model's context (400 `context_too_long`)."""

    status = 400
    type = "context_too_long"

    def __init__(self, field: str, tokens: int, max_context: int, what: str = "prompt") -> None:
        super().__init__(
            f"{field}: the {what} has {tokens} tokens; the model's context is {max_context} tokens", field
        )
        self.tokens = tokens
        self.max_context = max_context

    def body(self) -> dict:
        out = super().body()
        out["error"]["tokens"] = self.tokens
        out["error"]["max_context"] = self.max_context
        return out


class TokenOutOfRangeError(WorkerError):
    """A token id ≥ the model's vocabulary size (400 `token_out_of_range`)."""

    status = 400
    type = "token_out_of_range"


class CudaOomError(WorkerError):
    """CUDA ran out of memory; the request was dropped and the worker keeps serving (503 `cuda_oom`)."""

    status = 503
    type = "cuda_oom"


class CheckpointError(WorkerError):
    """A checkpoint directory cannot be written or read (400 `checkpoint`)."""

    status = 400
    type = "checkpoint"


class PolicyMismatchError(WorkerError):
    """The request's `expect` names other weights than the worker holds (409 `policy_mismatch`);
    nothing ran. The body adds `worker: {run_id, policy_version}` (what the worker holds)."""

    status = 409
    type = "policy_mismatch"

    def __init__(self, expected: dict, run_id: str | None, policy_version: int) -> None:
        super().__init__(
            f"the request expects run {expected['run_id']!r} at policy version {expected['policy_version']}; "
            f"this worker holds run {run_id!r} at policy version {policy_version}",
            "expect",
        )
        self.worker = {"run_id": run_id, "policy_version": policy_version}

    def body(self) -> dict:
        out = super().body()
        out["error"]["worker"] = self.worker
        return out


class PathOutsideRootError(WorkerError):
    """A checkpoint path that resolves outside the worker's checkpoint root, through `..`, an absolute
    path or a symlink (400 `path_outside_root`)."""

    status = 400
    type = "path_outside_root"


class UnauthorizedError(WorkerError):
    """The worker requires a bearer token and the request has none or a wrong one (401
    `unauthorized`)."""

    status = 401
    type = "unauthorized"


class UnsupportedMediaTypeError(WorkerError):
    """A request body that is not declared `Content-Type: application/json` (415
    `unsupported_media_type`)."""

    status = 415
    type = "unsupported_media_type"


class NonFiniteError(WorkerError):
    """A training step whose loss, gradient norm or statistics are not finite (422 `non_finite`).
    Nothing changed: no weight, no optimizer state, no policy version, no idempotency record."""

    status = 422
    type = "non_finite"


class NonFiniteOutputError(WorkerError):
    """A response that would carry NaN or ±Infinity (invalid JSON); the model's state is broken
    (500 `non_finite_output`)."""

    status = 500
    type = "non_finite_output"
