/**
 * Plain-number reading of a normalised answer (see `normalize.ts`): integers, decimals, scientific
 * notation, `a/b`, `\frac{a}{b}`, mixed numbers (`2\frac{1}{2}`, `2 1/2`) and percentages. Anything
 * else (symbols, radicals, π) is left to the symbolic comparison.
 */

/** A number read from an answer; `percent` when it was written with `%`. */
export interface ReadNumber {
  value: number;
  percent: boolean;
}

const DECIMAL = String.raw`\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`;
const PLAIN = new RegExp(`^([-+]?)(${DECIMAL})$`);
const SLASH = new RegExp(`^([-+]?)(${DECIMAL})/(${DECIMAL})$`);
const FRAC = /^([-+]?)\\frac\{([-+]?\d+(?:\.\d+)?)\}\{([-+]?\d+(?:\.\d+)?)\}$/;
const MIXED_FRAC = /^([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/;

/** Reads a normalised answer as a number; null when it is not a plain number. Never throws. */
export function readNumber(normalized: string): ReadNumber | null {
  let s = normalized;
  let percent = false;
  if (s.endsWith('%')) {
    percent = true;
    s = s.slice(0, -1);
  }
  const sign = (x: string | undefined) => (x === '-' ? -1 : 1);
  let m = PLAIN.exec(s);
  if (m) return { value: sign(m[1]) * Number(m[2]), percent };
  m = SLASH.exec(s);
  if (m && Number(m[3]) !== 0) return { value: (sign(m[1]) * Number(m[2])) / Number(m[3]), percent };
  m = FRAC.exec(s);
  if (m && Number(m[3]) !== 0) return { value: (sign(m[1]) * Number(m[2])) / Number(m[3]), percent };
  m = MIXED_FRAC.exec(s);
  if (m && Number(m[4]) !== 0) {
    return { value: sign(m[1]) * (Number(m[2]) + Number(m[3]) / Number(m[4])), percent };
  }
  return null;
}

/**
 * Reads a raw mixed number written with a space (`2 1/2`), which normalisation would glue into
 * `21/2`: call it on the answer before whitespace is removed.
 */
export function readSpacedMixed(raw: string): number | null {
  const m = /^\s*([-+]?)(\d+)\s+(\d+)\s*\/\s*(\d+)\s*$/.exec(raw.replace(/\$/g, ''));
  if (!m || Number(m[4]) === 0) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) + Number(m[3]) / Number(m[4]));
}

/** Default relative tolerance of numeric comparisons. */
export const DEFAULT_REL_TOL = 1e-6;
/** Default absolute tolerance (for answers near 0). */
export const DEFAULT_ABS_TOL = 1e-9;

/** |a − b| ≤ max(absTol, relTol·max(|a|, |b|)); infinities equal only themselves. */
export function closeEnough(
  a: number,
  b: number,
  relTol = DEFAULT_REL_TOL,
  absTol = DEFAULT_ABS_TOL,
): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= Math.max(absTol, relTol * Math.max(Math.abs(a), Math.abs(b)));
}

/**
 * Compares two read numbers. A percent on one side only also matches its fraction
 * (`50%` = `0.5` = `50`): graders differ on which one a question wants, so both are accepted.
 */
export function numbersEqual(a: ReadNumber, b: ReadNumber, relTol?: number, absTol?: number): boolean {
  if (closeEnough(a.value, b.value, relTol, absTol)) return true;
  if (a.percent !== b.percent) {
    const [p, q] = a.percent ? [a, b] : [b, a];
    return closeEnough(p.value / 100, q.value, relTol, absTol);
  }
  return false;
}
