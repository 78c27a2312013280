/**
 * Symbolic equality of two normalised LaTeX expressions through `@cortex-js/compute-engine` 0.27.
 *
 * Pitfalls handled (see the shared NOTES): a failed parse is an `Error` expression and two of them
 * compare as equal, so both sides must parse cleanly; `isEqual` often answers "unknown", so the
 * comparison is numeric: constants by value, expressions with free variables at a few seeded random
 * points (the Schwartz–Zippel idea: distinct expressions rarely agree at random points).
 */
import { ComputeEngine } from '@cortex-js/compute-engine';
import { closeEnough } from './numbers.js';

/** A parsed expression (the package's `BoxedExpression`, whose type it does not export to NodeNext). */
type BoxedExpression = ReturnType<ComputeEngine['parse']>;

let engine: ComputeEngine | undefined;
let uses = 0;

/** Comparisons served by one engine before it is replaced (it declares every new symbol it meets). */
const ENGINE_LIFETIME = 5000;

/**
 * The shared engine: building one costs milliseconds, parsing with it microseconds. It is replaced
 * every ENGINE_LIFETIME comparisons so the symbols that model outputs declare do not pile up over a run.
 */
function ce(): ComputeEngine {
  if (!engine || ++uses > ENGINE_LIFETIME) {
    engine = new ComputeEngine();
    uses = 0;
  }
  return engine;
}

/** Longest LaTeX handed to the parser; longer answers are compared as strings only. */
export const MAX_SYMBOLIC_LENGTH = 400;

/** Largest literal factorial evaluated (`100000!` takes seconds of exact bignum arithmetic). */
const MAX_FACTORIAL = 1000;

/**
 * True when numeric evaluation could block for long: a factorial of a literal above MAX_FACTORIAL
 * or of a closed expression (`(10^5)!`). Evaluation is synchronous and cannot be interrupted, so
 * such answers are refused up front (a model gets no reward for writing them).
 */
export function tooCostly(json: unknown): boolean {
  if (!Array.isArray(json)) return false;
  const [head, ...args] = json as unknown[];
  if (head === 'Factorial' || head === 'Factorial2') {
    const arg = args[0];
    if (typeof arg === 'number') return arg > MAX_FACTORIAL;
    if (!JSON.stringify(arg).match(/"[a-zA-Z]"/)) return true;
  }
  return args.some(tooCostly);
}

/** Parses LaTeX; null when the parse has any error node or evaluating it could block (`tooCostly`). */
export function parseLatex(latex: string, engine: ComputeEngine = ce()): BoxedExpression | null {
  if (latex.length === 0 || latex.length > MAX_SYMBOLIC_LENGTH) return null;
  try {
    const expr = engine.parse(latex);
    return expr.isValid && !tooCostly(expr.json) ? expr : null;
  } catch {
    return null;
  }
}

/** A complex value (im 0 for reals); null when the expression has no numeric value. */
type Value = { re: number; im: number } | null;

/** The numeric value of a closed expression (complex answers such as `3-2i` included). */
function numericValue(expr: BoxedExpression): Value {
  let n: BoxedExpression;
  try {
    n = expr.N();
  } catch {
    return null; // e.g. a factorial of a non-integer: CE throws converting it to a BigInt
  }
  const re = n.re;
  const im = typeof n.im === 'number' ? n.im : 0;
  if (typeof re !== 'number' || Number.isNaN(re) || Number.isNaN(im)) return null;
  return { re, im };
}

/** Both parts within max(absTol, relTol·max(|a|, |b|)); infinities equal only themselves. */
function valuesClose(a: Value, b: Value, relTol: number, absTol: number): boolean {
  if (!a || !b) return false;
  if (a.im === 0 && b.im === 0) return closeEnough(a.re, b.re, relTol, absTol);
  const scale = Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
  const tol = Math.max(absTol, relTol * scale);
  return Math.abs(a.re - b.re) <= tol && Math.abs(a.im - b.im) <= tol;
}

/** Seeded points in [0.5, 2.5): positive, away from 0 and 1 where many identities degenerate. */
const POINTS = [
  [0.731, 1.618, 2.117, 0.913],
  [1.303, 0.577, 1.427, 2.291],
  [2.071, 1.137, 0.659, 1.763],
];

/** Outcome of a symbolic comparison; `unparsed` when either side is not valid LaTeX. */
export type SymbolicVerdict = 'equal' | 'different' | 'unparsed';

/**
 * Compares two LaTeX expressions. Closed expressions compare by value within `relTol`; with free
 * variables, both are evaluated at three seeded points per variable set and must agree at all of
 * them (and be defined at one at least).
 */
export function symbolicEqual(a: string, b: string, relTol: number, absTol: number): SymbolicVerdict {
  const current = ce(); // one engine for both sides: expressions of two engines do not mix
  const ea = parseLatex(a, current);
  const eb = parseLatex(b, current);
  if (!ea || !eb) return 'unparsed';
  try {
    return compareParsed(ea, eb, relTol, absTol);
  } catch {
    return 'unparsed'; // the engine threw on some construct: undecided, never a crash
  }
}

function compareParsed(
  ea: BoxedExpression,
  eb: BoxedExpression,
  relTol: number,
  absTol: number,
): SymbolicVerdict {
  if (ea.isSame(eb)) return 'equal';
  const vars = [...new Set([...ea.unknowns, ...eb.unknowns])].sort();
  if (vars.length === 0) {
    return valuesClose(numericValue(ea), numericValue(eb), relTol, absTol) ? 'equal' : 'different';
  }
  if (vars.length > 4) return 'different';
  let defined = 0;
  for (const point of POINTS) {
    const subs = Object.fromEntries(vars.map((v, i) => [v, ea.engine.number(point[i]!)]));
    const va = numericValue(ea.subs(subs));
    const vb = numericValue(eb.subs(subs));
    if (!va && !vb) continue;
    if (!valuesClose(va, vb, Math.max(relTol, 1e-9), absTol)) return 'different';
    defined++;
  }
  return defined > 0 ? 'equal' : 'different';
}
