/**
 * Plain-number reading of a normalised answer (see `normalize.ts`): integers, decimals, scientific
 * notation (`1e3`, `1.5\times10^{3}`), `a/b`, `\frac{a}{b}`, mixed numbers (`2\frac{1}{2}`; the
 * normaliser turns `2 1/2` into that) and percentages. Values are exact rationals (fraction.js, BigInt),
 * so `2^{100}`-sized integers and `3^{-40}`-sized fractions compare without rounding. Anything else
 * (symbols, radicals, π) is left to the symbolic comparison.
 */
import Fraction from 'fraction.js';

/** A number read from an answer. */
export interface ReadNumber {
  /** The exact value of what was written (`0.33` is 33/100, not 1/3). */
  exact: Fraction;
  /** Written with a decimal point: a rounded value, compared within the relative tolerance. */
  approx: boolean;
  /**
   * Of a decimal, the value of its last written digit (`2.9999999` → 10^-7, `1.50e3` → 10); null for
   * exact numbers and decimals over a number. A decimal states its value to within one such unit.
   */
  unit: Fraction | null;
  /** Written with `%`; `exact` is then the number before the sign (50 for `50%`). */
  percent: boolean;
  /**
   * Written as a fraction that is not in lowest terms (`12/4`, `\frac{2}{4}`, `3/1`, `1\frac{3}{2}`,
   * a decimal over a number): a division left for the reader to do.
   */
  unreduced: boolean;
}

/** `n/d` as written is in lowest terms: integers, d > 1, gcd 1. */
function reduced(n: string, d: string): boolean {
  if (!/^\d+$/.test(n) || !/^\d+$/.test(d)) return false;
  let a = BigInt(n);
  let b = BigInt(d);
  if (b <= 1n) return false;
  while (b) [a, b] = [b, a % b];
  return a === 1n;
}

