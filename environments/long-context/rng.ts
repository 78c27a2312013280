/**
 * Seeded randomness for task generation: a 32-bit hash of the task's identity seeds a small PRNG, so
 * task `i` is computed directly from `(seed, split, i)` without generating tasks `0..i-1`.
 *
 * The generator is mulberry32 (Tommy Ettinger, 2017): a 32-bit state, period 2^32, good enough for
 * shuffling filler and drawing needle values; it is not cryptographic.
 */

/** FNV-1a 32-bit hash of a string; used to derive seeds from task identities. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic random source. Every method advances the same state. */
export class Rng {
  private state: number;

  /** @param seed any 32-bit integer (other numbers are truncated). */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A derived generator for `label`, independent of how much this one has been used since. */
  static of(...parts: (string | number)[]): Rng {
    return new Rng(hash32(parts.join('\u0000')));
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A decimal number of exactly `digits` digits (no leading zero), as a string. */
  digits(digits: number): string {
    let out = String(this.int(1, 9));
    for (let i = 1; i < digits; i++) out += String(this.int(0, 9));
    return out;
  }

  /** An RFC 4122 version-4 shaped UUID drawn from this generator. */
  uuid(): string {
    const hex = (n: number) => Array.from({ length: n }, () => this.int(0, 15).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + this.int(0, 3)).toString(16)}${hex(3)}-${hex(12)}`;
  }

  /**
   * A pronounceable made-up word of `syllables` consonant–vowel syllables (e.g. `bokari`). Made-up words
   * are used as keys, variable names and list words so that no needle can be recalled from pretraining.
   */
  word(syllables = 3): string {
    let out = '';
    for (let i = 0; i < syllables; i++) out += this.pick(CONSONANTS) + this.pick(VOWELS);
    return out;
  }
}

const CONSONANTS = [
  'b',
  'd',
  'f',
  'g',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'ch',
  'sh',
  'tr',
  'br',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou'];

/** `count` distinct made-up words (throws if the word space is too small for `count`). */
export function distinctWords(rng: Rng, count: number, syllables = 3): string[] {
  const seen = new Set<string>();
  let tries = 0;
  while (seen.size < count) {
    if (++tries > count * 50 + 1000)
      throw new Error(`cannot draw ${count} distinct ${syllables}-syllable words`);
    seen.add(rng.word(syllables));
  }
  return [...seen];
}
