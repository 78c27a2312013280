"""One decode step over a static KV cache, optionally captured in a CUDA graph.

Decoding a small model is launch-bound: a step is a few hundred small kernels whose launch costs
more than their arithmetic. All inputs of the step live in fixed buffers (token, cache slot,
left-padding offsets), so the whole forward pass can be captured once as a CUDA graph and replayed
each step with one launch (the technique of gpt-fast and vLLM). A graph is kept per (batch, cache
length) and reused by later requests of the same shape.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .model import CausalLM, KVCache


class Decoder:
    """Static buffers, a KV cache and (on CUDA) a captured graph for batches of `b` rows and cache
    length `s`.

    The capture runs the step at cache slot s − 1, which real steps never attend to (the last
    executed step writes slot s − 2 at most), so it leaves no trace in the cache.
    """

    def __init__(self, model: CausalLM, b: int, s: int, use_graph: bool) -> None:
        p = next(model.parameters())
        self.model = model
        self.b, self.s = b, s
        self.cache = KVCache(model.config, b, s, p.device, p.dtype)
        self.tok = torch.zeros(b, dtype=torch.long, device=p.device)
        self.cur = torch.zeros(1, dtype=torch.long, device=p.device)
        self.pad = torch.zeros(b, dtype=torch.long, device=p.device)
        self.key_valid = torch.zeros(b, s, dtype=torch.bool, device=p.device)
        self.slots = torch.arange(s, device=p.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.out: Tensor | None = None
        if use_graph:
            self._capture()

    def _run(self) -> Tensor:
        positions = (self.cur - self.pad)[:, None]
        mask = (self.key_valid & (self.slots[None, :] <= self.cur))[:, None, None, :]
        hidden = self.model(self.tok[:, None], positions, mask, self.cache, self.cur)
        return self.model.logits(hidden[:, -1]).float()

    def _capture(self) -> None:
        self.cur.fill_(self.s - 1)
        self.key_valid.fill_(True)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._run()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.out = self._run()
        self.graph = graph

    def begin(self, pad: Tensor, key_valid: Tensor) -> None:
        """Sets the left-padding offsets [B] and valid-key mask [B, S] of a new batch."""
        self.pad.copy_(pad)
        self.key_valid.copy_(key_valid)

    def step(self, tok: Tensor, cur: int) -> Tensor:
        """Feeds `tok` [B] at cache slot `cur`; returns next-token logits [B, V] fp32 (a buffer that
        the next step overwrites)."""
        self.tok.copy_(tok)
        self.cur.fill_(cur)
        if self.graph is not None:
            self.graph.replay()
            assert self.out is not None
            return self.out
        return self._run()
