/**
 * Aggregation tasks (RULER §3.1 "Aggregation"), whose body is generated rather than corpus prose:
 * - `common-words` (CWE): a numbered list `1. bokari 2. tesuma …` in which `words` common words appear
 *   `commonFreq` times each and every other word `rareFreq` times (the last one possibly fewer); the model lists the common words.
 * - `frequent-words` (FWE): "coded text" of made-up words drawn from a Zipf distribution
 *   p(rank r) ∝ r^(−α) (Zipf 1935; RULER uses α = 2); the model lists the `words` most frequent ones,
 *   taken from the counts of the text actually written (ties broken by rank); `facts` holds the counts of
 *   the answers and of the runner-up.
 * Both stream their units; CWE holds one Int32Array of word ids per list entry (4 bytes an entry).
 */
import { distinctWords, Rng } from '../rng.js';
import type { GeneratedBody, KindPlan } from './types.js';

/** Common-words parameters. */
export interface CommonWordsOptions {
  words: number;
  commonFreq: number;
  rareFreq: number;
}

/** Frequent-words parameters. */
export interface FrequentWordsOptions {
  words: number;
  /** Zipf exponent α. */
  alpha: number;
  /** Distinct words in the coded text. */
  vocab: number;
}

const digits = (n: number) => String(n).length;

/** Plans a CWE task. */
export function planCommonWords(opts: CommonWordsOptions, rng: Rng): KindPlan {
  let last: { answers: string[]; distractors: string[]; facts: Record<string, number> } = {
    answers: [],
    distractors: [],
    facts: {},
  };
  const seed = rng.int(0, 2 ** 31);
  const body: GeneratedBody = {
    *units(budgetChars) {
      const r = new Rng(seed);
      // Common words are drawn first, so they are the same whatever the budget.
      const common = distinctWords(r, opts.words, 3);
      const estEntries = Math.max(1, Math.floor(budgetChars / 13));
      const freq = Math.max(
        opts.rareFreq + 2,
        Math.min(opts.commonFreq, Math.floor(estEntries / (2 * opts.words))),
      );
      const vocab = [...common];
      const seen = new Set(common);
      let entries = 0;
      let chars = 0;
      const occurrences: number[] = [];
      const add = (word: string, f: number) => {
        // Stops at the budget, so the last rare word may occur fewer than rareFreq times: the list
        // length then moves one entry at a time.
        let k = 0;
        for (; k < f && (occurrences.length < common.length || chars < budgetChars); k++) {
          entries++;
          chars += 3 + digits(entries) + word.length; // " 12. word"
        }
        occurrences.push(k);
      };
      for (const w of common) add(w, freq);
      while (chars < budgetChars) {
        const w = r.word(3);
        if (seen.has(w)) continue;
        seen.add(w);
        vocab.push(w);
        add(w, opts.rareFreq);
      }
      const ids = new Int32Array(entries);
      let p = 0;
      for (let id = 0; id < vocab.length; id++) {
        for (let k = 0; k < (occurrences[id] as number); k++) ids[p++] = id;
      }
      r.shuffle(ids);
      last = {
        answers: common,
        // Every other word of the list (each rare word written at least once).
        distractors: vocab
          .slice(common.length)
          .filter((_, i) => (occurrences[common.length + i] as number) > 0),
        facts: Object.fromEntries(common.map((w) => [w, freq])),
      };
      for (let i = 0; i < ids.length; i++) {
        yield `${i === 0 ? '' : ' '}${i + 1}. ${vocab[ids[i] as number]}`;
      }
    },
    result: () => last,
  };
  return {
    kind: 'common-words',
    instruction:
      'Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.',
    question: `Question: What are the ${opts.words} most common words in the above list?`,
    answerPrefix: `Answer: The top ${opts.words} words that appear most often in the list are:`,
    answers: [],
    distractors: [],
    inserts: [],
    body,
  };
}

/** Plans an FWE task. */
export function planFrequentWords(opts: FrequentWordsOptions, rng: Rng): KindPlan {
  let last: { answers: string[]; distractors: string[]; facts: Record<string, number> } = {
    answers: [],
    distractors: [],
    facts: {},
  };
  const seed = rng.int(0, 2 ** 31);
  const vocab = distinctWords(rng, Math.max(opts.vocab, opts.words + 1), 2);
  const cdf = new Float64Array(vocab.length);
  let acc = 0;
  for (let r = 0; r < vocab.length; r++) cdf[r] = acc += (r + 1) ** -opts.alpha;
  const body: GeneratedBody = {
    *units(budgetChars) {
      const r = new Rng(seed);
      const counts = new Int32Array(vocab.length);
      let chars = 0;
      while (chars < budgetChars) {
        const rank = lowerBound(cdf, r.next() * acc);
        counts[rank] = (counts[rank] as number) + 1;
        const unit = `${chars === 0 ? '' : ' '}${vocab[rank]}`;
        chars += unit.length;
        yield unit;
      }
      const top = [...counts.keys()].sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
      const answers = top.slice(0, opts.words).map((i) => vocab[i] as string);
      last = {
        answers,
        // Every other word the text holds: listing the runners-up beside the answers costs precision.
        distractors: top
          .slice(opts.words)
          .flatMap((i) => ((counts[i] as number) > 0 ? [vocab[i] as string] : [])),
        facts: Object.fromEntries(top.slice(0, opts.words + 1).map((i) => [vocab[i], counts[i]])),
      };
    },
    result: () => last,
  };
  const n = opts.words === 3 ? 'three' : String(opts.words);
  return {
    kind: 'frequent-words',
    instruction: `Read the following coded text and track the frequency of each coded word. Find the ${n} most frequently appeared coded words.`,
    question: `Question: Do not provide any explanation. What are the ${n} most frequently appeared words in the above coded text?`,
    answerPrefix: `Answer: According to the coded text above, the ${n} most frequently appeared words are:`,
    answers: [],
    distractors: [],
    inserts: [],
    body,
  };
}

/** First index whose cumulative value exceeds `x`. */
function lowerBound(cdf: Float64Array, x: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cdf[mid] as number) > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
