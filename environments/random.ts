/**
 * Seeded randomness for task order and generated problems: FNV-1a (32-bit) hashes a key string to a
 * seed and mulberry32 turns the seed into a stream of floats in [0, 1). Both are tiny, fast and fully
 * deterministic across platforms, which is all task sampling needs (not cryptographic).
 */

/** FNV-1a 32-bit hash of a string. */
export function hashString(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator seeded by a key such as `"42:train:3"`. */
export const keyedRng = (key: string): (() => number) => rng(hashString(key));

/** Integer uniform in [lo, hi] (inclusive). */
export const randInt = (r: () => number, lo: number, hi: number): number =>
  lo + Math.floor(r() * (hi - lo + 1));

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, r: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