const UNSIGNED = String.raw`(\d+(?:\.\d+)?)(?:[eE]([-+]?\d+))?`;
const PLAIN = new RegExp(`^([-+]?)${UNSIGNED}$`);
const SLASH = /^([-+]?)(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/;
const FRAC = /^([-+]?)\\frac\{([-+]?\d+(?:\.\d+)?)\}\{([-+]?\d+(?:\.\d+)?)\}$/;
const MIXED_FRAC = /^([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/;
const TIMES_TEN = /^([-+]?)(\d+(?:\.\d+)?)(?:\\times|\\cdot)10\^(?:\{([-+]?\d+)\}|(\d))$/;

/** Largest power of ten read from scientific notation (`1e999999999` would build a huge BigInt). */
const MAX_EXPONENT = 400;

/** `mantissa × 10^exponent` as an exact fraction; null past MAX_EXPONENT. */
function decimal(mantissa: string, exponent = 0): Fraction | null {
  if (Math.abs(exponent) > MAX_EXPONENT) return null;
  const scale = new Fraction(10n ** BigInt(Math.abs(exponent)));
  const m = new Fraction(mantissa);
  return exponent >= 0 ? m.mul(scale) : m.div(scale);
}

/** A finite double as the exact decimal it prints as (`1e-12` → 1/10^12). */
function fromNumber(x: number): Fraction {
  const [mantissa, exponent] = x.toExponential().split('e');
  return decimal(mantissa!.replace('-', ''), Number(exponent)) ?? new Fraction(0);
}

/** Reads a normalised answer as a number; null when it is not a plain number. Never throws. */
export function readNumber(normalized: string): ReadNumber | null {
  let s = normalized;
  let percent = false;
  if (s.endsWith('%')) {
    percent = true;
    s = s.slice(0, -1);
  }
  const signed = (sign: string | undefined, x: Fraction | null) => (x && sign === '-' ? x.neg() : x);
  const made = (
    exact: Fraction | null,
    written: string,
    unreduced = false,
    unit: Fraction | null = null,
  ): ReadNumber | null => (exact ? { exact, approx: written.includes('.'), percent, unreduced, unit } : null);
  /** A decimal mantissa × 10^exponent, with the unit of its last digit. */
  const scientific = (sign: string | undefined, mantissa: string, exponent: number) => {
    const places = mantissa.split('.')[1]?.length;
    const unit = places === undefined ? null : decimal('1', exponent - places);
    return made(signed(sign, decimal(mantissa, exponent)), mantissa, false, unit);
  };
  let m = PLAIN.exec(s);
  if (m) return scientific(m[1], m[2]!, Number(m[3] ?? 0));
  m = TIMES_TEN.exec(s);
  if (m) return scientific(m[1], m[2]!, Number(m[3] ?? m[4]));
  m = SLASH.exec(s) ?? FRAC.exec(s);
  if (m && Number(m[3]) !== 0) {
    const [n, d] = [m[2]!.replace(/^[-+]/, ''), m[3]!.replace(/^[-+]/, '')];
    return made(signed(m[1], new Fraction(m[2]!).div(new Fraction(m[3]!))), m[2]! + m[3]!, !reduced(n, d));
  }
  m = MIXED_FRAC.exec(s);
  if (m && Number(m[4]) !== 0) {
    const value = new Fraction(m[3]!).div(new Fraction(m[4]!)).add(new Fraction(m[2]!));
    const proper = reduced(m[3]!, m[4]!) && BigInt(m[3]!) < BigInt(m[4]!);
    return made(signed(m[1], value), '', !proper);
  }
  return null;
}

/** Default relative tolerance of comparisons that involve a rounded (decimal) value. */
export const DEFAULT_REL_TOL = 1e-6;
/**
 * Default absolute tolerance: how far from an exact 0 a value may be and still count as 0 (the
 * floating-point noise of an evaluated `\sin\pi`). It never applies between two non-zero values.
 */
export const DEFAULT_ABS_TOL = 1e-12;

/**
 * Floating-point closeness: |a − b| ≤ relTol·max(|a|, |b|) when both are non-zero, |a − b| ≤ absTol
 * when one is exactly 0 (so `1/3^40` ≠ `1/3^41`, yet `1e-17` = `0`). NaN equals nothing; infinities
 * equal only themselves.
 */
export function closeEnough(
  a: number,
  b: number,
  relTol = DEFAULT_REL_TOL,
  absTol = DEFAULT_ABS_TOL,
): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  if (a === 0 || b === 0) return Math.abs(a - b) <= absTol;
  return Math.abs(a - b) <= relTol * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * `closeEnough` on exact rationals: equal exactly when neither side is `approx` (integers and
 * fractions as written: `1000000001` ≠ `1000000000`), else within the tolerances as above.
 */
export function fractionsClose(
  a: Fraction,
  b: Fraction,
  approx: boolean,
  relTol = DEFAULT_REL_TOL,
  absTol = DEFAULT_ABS_TOL,
): boolean {
  if (a.equals(b)) return true;
  if (!approx) return false;
  const diff = a.sub(b).abs();
  if (a.n === 0n || b.n === 0n) return diff.lte(fromNumber(absTol));
  const scale = a.abs().gt(b.abs()) ? a.abs() : b.abs();
  return diff.lte(scale.mul(fromNumber(relTol)));
}

/** Relative error of double-precision noise (`0.1 + 0.2` printed as `0.30000000000000004`). */
const FLOAT_NOISE = new Fraction(1, 10n ** 14n);

/**
 * A decimal against an exact number (integer or fraction): the decimal must be right in every digit
 * it writes, rounded or cut — less than one unit of its last digit away (`0.333333` and `0.6666666`
 * are 1/3 and 2/3; `2.9999999` is not 3 and `1000000.5` is not 1000000, though both are within
 * `relTol`) — or off by double-precision noise only (relative error ≤ 1e-14). True when both or
 * neither are decimals (the tolerances alone decide).
 */
function digitsRight(
  a: ReadNumber,
  b: ReadNumber,
  aValue: Fraction,
  bValue: Fraction,
  scale: Fraction,
): boolean {
  if (a.approx === b.approx) return true;
  const unit = (a.approx ? a : b).unit;
  const diff = aValue.sub(bValue).abs();
  if (unit === null || diff.lt(unit.mul(scale))) return true;
  const exact = (a.approx ? bValue : aValue).abs();
  return exact.n !== 0n && diff.lte(exact.mul(FLOAT_NOISE));
}

/**
 * Compares two read numbers. A percent on one side only also matches its fraction
 * (`50%` = `0.5` = `50`): graders differ on which one a question wants, so both are accepted. A
 * decimal equals an exact number only when its digits are all right (`digitsRight`), whatever
 * the tolerances.
 */
export function numbersEqual(a: ReadNumber, b: ReadNumber, relTol?: number, absTol?: number): boolean {
  const approx = a.approx || b.approx;
  const one = new Fraction(1);
  if (fractionsClose(a.exact, b.exact, approx, relTol, absTol) && digitsRight(a, b, a.exact, b.exact, one))
    return true;
  if (a.percent !== b.percent) {
    const [p, q] = a.percent ? [a, b] : [b, a];
    const pValue = p.exact.div(100);
    const scale = p.approx ? new Fraction(1, 100) : one;
    return (
      fractionsClose(pValue, q.exact, approx, relTol, absTol) && digitsRight(p, q, pValue, q.exact, scale)
    );
  }
  return false;
}
