/**
 * Builds one context of a target length, streaming, into the blob directory.
 *
 * Layout of the stored prompt (plain text, sent as a raw-text prompt):
 * `INSTRUCTION \n\n BODY \n\n QUESTION [\n ANSWER_PREFIX]`. BODY is haystack sentences with the plan's
 * inserts hidden in it, or a generated body (word list, coded text).
 *
 * Length: the haystack gets a character budget of `target × charsPerToken − fixed characters`; with an
 * exact token counter the stored context is counted (`/v1/tokenize`, streamed) and the budget corrected
 * (secant steps on budget → tokens) until the count is within `tolerance` of the target (usually two or
 * three rounds; the closest build is kept after `maxRounds`). Without a counter the count is the estimate `chars / charsPerToken`.
 *
 * Depth: an insert with depth d starts after round(d × H) characters of haystack, H the haystack's
 * length without inserts. It is snapped to a sentence boundary within 0.5% of H, otherwise placed at
 * the nearest space between words, so it lands within a few characters of the requested depth.
 */
import { type BlobWriter, type BlobWritten, writeBlob } from './blobs.js';
import { LongContextError } from './errors.js';
import { type Corpus, haystackUnits } from './haystack.js';
import type { Insert, KindPlan } from './kinds/types.js';
import { Rng } from './rng.js';
import { countFileTokens, type TokenCounter } from './tokens.js';

/** Where an insert landed. Offsets are into the stored prompt. */
export interface PlacedNeedle {
  text: string;
  role: Insert['role'];
  key?: string;
  value?: string;
  /** Requested depth in [0, 1]. */
  depth: number;
  /** Haystack characters before the needle ÷ haystack characters (inserts excluded). */
  actualDepth: number;
  /** Offset of the first character, UTF-16 code units (JavaScript string index). */
  charOffset: number;
  /** Offset of the first byte in the UTF-8 blob (for random access without reading it all). */
  byteOffset: number;
}

/** How to build. */
export interface BuildOptions {
  blobDir: string;
  key: string;
  /** Target prompt length, tokens of the policy's tokenizer. */
  targetTokens: number;
  corpus: Corpus;
  /** Seed of the haystack's start sentence. */
  haystackSeed: number;
  /** Planning estimate: characters per token. */
  charsPerToken: number;
  /** Exact counter; without one the length is an estimate. */
  counter?: TokenCounter;
  /** Accepted relative length error with an exact counter. Default 0.005. */
  tolerance?: number;
  /** Build rounds before giving up on the tolerance (the last build is kept). Default 4. */
  maxRounds?: number;
  /** Append the plan's answer prefix after the question. Default true. */
  answerPrefix?: boolean;
}

/** A stored context and what was measured on it. */
export interface BuiltContext {
  blob: BlobWritten;
  /** Prompt tokens: exact when `exactTokens`, else the estimate. */
  tokens: number;
  exactTokens: boolean;
  /** Build rounds used. */
  rounds: number;
  needles: PlacedNeedle[];
  answers: string[];
  /** Look-alike strings that are not answers: the plan's, or a generated body's other words. */
  distractors: string[];
  /** Per-answer facts of generated bodies (word counts); empty otherwise. */
  facts: Record<string, number>;
  /** Body span in the prompt (UTF-16 offsets) and haystack characters without inserts. */
  body: { start: number; end: number; haystackChars: number };
}

const SNAP = 0.005;

/** Builds and stores the context of `plan`. @throws LongContextError (`length`) when the target is too small. */
export async function buildContext(plan: KindPlan, opts: BuildOptions): Promise<BuiltContext> {
  const tolerance = opts.tolerance ?? 0.005;
  const maxRounds = opts.maxRounds ?? 4;
  const fixed = fixedChars(plan, opts.answerPrefix ?? true);
  const T = opts.targetTokens;
  let budget = Math.round(T * opts.charsPerToken) - fixed;
  if (budget <= 0) {
    throw new LongContextError(
      'length',
      `target ${T} tokens is too short for a ${plan.kind} task (instruction, question and needles alone take about ${Math.ceil(fixed / opts.charsPerToken)})`,
    );
  }
  let best: { budget: number; error: number; built: BuiltContext } | undefined;
  let last: { budget: number; tokens: number } | undefined;
  for (let round = 1; round <= maxRounds; round++) {
    const once = await writeOnce(plan, opts, budget, round);
    if (!opts.counter) return once;
    const tokens = await countFileTokens(opts.counter, once.blob.path);
    const built = { ...once, tokens, exactTokens: true };
    const error = Math.abs(tokens - T);
    if (error <= tolerance * T) return built;
    const isBest = !best || error < best.error;
    if (isBest) best = { budget, error, built };
    // Characters per token of the next correction: the secant through the last two rounds (the body's
    // own rate, which differs from the instruction's and, for word lists, from prose), else the whole
    // prompt's rate.
    const slope =
      last && tokens !== last.tokens
        ? (budget - last.budget) / (tokens - last.tokens)
        : built.blob.chars / tokens;
    last = { budget, tokens };
    budget = Math.max(1, budget + Math.round((T - tokens) * (slope > 0 ? slope : built.blob.chars / tokens)));
    if (round === maxRounds && !isBest && best) {
      // Granularity (whole list entries, words) can keep a short context just outside the tolerance:
      // keep the closest build. Building is deterministic, so rebuilding its budget gives it back.
      const again = await writeOnce(plan, opts, best.budget, round + 1);
      return { ...again, tokens: best.built.tokens, exactTokens: true };
    }
    if (round === maxRounds) return built;
  }
  throw new Error('unreachable');
}

