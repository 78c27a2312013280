/**
 * Sample points for comparing expressions with free variables, and the rule that decides agreement.
 *
 * Points are drawn for each comparison (seeded by the pair, so a verdict is reproducible and
 * symmetric) with magnitudes log-uniform in [0.15, 4], stratified so they span it, and both signs for every variable (variable i
 * is negative at point k when bit i of k is set), so `|x|` and `\sqrt{x^2}` differ from `x`. A point
 * where both sides are undefined (NaN, real root of a negative) or both exactly 0 (compute-engine
 * chops values below 1e-10 to 0) says nothing and is skipped: never counted as agreement.
 */

import { keyedRng } from '../../../environments/random.js';
import { closeEnough } from './numbers.js';

/** A complex value (im 0 for reals); null when the expression has no numeric value there. */
export type Value = { re: number; im: number } | null;

/** Outcome of a comparison at the sample points. */
export type Verdict = 'agree' | 'differ';

/** Points drawn per comparison. */
export const SAMPLE_POINTS = 8;
/** Points where both sides are defined and non-zero needed to call two expressions equal. */
export const MIN_INFORMATIVE_POINTS = 3;
/** Relative tolerance floor at sample points (floating-point evaluation of two different forms). */
const POINT_REL_TOL = 1e-9;

/**
 * The sample points of one comparison: `SAMPLE_POINTS` assignments of every variable. Each variable's
 * magnitudes are stratified: the log range is cut into SAMPLE_POINTS equal strata and each point takes
 * one (in a shuffled order per variable), so every comparison reaches both ends of [0.15, 4] — a
 * truncated Taylor series of `e^x`, close to it only near 0, is never sampled at small points alone.
 */
export function samplePoints(seed: string, vars: readonly string[]): Record<string, number>[] {
  const rand = keyedRng(seed);
  const [lo, hi] = [Math.log(0.15), Math.log(4)];
  const strata = vars.map(() => {
    const order = Array.from({ length: SAMPLE_POINTS }, (_, j) => j);
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(rand() * (j + 1));
      [order[j], order[r]] = [order[r]!, order[j]!];
    }
    return order;
  });
  return Array.from({ length: SAMPLE_POINTS }, (_, k) =>
    Object.fromEntries(
      vars.map((v, i) => {
        const u = (strata[i]![k]! + rand()) / SAMPLE_POINTS;
        return [v, ((k >> i) & 1 ? -1 : 1) * Math.exp(lo + (hi - lo) * u)];
      }),
    ),
  );
}

const isZero = (v: NonNullable<Value>) => v.re === 0 && v.im === 0;

/**
 * Two values within tolerance: `closeEnough` for reals; for complex values, |a − b| ≤ relTol·max(|a|,
 * |b|), or ≤ absTol when one is exactly 0. Null (undefined) equals nothing.
 */
export function valuesClose(a: Value, b: Value, relTol: number, absTol: number): boolean {
  if (!a || !b) return false;
  if (a.im === 0 && b.im === 0) return closeEnough(a.re, b.re, relTol, absTol);
  const diff = Math.hypot(a.re - b.re, a.im - b.im);
  if (!Number.isFinite(diff)) return false;
  if (isZero(a) || isZero(b)) return diff <= absTol;
  return diff <= relTol * Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
}

/**
 * Evaluates both sides at the sample points (`pairAt` gives [candidate, reference] at a point) and
 * agrees when no point disagrees (one side defined and the other not is a disagreement) and at least
 * MIN_INFORMATIVE_POINTS points had both sides defined and not both 0.
 */
export function valuesAgree(
  seed: string,
  vars: readonly string[],
  pairAt: (point: Record<string, number>) => [Value, Value],
  relTol: number,
  absTol: number,
): Verdict {
  let informative = 0;
  for (const point of samplePoints(seed, vars)) {
    const [a, b] = pairAt(point);
    if (!a && !b) continue;
    if (!a || !b) return 'differ';
    if (isZero(a) && isZero(b)) continue;
    if (!valuesClose(a, b, Math.max(relTol, POINT_REL_TOL), absTol)) return 'differ';
    informative++;
  }
  return informative >= MIN_INFORMATIVE_POINTS ? 'agree' : 'differ';
}
