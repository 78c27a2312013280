"""One decode step over a static KV cache, optionally captured in a CUDA graph, for a batch that
shrinks as its rows finish.

Decoding a small model is launch-bound: a step is a few hundred small kernels whose launch costs
more than their arithmetic. All inputs of the step live in fixed buffers (token, cache slot,
left-padding offsets), so the whole forward pass can be captured once as a CUDA graph and replayed
each step with one launch (the technique of gpt-fast and vLLM). A graph is kept per (batch, cache
length) and reused by later requests of the same shape.

Compaction: when most rows of a batch have finished, `compact` moves the rows still decoding (and
as many finished ones as fill the bucket) to the front of the cache, and later steps run on the
first `n` rows only, `n` one of the bucket sizes `buckets(b)` (b and the powers of two below it).
Every bucket runs on views of the same buffers and has its own graph, so a ragged batch stops paying
for its finished rows while a request's shapes, and so its graphs, stay few.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .model import CausalLM, KVCache


def buckets(b: int) -> list[int]:
    """Batch sizes a decoder of `b` rows runs at, largest first: b, then the powers of two below b."""
    out = [b]
    p = 1
    while p < b:
        p *= 2
    p //= 2
    while p >= 1 and p < b:
        out.append(p)
        p //= 2
    return out


def bucket_for(b: int, n: int) -> int:
    """The smallest bucket of a `b`-row decoder that holds `n` rows (1 ≤ n ≤ b)."""
    return min(x for x in buckets(b) if x >= n)


class _CacheView:
    """The first `n` rows of a `KVCache` (views of the same storage, so fixed addresses)."""

    def __init__(self, cache: KVCache, n: int) -> None:
        self.k = [x[:n] for x in cache.k]
        self.v = [x[:n] for x in cache.v]
        self.length = cache.length


class Decoder:
    """Static buffers, a KV cache and (on CUDA) captured graphs for batches of `b` rows and cache
    length `s`; `n` is the number of rows the next step runs (a bucket size, b after `begin`).

    The capture runs the step at cache slot s − 1, which real steps never attend to (the last
    executed step writes slot s − 2 at most), so it leaves no trace in the cache.
    """

    def __init__(self, model: CausalLM, b: int, s: int, use_graph: bool) -> None:
        p = next(model.parameters())
        self.model = model
        self.b, self.s, self.n = b, s, b
        self.cache = KVCache(model.config, b, s, p.device, p.dtype)
        self.tok = torch.zeros(b, dtype=torch.long, device=p.device)
        self.cur = torch.zeros(1, dtype=torch.long, device=p.device)
        self.pad = torch.zeros(b, dtype=torch.long, device=p.device)
        self.key_valid = torch.zeros(b, s, dtype=torch.bool, device=p.device)
        self.slots = torch.arange(s, device=p.device)
        self._views = {n: _CacheView(self.cache, n) for n in buckets(b)}
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, Tensor]] = {}
        if use_graph:
            for n in buckets(b):
                self._capture(n)

    def _run(self, n: int) -> Tensor:
        positions = (self.cur - self.pad[:n])[:, None]
        mask = (self.key_valid[:n] & (self.slots[None, :] <= self.cur))[:, None, None, :]
        hidden = self.model(self.tok[:n, None], positions, mask, self._views[n], self.cur)  # type: ignore[arg-type]
        return self.model.logits(hidden[:, -1]).float()

    def _capture(self, n: int) -> None:
        self.cur.fill_(self.s - 1)
        self.key_valid.fill_(True)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._run(n)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self._run(n)
        self.graphs[n] = (graph, out)

    def begin(self, pad: Tensor, key_valid: Tensor) -> None:
        """Sets the left-padding offsets [B] and valid-key mask [B, S] of a new batch of b rows."""
        self.n = self.b
        self.pad.copy_(pad)
        self.key_valid.copy_(key_valid)

    def compact(self, keep: Tensor) -> None:
        """Keeps rows `keep` ([m] long indices into the current n rows, m a bucket size) as rows
        0..m−1, in that order: their cache rows, padding offsets and key masks move to the front.

        Raises:
            ValueError: m is not a bucket size of this decoder or exceeds the current n.
        """
        m = int(keep.shape[0])
        if m not in self._views or m > self.n:
            raise ValueError(f"keep: {m} rows is not a bucket size ≤ {self.n} (buckets {buckets(self.b)})")
        n = self.n
        for layer in range(len(self.cache.k)):
            for buf in (self.cache.k[layer], self.cache.v[layer]):
                buf[:m] = buf[:n].index_select(0, keep)
        self.pad[:m] = self.pad[:n].index_select(0, keep)
        self.key_valid[:m] = self.key_valid[:n].index_select(0, keep)
        self.n = m

    def step(self, tok: Tensor, cur: int) -> Tensor:
        """Feeds `tok` [n] at cache slot `cur`; returns next-token logits [n, V] fp32 (a buffer that
        the next step overwrites)."""
        n = self.n
        self.tok[:n].copy_(tok)
        self.cur.fill_(cur)
        g = self.graphs.get(n)
        if g is not None:
            g[0].replay()
            return g[1]
        return self._run(n)
