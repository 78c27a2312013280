/**
 * Symbolic equality of two normalised LaTeX expressions through `@cortex-js/compute-engine` 0.27.
 *
 * Pitfalls handled (see the shared NOTES): a failed parse is an `Error` expression and two of them
 * compare as equal, so both sides must parse cleanly; `isEqual` often answers "unknown", so the
 * comparison is numeric. Closed expressions compare by value (confirmed exactly by `exact.ts` when
 * compute-engine calls them equal: it rounds and chops values below 1e-10). Expressions with free
 * variables are evaluated at points drawn for each comparison (`points.ts`) over a domain with
 * negative values (the Schwartz–Zippel idea: distinct expressions rarely agree at random points).
 */
import { ComputeEngine } from '@cortex-js/compute-engine';
import { exactValue } from './exact.js';
import { fractionsClose } from './numbers.js';
import { type Value, type Verdict, valuesAgree, valuesClose } from './points.js';

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

/**
 * The numeric value of an expression (complex answers such as `3-2i` included), or null. The
 * unchopped decimal (`bignumRe`) is preferred to `re`, which compute-engine rounds to 0 below 1e-10.
 */
function numericValue(expr: BoxedExpression): Value {
  let n: BoxedExpression;
  try {
    n = expr.N();
  } catch {
    return null; // e.g. a factorial of a non-integer: CE throws converting it to a BigInt
  }
  const big = n.bignumRe;
  const re = big !== undefined ? Number(big.toString()) : n.re;
  const im = typeof n.im === 'number' ? n.im : 0;
  if (typeof re !== 'number' || Number.isNaN(re) || Number.isNaN(im)) return null;
  return { re, im };
}

/** Outcome of a symbolic comparison; `unparsed` when either side is not valid LaTeX. */
export type SymbolicVerdict = 'equal' | 'different' | 'unparsed';

/** Relative tolerance between two expressions written exactly (no decimal point): evaluation noise only. */
export const EXACT_FORMS_REL_TOL = 1e-9;

/** A decimal point between digits or before one (`0.5x`, `.5`): the expression holds a rounded value. */
const hasDecimal = (s: string) => /\d\.\d|(?<![\d.])\.\d/.test(s);

/**
 * Compares two LaTeX expressions. Closed expressions compare by value (exactly when both are integer
 * arithmetic); with free variables, both are evaluated at the points of `valuesAgree` and must agree
 * at every point where either is defined. The tolerance is `relTol` only when a side writes a decimal
 * (a rounded value); two exact forms agree within evaluation noise only (`EXACT_FORMS_REL_TOL`), so an
 * approximation — a truncated series for `e^x`, `\frac{355}{113}x` for `\pi x`, `\pi + 10^{-7}` — is
 * not the function or number it approximates (issue 13).
 */
export function symbolicEqual(a: string, b: string, givenRelTol: number, absTol: number): SymbolicVerdict {
  const relTol = hasDecimal(a) || hasDecimal(b) ? givenRelTol : Math.min(givenRelTol, EXACT_FORMS_REL_TOL);
  const current = ce(); // one engine for both sides: expressions of two engines do not mix
  const ea = parseLatex(a, current);
  const eb = parseLatex(b, current);
  if (!ea || !eb) return 'unparsed';
  // An undefined value (`\frac{1}{0}` canonicalises to NaN) equals nothing, itself included.
  if (ea.json === 'NaN' || eb.json === 'NaN') return 'different';
  try {
    const vars = [...new Set([...ea.unknowns, ...eb.unknowns])].sort();
    if (vars.length === 0) return compareClosed(a, b, ea, eb, relTol, absTol);
    if (ea.isSame(eb)) return 'equal';
    const seed = [a, b].sort().join('|');
    return verdictOf(valuesAgree(seed, vars, (p) => [evaluateAt(ea, p), evaluateAt(eb, p)], relTol, absTol));
  } catch {
    return 'unparsed'; // the engine threw on some construct: undecided, never a crash
  }
}

const verdictOf = (v: Verdict): SymbolicVerdict => (v === 'agree' ? 'equal' : 'different');

