/**
 * Token counts in the policy's tokenizer. Planning uses a fast estimate (characters per token,
 * calibrated once per tokenizer and corpus on a sample of the corpus); the exact count of a built
 * context comes from the policy worker's `POST /v1/tokenize`, streamed in whitespace-aligned chunks so
 * a 1M-token context is never sent (or held) whole.
 */
import type { PolicySampler } from '../api.js';
import { streamBlob } from './blobs.js';
import { LongContextError } from './errors.js';

/** Exact token counts of texts, as the model sees a raw-text prompt (special tokens included). */
export interface TokenCounter {
  /** Stable name of the tokenizer (becomes part of blob keys). */
  id(): Promise<string>;
  /** One count per text, in order. */
  count(texts: string[]): Promise<number[]>;
}

/** Counts through the policy worker's `/v1/tokenize`. */
export class WorkerTokenCounter implements TokenCounter {
  private name?: Promise<string>;
  constructor(private readonly policy: Pick<PolicySampler, 'tokenize' | 'info'>) {}

  id(): Promise<string> {
    this.name ??= this.policy.info().then((i) => i.tokenizer);
    return this.name;
  }

  async count(texts: string[]): Promise<number[]> {
    const res = await this.policy.tokenize({ texts });
    if (res.counts.length !== texts.length) {
      throw new LongContextError(
        'tokenizer',
        `tokenize returned ${res.counts.length} counts for ${texts.length} texts`,
      );
    }
    return res.counts;
  }
}

/** Texts of about this many UTF-16 code units are sent per `/v1/tokenize` entry. */
const CHUNK_CHARS = 64 * 1024;
/** Entries per `/v1/tokenize` request (so a request carries about 1 MiB). */
const CHUNKS_PER_REQUEST = 16;

/**
 * Tokens of the special tokens the tokenizer adds to every text (e.g. BOS), measured on `''`.
 * Cached per counter.
 */
const overheads = new WeakMap<TokenCounter, Promise<number>>();
export function perTextOverhead(counter: TokenCounter): Promise<number> {
  let hit = overheads.get(counter);
  if (!hit) {
    hit = counter.count(['']).then((c) => c[0] ?? 0);
    overheads.set(counter, hit);
  }
  return hit;
}

/**
 * Exact tokens of a long text read from `path`, counted in chunks cut at whitespace, so tokens never
 * straddle a cut (for byte-level BPE with a whitespace-splitting pre-tokenizer the sum equals the count
 * of the whole text, up to merges across the cut that such tokenizers do not make). The per-text special
 * tokens are counted once.
 */
export async function countFileTokens(counter: TokenCounter, path: string): Promise<number> {
  const overhead = await perTextOverhead(counter);
  let total = 0;
  let texts = 0;
  let batch: string[] = [];
  const send = async () => {
    if (batch.length === 0) return;
    const counts = await counter.count(batch);
    total += counts.reduce((a, b) => a + b, 0);
    texts += batch.length;
    batch = [];
  };
  let carry = '';
  for await (const piece of streamBlob(path)) {
    carry += piece;
    while (carry.length >= CHUNK_CHARS) {
      const cut = lastWhitespaceBefore(carry, CHUNK_CHARS);
      batch.push(carry.slice(0, cut));
      carry = carry.slice(cut);
      if (batch.length >= CHUNKS_PER_REQUEST) await send();
    }
  }
  if (carry || texts + batch.length === 0) batch.push(carry);
  await send();
  return total - (texts - 1) * overhead;
}

/** Index of the last whitespace at or before `limit` (so the cut keeps the space with the next word). */
function lastWhitespaceBefore(text: string, limit: number): number {
  for (let i = Math.min(limit, text.length - 1); i > limit / 2; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10) return i;
  }
  return limit; // no whitespace in half a chunk: cut anyway, the error is a token or two
}

const calibrations = new Map<string, Promise<number>>();

/**
 * Characters per token of `counter` on `sample` (e.g. 64 Ki characters of the haystack corpus),
 * memoised per `cacheKey` (tokenizer + corpus) for the life of the process.
 */
export function calibrate(counter: TokenCounter, sample: string, cacheKey: string): Promise<number> {
  let hit = calibrations.get(cacheKey);
  if (!hit) {
    hit = (async () => {
      const [n] = await counter.count([sample]);
      const overhead = await perTextOverhead(counter);
      const tokens = (n ?? 0) - overhead;
      if (tokens <= 0) throw new LongContextError('tokenizer', 'calibration sample tokenized to nothing');
      return sample.length / tokens;
    })();
    hit.catch(() => calibrations.delete(cacheKey));
    calibrations.set(cacheKey, hit);
  }
  return hit;
}
