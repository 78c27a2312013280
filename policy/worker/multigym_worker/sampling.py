"""Batched sampling with a static KV cache: temperature, top-k, top-p, stop strings, seeds and a
reasoning budget.

Prompts of different lengths are left-padded into one batch; each row keeps its own rotary positions
(0 at its first real token), so a row samples exactly what it would sample alone. The returned
log-probabilities are those of the *unmodified* policy, log softmax(logits) — not of the
temperature/top-p-warped distribution — which is what the GRPO ratio π_θ/π_old needs (the trainer
computes π_θ the same way).

Reasoning budget: inside a `<think>` block, once a sample has written `budget_tokens` tokens of
thought, its next token is forced to `</think>` and it continues to its answer. `thinking_tokens`
counts the block including its `<think>` and `</think>` markers (or from the start, when the prompt
opened the block); `answer_tokens` counts the rest, so the two add up to the sample's length.

Random streams are per row: row i of a request seeded s draws its token at step t from the uniform
u[i, t] of its own generator, seeded `row_seed(s, i)` (inverse-CDF sampling, `draw`). So a row's
sample does not depend on which other rows share its batch, how a request is cut into chunks, or how
many data-parallel ranks split the rows (`distributed.DistributedSampler` passes each rank's first
row index), only on (seed, row index, model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .decode import Decoder, bucket_for
from .model import CausalLM, KVCache
from .tokenizer import PolicyTokenizer

FINISH = ("", "eos", "length", "stop")


@dataclass
class SamplingParams:
    """One request's sampling settings (see `GenerateRequest` in policy/protocol.ts)."""

    max_tokens: int = 128
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    stop: Sequence[str] = field(default_factory=list)
    seed: int | None = None
    budget_tokens: int | None = None


@dataclass
class SampleOut:
    """One finished sample."""

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: str
    thinking_tokens: int
    answer_tokens: int
    text: str


#: Candidates kept by `top_p_filter`'s top-k prefilter before it falls back to a full sort.
TOP_P_PREFILTER = 1024


def warp_logits(logits: Tensor, temperature: float, top_k: int, top_p: float) -> Tensor:
    """Temperature, then top-k, then nucleus filtering (Holtzman et al. 2020, eq. 3); removed entries
    become −inf. `logits` [B, V] fp32. The nucleus is found without sorting the vocabulary when it
    lies within the `TOP_P_PREFILTER` most likely tokens (`top_p_filter`)."""
    logits = logits / temperature
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p, top_k)
    return logits


def top_p_sorted(logits: Tensor, top_p: float) -> Tensor:
    """Nucleus filtering by a full sort of each row: keeps the most likely tokens whose mass strictly
    above them is < `top_p` (the first always). `logits` [B, V]; removed entries become −inf."""
    sorted_logits, idx = torch.sort(logits, dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)
    before = probs.cumsum(-1) - probs  # mass strictly above each token
    remove = before >= top_p
    remove[:, 0] = False
    sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
    return torch.empty_like(logits).scatter_(-1, idx, sorted_logits)


def top_p_filter(logits: Tensor, top_p: float, top_k: int = 0) -> Tensor:
    """The same filter as `top_p_sorted`, from the k = min(`TOP_P_PREFILTER`, top_k) most likely
    tokens (`torch.topk`) instead of a sort of all V.

    Exact: when the k candidates hold a mass ≥ `top_p`, every token below them has a mass above it
    ≥ `top_p` and is removed by `top_p_sorted` too; rows whose k candidates hold less fall back to
    `top_p_sorted` (one host sync per call to find them). Probabilities are softmax(logits) over the
    whole vocabulary, as in `top_p_sorted`, so the two agree up to fp32 rounding of the mass at the
    boundary. `logits` [B, V] (−inf allowed); returns [B, V] with removed entries −inf.
    """
    v = logits.shape[-1]
    k = min(TOP_P_PREFILTER, top_k if top_k > 0 else v, v)
    if k >= v:
        return top_p_sorted(logits, top_p)
    vals, idx = torch.topk(logits, k, dim=-1)  # descending
    m = vals[:, :1]
    denom = torch.exp(logits - m).sum(-1, keepdim=True)
    probs = torch.exp(vals - m) / denom
    cum = probs.cumsum(-1)
    remove = (cum - probs) >= top_p
    remove[:, 0] = False
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, idx, ~remove)
    out = logits.masked_fill(~keep, float("-inf"))
    short = cum[:, -1] < top_p
    if bool(short.any()):
        rows = short.nonzero().squeeze(-1)
        out[rows] = top_p_sorted(logits[rows], top_p)
    return out


