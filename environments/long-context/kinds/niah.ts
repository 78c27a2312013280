/**
 * Needle in a haystack, in RULER's four variants (Hsieh et al. 2024, RULER, §3.1 "Retrieval"):
 * - `niah-single`: one needle `One of the special magic numbers for KEY is: VALUE.`; asked for KEY.
 * - `niah-multikey`: the needle plus `keys − 1` distractor needles with other keys; asked for one key.
 * - `niah-multivalue`: `values` needles with the same key and different values; all values are asked for.
 * - `niah-multiquery`: `queries` needles with different keys; all of their values are asked for.
 *
 * The first answer needle sits at the task's requested depth; the other needles at seeded uniform
 * depths. Keys are made-up hyphenated word pairs, values 7-digit numbers, made-up words or UUIDs, all
 * distinct within a task, so nothing can be recalled from pretraining.
 */
import { distinctWords, type Rng } from '../rng.js';
import type { Insert, KindPlan } from './types.js';

/** Needle parameters (from the environment config). */
export interface NiahOptions {
  /** What the needles' values are. */
  valueType: 'number' | 'word' | 'uuid';
  /** Needles in `niah-multikey` (one asked, the rest distractors). */
  keys: number;
  /** Values of the one key in `niah-multivalue`. */
  values: number;
  /** Keys asked at once in `niah-multiquery`. */
  queries: number;
}

const NOUN: Record<NiahOptions['valueType'], string> = { number: 'numbers', word: 'words', uuid: 'uuids' };

/** Plans a NIAH task of `kind` with its first answer needle at `depth`. */
export function planNiah(
  kind: 'niah-single' | 'niah-multikey' | 'niah-multivalue' | 'niah-multiquery',
  depth: number,
  opts: NiahOptions,
  rng: Rng,
): KindPlan {
  const noun = NOUN[opts.valueType];
  const needleCount =
    kind === 'niah-single'
      ? 1
      : kind === 'niah-multikey'
        ? opts.keys
        : kind === 'niah-multivalue'
          ? opts.values
          : opts.queries;
  const keyCount = kind === 'niah-multivalue' ? 1 : needleCount;
  const keys = pairKeys(rng, keyCount);
  const values = distinctValues(rng, opts.valueType, needleCount);
  const inserts: Insert[] = values.map((value, i) => {
    const key = kind === 'niah-multivalue' ? (keys[0] as string) : (keys[i] as string);
    const role = kind === 'niah-multikey' && i > 0 ? 'distractor' : 'answer';
    return {
      text: `One of the special magic ${noun} for ${key} is: ${value}.`,
      depth: i === 0 ? depth : round4(rng.next()),
      role,
      key,
      value,
    };
  });
  const asked = kind === 'niah-multiquery' ? keys : [keys[0] as string];
  const query =
    asked.length === 1 ? (asked[0] as string) : `${asked.slice(0, -1).join(', ')}, and ${asked.at(-1)}`;
  const answers = inserts.filter((n) => n.role === 'answer').map((n) => n.value as string);
  return {
    kind,
    instruction: `Some special magic ${noun} are hidden within the following text. Make sure to memorize it. I will quiz you about the ${noun} afterwards.`,
    question: `What are all the special magic ${noun} for ${query} mentioned in the provided text?`,
    answerPrefix: `The special magic ${noun} for ${query} mentioned in the provided text are`,
    answers,
    distractors: inserts.filter((n) => n.role === 'distractor').map((n) => n.value as string),
    inserts,
    body: 'haystack',
  };
}

/** `count` distinct made-up keys like `bokari-tesuma`. */
export function pairKeys(rng: Rng, count: number): string[] {
  const words = distinctWords(rng, count * 2, 3);
  return Array.from({ length: count }, (_, i) => `${words[2 * i]}-${words[2 * i + 1]}`);
}

function distinctValues(rng: Rng, type: NiahOptions['valueType'], count: number): string[] {
  if (type === 'word') return distinctWords(rng, count, 4);
  const seen = new Set<string>();
  while (seen.size < count) seen.add(type === 'number' ? rng.digits(7) : rng.uuid());
  return [...seen];
}

/** Depths are kept to 4 decimals so they survive JSON round trips unchanged. */
export const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
