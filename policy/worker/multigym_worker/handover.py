"""Weight hand-over from a trainer rank to sampler ranks, for sampling overlapped with training
(one-step off-policy: AReaL, Fu et al. 2025; prime-rl; verl's `one_step_off_policy` recipe).

In the overlapped mode one rank trains step N while another samples the rollouts of step N+1 with the
weights of step N − 1 … N; after each step the trainer broadcasts its new weights and their policy
version, and the sampler installs them between two generate calls. The loss already takes the
sampling policy's log-probs (`old_logprobs`), so the lag is corrected by the PPO/GRPO importance
ratio; each rollout carries the version that sampled it (`/v1/generate`'s `policy_version`, stored in
`rollouts.policy_version`), and its staleness is the trained version minus that.

`hand_over` moves the weights in a few large messages: the state dict's tensors are packed into one
flat buffer per dtype (at most `bucket_bytes` each), broadcast from `src`, and unpacked in place. The
version travels first, as an int64 tensor, so a receiver knows what it now holds. Collective over
`group`: the trainer and every sampler call it with the same model architecture. NCCL carries it over
NVLink on GPUs; gloo on CPU (tests).

What exists: this hand-over and its test (`tests/test_handover.py`), the run config field
`policy.rollout_mode` and the worker's `/v1/info` `rollout_modes` (the run refuses a mode the
worker does not list). Not yet: the worker mode that runs the trainer and the sampler on different
ranks concurrently (see docs/distributed-worker.md, "Sampling overlapped with training").
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import Tensor, nn

#: Largest flat buffer one broadcast carries (256 MiB: few messages, bounded extra memory).
BUCKET_BYTES = 256 << 20


def _buckets(tensors: list[Tensor], bucket_bytes: int) -> Iterator[list[Tensor]]:
    """Consecutive runs of same-dtype, same-device tensors of at most `bucket_bytes` (a larger tensor
    alone)."""
    run: list[Tensor] = []
    size = 0
    for t in tensors:
        nbytes = t.numel() * t.element_size()
        if run and (t.dtype != run[0].dtype or t.device != run[0].device or size + nbytes > bucket_bytes):
            yield run
            run, size = [], 0
        run.append(t)
        size += nbytes
    if run:
        yield run


def weight_tensors(model: nn.Module) -> list[Tensor]:
    """The tensors a hand-over moves: every parameter and persistent buffer once (a tied head once),
    in `state_dict` order."""
    seen: set[int] = set()
    out = []
    for t in model.state_dict().values():
        if id(t) not in seen and t.data_ptr() not in seen:
            seen.add(id(t))
            seen.add(t.data_ptr())
            out.append(t)
    return out


def hand_over(
    model: nn.Module,
    version: int,
    src: int,
    group: dist.ProcessGroup | None = None,
    bucket_bytes: int = BUCKET_BYTES,
) -> int:
    """Broadcasts `model`'s weights and `version` from global rank `src` to every rank of `group`;
    the receivers' weights are overwritten in place. Collective.

    Args:
        model: the same architecture on every rank (the trainer's weights on `src`).
        version: the policy version of the weights on `src` (ignored elsewhere).
        src: global rank that sends.
    Returns:
        The version every rank now holds (`src`'s).
    """
    device = next(model.parameters()).device
    v = torch.tensor([version], dtype=torch.int64, device=device)
    dist.broadcast(v, src=src, group=group)
    with torch.no_grad():
        for run in _buckets(weight_tensors(model), bucket_bytes):
            flat = torch.cat([t.reshape(-1) for t in run])
            dist.broadcast(flat, src=src, group=group)
            offset = 0
            for t in run:
                n = t.numel()
                t.copy_(flat[offset : offset + n].view_as(t))
                offset += n
    return int(v.item())
