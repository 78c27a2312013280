/**
 * Exact rational value of a closed arithmetic expression, from compute-engine's non-canonical
 * MathJSON. compute-engine 0.27 rounds in canonicalisation and chops values below 1e-10 to 0
 * (`\frac{1}{3^{40}}` parses as 0, `2^{100}+1` evaluates like `2^{100}`), so its "equal" between two
 * closed answers is confirmed here with fraction.js (BigInt) whenever both are plain arithmetic:
 * numbers, + − × ÷, integer (or exact rational) powers, square roots of perfect squares, factorials.
 */
import Fraction from 'fraction.js';

/** An exact value and whether a decimal literal (a rounded number) took part. */
export interface ExactValue {
  value: Fraction;
  approx: boolean;
}

/** Largest |integer exponent| evaluated exactly, and most bits of a power's result. */
const MAX_EXPONENT = 4096;
const MAX_BITS = 20_000;
/** Largest n for which n! is evaluated exactly. */
const MAX_FACTORIAL = 1000;

class NotExact extends Error {}

function literal(x: number | string): ExactValue {
  const text = typeof x === 'number' ? String(x) : x;
  const m = /^(-?)(\d+(?:\.\d+)?)(?:e([-+]?\d+))?$/.exec(text);
  if (!m) throw new NotExact();
  const exponent = Number(m[3] ?? 0);
  if (Math.abs(exponent) > MAX_EXPONENT) throw new NotExact();
  const scale = new Fraction(10n ** BigInt(Math.abs(exponent)));
  let value = new Fraction(m[2]!);
  value = exponent >= 0 ? value.mul(scale) : value.div(scale);
  return { value: m[1] ? value.neg() : value, approx: m[2]!.includes('.') || exponent < 0 };
}

const bits = (x: bigint) => x.toString(16).length * 4;

function power(base: Fraction, exponent: Fraction): Fraction {
  if (exponent.d === 1n) {
    const e = Number(exponent.n);
    const size = Math.max(bits(base.n), bits(base.d)) * e;
    if (e > MAX_EXPONENT || size > MAX_BITS) throw new NotExact();
    if (base.n === 0n && (exponent.s < 0n || exponent.n === 0n)) throw new NotExact(); // 0^0, 0 to a negative power
  }
  const result = base.pow(exponent); // null when irrational (2^{1/2})
  if (result === null) throw new NotExact();
  return result;
}

function factorial(n: Fraction): Fraction {
  if (n.d !== 1n || n.s < 0n || n.n > BigInt(MAX_FACTORIAL)) throw new NotExact();
  let f = 1n;
  for (let k = 2n; k <= n.n; k++) f *= k;
  return new Fraction(f);
}

function evaluate(json: unknown): ExactValue {
  if (typeof json === 'number') {
    if (!Number.isFinite(json)) throw new NotExact();
    return literal(json);
  }
  if (json && typeof json === 'object' && !Array.isArray(json) && 'num' in json) {
    return literal(String((json as { num: unknown }).num).replace(/n$/, ''));
  }
  if (!Array.isArray(json)) throw new NotExact();
  const [head, ...args] = json as unknown[];
  const vals = args.map(evaluate);
  const approx = vals.some((v) => v.approx);
  const v = (i: number) => vals[i]!.value;
  const one = (value: Fraction) => ({ value, approx });
  switch (head) {
    case 'Delimiter':
      if (vals.length !== 1) break;
      return vals[0]!;
    case 'Add':
      return one(vals.reduce((acc, x) => acc.add(x.value), new Fraction(0)));
    case 'Subtract':
      if (vals.length !== 2) break;
      return one(v(0).sub(v(1)));
    case 'Negate':
      if (vals.length !== 1) break;
      return one(v(0).neg());
    case 'Multiply':
      return one(vals.reduce((acc, x) => acc.mul(x.value), new Fraction(1)));
    case 'Divide':
    case 'Rational':
      if (vals.length !== 2 || v(1).n === 0n) break;
      return one(v(0).div(v(1)));
    case 'Power':
      if (vals.length !== 2) break;
      return one(power(v(0), v(1)));
    case 'Sqrt':
      if (vals.length !== 1 || v(0).s < 0n) break;
      return one(power(v(0), new Fraction(1, 2)));
    case 'Factorial':
      if (vals.length !== 1) break;
      return one(factorial(v(0)));
  }
  throw new NotExact();
}

/** The exact value of a non-canonical MathJSON expression, or null when it is not plain arithmetic. */
export function exactValue(json: unknown): ExactValue | null {
  try {
    return evaluate(json);
  } catch {
    return null; // NotExact, or fraction.js refusing (division by zero)
  }
}