_MASK64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """SplitMix64's output function (Stafford's "Mix13", as in Steele, Lea & Flood 2014, "Fast
    splittable pseudorandom number generators", and Java's SplittableRandom): a bijection of 64-bit
    integers in which every input bit affects every output bit."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def row_seed(seed: int, row: int) -> int:
    """The seed of row `row`'s random stream in a request seeded `seed` (63 bits, for
    `torch.Generator.manual_seed`); distinct rows and seeds give unrelated streams."""
    return _mix64((_mix64(seed & _MASK64) + row) & _MASK64) >> 1


def row_uniforms(seed: int, first_row: int, rows: int, steps: int) -> Tensor:
    """[rows, steps] float64 uniforms in [0, 1): row r's are the first `steps` draws of the
    generator seeded `row_seed(seed, first_row + r)` (CPU; torch's Mersenne Twister)."""
    return stream_uniforms([(seed, first_row + r) for r in range(rows)], steps)


def stream_uniforms(streams: Sequence[tuple[int, int]], steps: int) -> Tensor:
    """[len(streams), steps] uniforms: row r draws from the stream of row `streams[r][1]` of a request
    seeded `streams[r][0]` (so rows of several requests batched together keep their own streams)."""
    out = torch.empty((len(streams), steps), dtype=torch.float64)
    for r, (seed, row) in enumerate(streams):
        g = torch.Generator().manual_seed(row_seed(seed, row))
        out[r] = torch.rand(steps, generator=g, dtype=torch.float64)
    return out


def draw(probs: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF sampling: for each row the first token whose cumulative probability exceeds
    u · Σ probs, so token i is drawn with probability probs[i] / Σ probs and a token of probability
    0 never. `probs` [B, V] ≥ 0 (unnormalised is fine), `u` [B] in [0, 1); returns ids [B] (long).
    The cumulative sum runs in float64, so tokens far below fp32's resolution keep their chance."""
    cdf = probs.double().cumsum(-1)
    target = (u * cdf[:, -1])[:, None]
    return torch.searchsorted(cdf, target, right=True).squeeze(-1).clamp_(max=probs.shape[-1] - 1)


def prompt_opens_think(ids: Sequence[int], open_id: int | None, close_id: int | None) -> bool:
    """True when the prompt ends inside a `<think>` block (its last `<think>` is not closed)."""
    if open_id is None:
        return False
    last_open = max((i for i, t in enumerate(ids) if t == open_id), default=-1)
    last_close = max((i for i, t in enumerate(ids) if t == close_id), default=-1)
    return last_open > last_close


class Sampler:
    """Generates completions for token-id prompts with a `CausalLM`.

    Args:
        max_batch: most rows decoded together; larger requests run in chunks.
        cuda_graphs: capture decode steps in CUDA graphs (CUDA only; requests of at least
            `GRAPH_MIN_TOKENS` new tokens).
        compaction: once the rows still decoding fit a smaller bucket (`decode.buckets`), drop the
            finished ones from the batch (checked every 8th step, or every step with stop strings),
            so ragged lengths stop paying for finished rows. Rows sample the same tokens either way
            (up to the rounding of batch-size-dependent kernels, as with coalesced requests).
    """

    GRAPH_MIN_TOKENS = 16
    GRAPH_SLOT_ROUND = 64

    def __init__(
        self,
        model: CausalLM,
        tok: PolicyTokenizer,
        max_batch: int = 256,
        cuda_graphs: bool = True,
        compaction: bool = True,
    ) -> None:
        self.model = model
        self.compaction = compaction
        self.tok = tok
        self.max_batch = max_batch
        self.cuda_graphs = cuda_graphs
        self._decoder: Decoder | None = None

    def release(self) -> None:
        """Frees the cached CUDA-graph decoder and its KV cache (e.g. after running out of memory)."""
        self._decoder = None

    def decoder(self, b: int, s: int, device: torch.device, max_new: int) -> Decoder:
        """A decoder for `b` rows and at least `s` cache slots; a graph-captured one is reused
        while requests keep the same shape."""
        use_graph = self.cuda_graphs and device.type == "cuda" and max_new >= self.GRAPH_MIN_TOKENS
        if not use_graph:
            return Decoder(self.model, b, s, use_graph=False)
        s = -(-s // self.GRAPH_SLOT_ROUND) * self.GRAPH_SLOT_ROUND
        d = self._decoder
        if d is None or d.b != b or d.s != s:
            self._decoder = None  # free the old graph and cache first
            d = self._decoder = Decoder(self.model, b, s, use_graph=True)
        return d

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        first_row: int = 0,
        streams: Sequence[tuple[int, int]] | None = None,
    ) -> list[SampleOut]:
        """One sample per prompt row (repeat a prompt to get several). Prompts must fit the context.

        Row i draws from the random stream of row `first_row + i` of the request (see the module
        docstring); without a seed, a fresh one is taken from torch's global CPU generator.
        `streams` (one `(seed, row)` per prompt row) overrides both: several requests decoded as one
        batch (`Engine.generate_many`) then sample exactly what each would alone.
        """
        device = next(self.model.parameters()).device
        if streams is None:
            seed = int(torch.randint(0, 2**62, (1,))) if params.seed is None else int(params.seed)
            streams = [(seed, first_row + i) for i in range(len(prompts))]
        out: list[SampleOut] = []
        for i in range(0, len(prompts), self.max_batch):
            out += self._chunk(
                prompts[i : i + self.max_batch], params, device, streams[i : i + self.max_batch]
            )
        return out

    def _chunk(
        self,
        prompts: Sequence[Sequence[int]],
        p: SamplingParams,
        device: torch.device,
        streams: Sequence[tuple[int, int]],
    ) -> list[SampleOut]:
        model, tok = self.model, self.tok
        max_ctx = model.config.max_position_embeddings
        b = len(prompts)
        lens = torch.tensor([len(x) for x in prompts])
        tp = int(lens.max())
        limits = torch.clamp(max_ctx - lens, max=p.max_tokens)  # per-row new-token limit
        max_new = int(limits.max())
        dec = self.decoder(b, tp + max_new, device, max_new)
        s = dec.s
        pad = (tp - lens).to(device)
        limits = limits.to(device)
        slots_all = torch.arange(s, device=device)
        key_valid = slots_all[None, :] >= pad[:, None]  # [B, S]
        dec.begin(pad, key_valid)
        logits = self._prefill(prompts, dec, tp)

        eos = torch.tensor(tok.eos_ids, device=device)
        open_id, close_id = tok.think_open_id, tok.think_close_id
        # the budget needs the think state inside the loop; without one it is counted afterwards
        track_think = open_id is not None and close_id is not None and p.budget_tokens is not None
        in_think = torch.tensor([prompt_opens_think(x, open_id, close_id) for x in prompts], device=device)
        think_count = torch.zeros(b, dtype=torch.long, device=device)
        thinking = torch.zeros(b, dtype=torch.long, device=device)
        budget = p.budget_tokens

        out_tok = torch.full((b, max_new), tok.pad_id, dtype=torch.long, device=device)
        out_lp = torch.zeros((b, max_new), dtype=torch.float32, device=device)
        n_new = torch.zeros(b, dtype=torch.long, device=device)
        reason = torch.zeros(b, dtype=torch.long, device=device)  # index into FINISH
        active = torch.ones(b, dtype=torch.bool, device=device)
        stops = [x for x in p.stop if x]
        stop_window = max((len(x.encode()) for x in stops), default=0) + 2
        host_tokens: list[list[int]] = [[] for _ in range(b)]
        uniforms = stream_uniforms(streams, max_new).to(device) if p.temperature != 0 else None
        # The tensors above are per batch position; `rows` maps positions to prompt rows, and
        # compaction (see decode.py) reorders and shrinks them, storing every row's results in `done`.
        rows = torch.arange(b, device=device)
        done: list[Tensor] | None = None

        for step in range(max_new):
            with torch.profiler.record_function("sampler.sample"):
                lse = torch.logsumexp(logits, dim=-1)
                if uniforms is None:
                    nxt = logits.argmax(-1)
                else:
                    if p.temperature == 1 and p.top_k == 0 and p.top_p >= 1:
                        probs = torch.exp(logits - lse[:, None])
                    else:
                        probs = warp_logits(logits, p.temperature, p.top_k, p.top_p).softmax(-1)
                    nxt = draw(probs, uniforms[:, step])
            with torch.profiler.record_function("sampler.bookkeeping"):
                if track_think:
                    if budget is not None:
                        over = in_think & (think_count >= budget)
                        nxt = torch.where(over, torch.full_like(nxt, close_id), nxt)
                    opened = (nxt == open_id) & ~in_think
                    closed = (nxt == close_id) & in_think
                    thinking += (in_think | opened) & active
                    think_count += in_think & ~closed & active
                    in_think = (in_think | opened) & ~closed
                nxt = torch.where(active, nxt, torch.full_like(nxt, tok.pad_id))
                out_tok[:, step] = nxt
                # ≤ 0 in exact arithmetic; the clamp keeps a rounding error from breaking the protocol
                out_lp[:, step] = (logits.gather(-1, nxt[:, None]).squeeze(-1) - lse).clamp(max=0.0)
                n_new += active
                hit_eos = active & torch.isin(nxt, eos)
                reason = torch.where(hit_eos, torch.full_like(reason, 1), reason)
                active = active & ~hit_eos
                hit_len = active & (n_new >= limits)
                reason = torch.where(hit_len, torch.full_like(reason, 2), reason)
                active = active & ~hit_len
                if stops:
                    act_host = active.tolist()
                    for r, t in enumerate(nxt.tolist()):
                        if not act_host[r]:
                            continue
                        host_tokens[r].append(t)
                        tail = tok.decode(host_tokens[r][-stop_window:])
                        if any(x in tail for x in stops):
                            reason[r] = 3
                            active[r] = False
            if step == max_new - 1:
                break
            if step % 8 == 7 or stops:
                n_act = int(active.sum())  # the step's one host sync
                if n_act == 0:
                    break
                nb = bucket_for(dec.b, n_act)
                if self.compaction and nb < dec.n:
                    with torch.profiler.record_function("sampler.compact"):
                        per_row = [out_tok, out_lp, n_new, reason, thinking]
                        if done is None:
                            done = [x.clone() for x in per_row]
                        for store, x in zip(done, per_row, strict=True):
                            store[rows] = x
                        # rows still decoding first (in order), then finished ones to fill the bucket
                        keep = torch.argsort((~active).to(torch.uint8), stable=True)[:nb]
                        dec.compact(keep)
                        out_tok, out_lp, n_new, reason, thinking = (x[keep] for x in per_row)
                        nxt, active, limits, in_think, think_count, rows = (
                            x[keep] for x in (nxt, active, limits, in_think, think_count, rows)
                        )
                        if uniforms is not None:
                            uniforms = uniforms[keep]
                        if stops:
                            host_tokens = [host_tokens[i] for i in keep.tolist()]
            with torch.profiler.record_function("sampler.forward"):
                logits = dec.step(nxt, tp + step)

        if done is not None:
            for store, x in zip(done, [out_tok, out_lp, n_new, reason, thinking], strict=True):
                store[rows] = x
            out_tok, out_lp, n_new, reason, thinking = done
        if not track_think:
            done_rows = zip(prompts, out_tok.tolist(), n_new.tolist(), strict=True)
            thinking = torch.tensor([self._count_thinking(x, r[:n]) for x, r, n in done_rows])
        return self._collect(out_tok, out_lp, n_new, reason, thinking, stops)

    def _count_thinking(self, prompt: Sequence[int], ids: list[int]) -> int:
        """Tokens of `ids` inside a `<think>` block, markers included (see the module docstring)."""
        open_id, close_id = self.tok.think_open_id, self.tok.think_close_id
        if open_id is None or close_id is None:
            return 0
        inside = prompt_opens_think(prompt, open_id, close_id)
        count = 0
        for t in ids:
            if t == open_id and not inside:
                inside = True
            if inside:
                count += 1
            if t == close_id and inside:
                inside = False
        return count

    def _prefill(self, prompts: Sequence[Sequence[int]], dec: Decoder, tp: int) -> Tensor:
        """Writes the prompts' keys and values into `dec.cache`, right-aligned at slot `tp`, and
        returns the next-token logits [B, V] fp32.

        Prompts of equal length run together with plain causal attention (no mask, so the flash /
        memory-efficient kernels apply and no [T, S] scores are materialised); identical prompts
        (the `n` samples of one prompt) are computed once and copied to all their rows.
        """
        model = self.model
        device = dec.cache.k[0].device
        logits = torch.empty((len(prompts), model.config.vocab_size), device=device)
        by_len: dict[int, dict[tuple[int, ...], list[int]]] = {}
        for r, x in enumerate(prompts):
            by_len.setdefault(len(x), {}).setdefault(tuple(x), []).append(r)
        for length, uniq in by_len.items():
            keys = list(uniq)
            ids = torch.tensor(keys, dtype=torch.long).to(device)
            tmp = KVCache(model.config, len(keys), length, device, dec.cache.k[0].dtype)
            hidden = model(ids, None, None, tmp, torch.arange(length, device=device))
            out = model.logits(hidden[:, -1]).float()
            src = torch.tensor([u for u, k in enumerate(keys) for _ in uniq[k]], device=device)
            dst = torch.tensor([r for k in keys for r in uniq[k]], device=device)
            for layer in range(model.config.num_hidden_layers):
                dec.cache.k[layer][dst, :, tp - length : tp] = tmp.k[layer][src]
                dec.cache.v[layer][dst, :, tp - length : tp] = tmp.v[layer][src]
            logits[dst] = out[src]
        return logits

    def _collect(
        self,
        out_tok: Tensor,
        out_lp: Tensor,
        n_new: Tensor,
        reason: Tensor,
        thinking: Tensor,
        stops: list[str],
    ) -> list[SampleOut]:
        toks, lps = out_tok.cpu().tolist(), out_lp.cpu().tolist()
        lens, reasons, thinks = n_new.tolist(), reason.tolist(), thinking.tolist()
        eos = set(self.tok.eos_ids)
        res: list[SampleOut] = []
        for r in range(len(toks)):
            n = lens[r]
            ids = toks[r][:n]
            fin = FINISH[reasons[r]] or "length"
            text_ids = ids[:-1] if fin == "eos" and ids and ids[-1] in eos else ids
            text = self.tok.decode(text_ids)
            if fin == "stop" or stops:
                cut = min((text.find(x) for x in stops if x in text), default=-1)
                if cut >= 0:
                    text, fin = text[:cut], "stop"
            res.append(SampleOut(ids, lps[r][:n], fin, thinks[r], n - thinks[r], text))
        return res