function compareClosed(
  a: string,
  b: string,
  ea: BoxedExpression,
  eb: BoxedExpression,
  relTol: number,
  absTol: number,
): SymbolicVerdict {
  const equal = ea.isSame(eb) || valuesClose(numericValue(ea), numericValue(eb), relTol, absTol);
  if (!equal) return 'different';
  // compute-engine's "equal" may come from rounding: confirm exactly when both are arithmetic.
  const xa = exactValue(ea.engine.parse(a, { canonical: false }).json);
  const xb = exactValue(eb.engine.parse(b, { canonical: false }).json);
  if (!xa || !xb) return 'equal';
  return fractionsClose(xa.value, xb.value, xa.approx || xb.approx, relTol, absTol) ? 'equal' : 'different';
}

/**
 * Whether two equations `la = ra` and `lb = rb` are the same up to a constant non-zero factor:
 * (la − ra) = k·(lb − rb) at every sampled point (`y = 2x + 3` and `2x - y = -3`, k = −1). This is
 * sufficient for the same solution set, not necessary (`x = 2` vs `x^3 = 8` stay unequal).
 */
export function equationsProportional(
  [la, ra]: [string, string],
  [lb, rb]: [string, string],
  relTol: number,
): SymbolicVerdict {
  const current = ce();
  const fa = parseLatex(`(${la})-(${ra})`, current);
  const fb = parseLatex(`(${lb})-(${rb})`, current);
  if (!fa || !fb) return 'unparsed';
  try {
    const vars = [...new Set([...fa.unknowns, ...fb.unknowns])].sort();
    if (vars.length === 0) return 'different';
    let ratio: Value = null;
    const seed = [`${la}=${ra}`, `${lb}=${rb}`].sort().join('|');
    const verdict = valuesAgree(
      seed,
      vars,
      (p): [Value, Value] => {
        const [va, vb] = [evaluateAt(fa, p), evaluateAt(fb, p)];
        if (!va || !vb) return [va, vb];
        if (isZero(va) && isZero(vb)) return [null, null]; // a common root: says nothing
        const q = divide(va, vb);
        if (!q) return [null, ONE]; // zero on one side only: not proportional
        ratio ??= q;
        return [q, ratio];
      },
      relTol,
      0,
    );
    return verdictOf(verdict);
  } catch {
    return 'unparsed';
  }
}

const ONE = { re: 1, im: 0 };
const isZero = (v: NonNullable<Value>) => v.re === 0 && v.im === 0;

/** a / b for complex values; null when b is 0 or a is 0 (a zero ratio is no proportionality). */
function divide(a: NonNullable<Value>, b: NonNullable<Value>): Value {
  const d = b.re * b.re + b.im * b.im;
  if (d === 0 || (a.re === 0 && a.im === 0)) return null;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
}

/**
 * `expr` as `a·v + b` for its only variable `v`, from values at v = 0, 1, 2 (and linearity checked at
 * a fourth point); null when it is not linear with real coefficients and a ≠ 0.
 */
export function linearIn(latex: string, v: string): { a: number; b: number } | null {
  const expr = parseLatex(latex);
  if (!expr || expr.unknowns.some((u: string) => u !== v)) return null;
  try {
    const at = (x: number) => numericValue(expr.subs({ [v]: expr.engine.number(x) }));
    const [f0, f1, f3] = [at(0), at(1), at(3.7)];
    if (!f0 || !f1 || !f3 || f0.im !== 0 || f1.im !== 0 || f3.im !== 0) return null;
    const a = f1.re - f0.re;
    const b = f0.re;
    const predicted = a * 3.7 + b;
    if (a === 0 || Math.abs(predicted - f3.re) > 1e-9 * Math.max(1, Math.abs(predicted))) return null;
    return { a, b };
  } catch {
    return null;
  }
}

/** Evaluates a parsed expression with the given variable values. */
export function evaluateAt(expr: BoxedExpression, values: Record<string, number>): Value {
  const subs = Object.fromEntries(Object.entries(values).map(([k, x]) => [k, expr.engine.number(x)]));
  return numericValue(expr.subs(subs));
}