function fixedChars(plan: KindPlan, withPrefix: boolean): number {
  const inserts = plan.inserts.reduce((a, n) => a + n.text.length + 1, 0);
  const prefix = withPrefix && plan.answerPrefix ? plan.answerPrefix.length + 1 : 0;
  return plan.instruction.length + 2 + 2 + plan.question.length + prefix + inserts;
}

async function writeOnce(
  plan: KindPlan,
  opts: BuildOptions,
  budget: number,
  round: number,
): Promise<BuiltContext> {
  let needles: PlacedNeedle[] = [];
  let body = { start: 0, end: 0, haystackChars: 0 };
  let answers = plan.answers;
  let distractors = plan.distractors;
  let facts: Record<string, number> = {};
  const blob = await writeBlob(opts.blobDir, opts.key, async (out) => {
    await out.write(`${plan.instruction}\n\n`);
    body.start = out.chars;
    if (plan.body === 'haystack') {
      const units = () => haystackStream(plan, opts, budget);
      let H = 0;
      for (const u of units()) H += u.length; // planning pass: exact haystack length, nothing stored
      needles = await writeHaystack(out, units(), H, plan.inserts);
      body.haystackChars = H;
    } else {
      for (const u of plan.body.units(budget)) {
        await out.write(u);
        body.haystackChars += u.length;
      }
      ({ answers, distractors, facts } = plan.body.result());
    }
    body.end = out.chars;
    await out.write(`\n\n${plan.question}`);
    if ((opts.answerPrefix ?? true) && plan.answerPrefix) await out.write(`\n${plan.answerPrefix}`);
  });
  body = { ...body };
  return {
    blob,
    tokens: Math.round(blob.chars / opts.charsPerToken),
    exactTokens: false,
    rounds: round,
    needles,
    answers,
    distractors,
    facts,
    body,
  };
}

/** The haystack units of `plan`, cut to exactly `budget` characters at a word boundary. */
function* haystackStream(plan: KindPlan, opts: BuildOptions, budget: number): Generator<string> {
  let units: Iterable<string> = haystackUnits(opts.corpus, new Rng(opts.haystackSeed));
  if (plan.documentSentences) units = documents(units, plan.documentSentences);
  let c = 0;
  for (const u of units) {
    if (c + u.length <= budget) {
      yield u;
      c += u.length;
      if (c === budget) return;
      continue;
    }
    let w = budget - c;
    while (w > 0 && u.charCodeAt(w) !== 32) w--;
    if (w > 0) yield u.slice(0, w);
    return;
  }
}

/** Groups sentence units into numbered documents (`Document 1:` …), paragraph breaks flattened. */
function* documents(units: Iterable<string>, perDocument: number): Generator<string> {
  let j = 0;
  for (const u of units) {
    const sentence = u.trimStart();
    if (j % perDocument === 0) {
      yield `${j === 0 ? '' : '\n\n'}Document ${j / perDocument + 1}:\n${sentence}`;
    } else {
      yield ` ${sentence}`;
    }
    j++;
  }
}

/** Writes the haystack with the inserts at their depths; returns where they landed. */
async function writeHaystack(
  out: BlobWriter,
  units: Iterable<string>,
  H: number,
  inserts: Insert[],
): Promise<PlacedNeedle[]> {
  const order = inserts.map((n, i) => ({ n, i, target: Math.round(n.depth * H) }));
  order.sort((a, b) => a.target - b.target || a.i - b.i);
  const snap = Math.floor(SNAP * H);
  const placed: PlacedNeedle[] = new Array(inserts.length);
  const bodyStart = out.chars;
  let c = 0; // haystack characters written
  let k = 0;
  const put = async () => {
    const { n, i } = order[k++]!;
    if (out.chars > bodyStart) await out.write(' ');
    placed[i] = {
      text: n.text,
      role: n.role,
      ...(n.key !== undefined ? { key: n.key } : {}),
      ...(n.value !== undefined ? { value: n.value } : {}),
      depth: n.depth,
      actualDepth: H > 0 ? Math.round((c / H) * 1e6) / 1e6 : 0,
      charOffset: out.chars,
      byteOffset: out.bytes,
    };
    await out.write(n.text);
  };
  const hay = async (text: string) => {
    // The first unit has no leading separator; give it one when a needle precedes it.
    if (c === 0 && out.chars > bodyStart) await out.write(' ');
    await out.write(text);
    c += text.length;
  };
  for (const u of units) {
    let rest = u;
    let restStart = c;
    while (k < order.length && order[k]!.target < restStart + rest.length) {
      const o = order[k]!.target - restStart;
      const L = rest.length;
      let pos: number;
      if (o <= snap || L - o <= snap) pos = o <= L - o ? 0 : L;
      else pos = nearestSpace(rest, o) ?? (o <= L - o ? 0 : L);
      if (pos > 0) {
        await hay(rest.slice(0, pos));
        rest = rest.slice(pos);
        restStart += pos;
      }
      await put();
    }
    if (rest) await hay(rest);
  }
  while (k < order.length) await put();
  return placed;
}

/** Index of the space nearest to `o` strictly inside `text`, or undefined. */
function nearestSpace(text: string, o: number): number | undefined {
  for (let d = 0; d < text.length; d++) {
    if (o - d > 0 && text.charCodeAt(o - d) === 32) return o - d;
    if (o + d < text.length && text.charCodeAt(o + d) === 32) return o + d;
    if (o - d <= 0 && o + d >= text.length) break;
  }
  return undefined;
}
