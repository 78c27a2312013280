/**
 * Mathematical equivalence of a candidate answer and a reference answer.
 *
 * Steps, cheapest first; the first that decides is reported as `method`:
 * 1. `string`   — equal after normalisation (`normalize.ts`, which also reads mixed numbers, plain-text
 *                 math, separators and scale words written as words: `forms.ts`).
 * 2. `numeric`  — both plain numbers (thousands separators, signs, fractions, mixed numbers,
 *                 decimals, percentages), exact rationals: integers and fractions compare exactly,
 *                 decimals within `relTol` (`numbers.ts`).
 *    `unevaluated` — a plain number is matched only by a plain number in lowest terms: an
 *                 arithmetic expression (`73 \times 89`, `512+377`, `(73)(89)`, `2^{10}`, `\sqrt{4}`)
 *                 or an unreduced fraction (`12/4`, `\frac{2}{4}`) restates the question rather than
 *                 answering it, and a policy that copies the question must not be paid for it.
 * 3. `equation` — both equations (assignments kept: `y = 2x + 3`) equal up to a constant non-zero
 *                 factor (`2x - y = -3`); otherwise their sides compare pairwise (step 6).
 * 4. `interval` — intervals and unions (`[1,2)\cup(3,\infty)`): same brackets, equivalent endpoints;
 *                 one-variable inequalities (`x > 5`, `7 \ge y`, `-y \le 3`, `2 < x \le 12`, `x<2 or
 *                 x>3`) count as intervals (`inequality.ts`).
 * 5. `tuple` / `set` / `matrix` / `list` — element-wise: ordered for tuples and matrices, unordered for
 *                 sets; a bare comma list is unordered against a set or another list (solutions
 *                 `1, 2` = `2, 1`) and ordered against a tuple (`1, 2` ≠ `(2, 1)`).
 * 6. `equation` — `lhs = rhs` on both sides: sides compared pairwise.
 * 7. `text`     — word answers (`Monday`, `(C)`), case-insensitive, brackets ignored.
 * 8. `symbolic` — `@cortex-js/compute-engine` (see `symbolic.ts`): closed values (confirmed exactly for
 *                 arithmetic), or values at points drawn per comparison, negative ones included.
 * Nothing decided: `{ equal: false, method: 'none' }`. Past the time budget (checked before every
 * symbolic step, the costly ones): `{ equal: false, method: 'timeout' }`.
 */
import { inequalityToInterval } from './inequality.js';
import { splitTopLevel } from './latex.js';
import { normalizeAnswer } from './normalize.js';
import { DEFAULT_ABS_TOL, DEFAULT_REL_TOL, numbersEqual, readNumber } from './numbers.js';
import { equationsProportional, symbolicEqual } from './symbolic.js';

/** Which step decided. */
export type EquivalenceMethod =
  | 'string'
  | 'numeric'
  | 'interval'
  | 'tuple'
  | 'set'
  | 'matrix'
  | 'list'
  | 'equation'
  | 'text'
  | 'symbolic'
  | 'unevaluated'
  | 'timeout'
  | 'none';

/** Verdict of `isEquivalent`. */
export interface Equivalence {
  equal: boolean;
  method: EquivalenceMethod;
  /** Normalised candidate and reference, for logs. */
  candidate: string;
  reference: string;
}

/** Options of `isEquivalent`. */
export interface EquivalenceOptions {
  /** Relative tolerance of numeric comparisons; default 1e-6. */
  relTol?: number;
  /** Absolute tolerance (answers near 0); default 1e-9. */
  absTol?: number;
  /** Time budget in milliseconds; past it the comparison stops with method `timeout`. Default 500. */
  budgetMs?: number;
}

/** Longer answers are only compared as exact strings (normalisation regexes are not linear). */
export const MAX_ANSWER_CHARS = 2000;

/** Default time budget of one comparison, milliseconds. */
export const DEFAULT_EQUIVALENCE_BUDGET_MS = 500;

interface Limits {
  relTol: number;
  absTol: number;
  deadline: number;
}

class OutOfTime extends Error {}

type Structure = {
  kind: 'tuple' | 'set' | 'matrix' | 'list' | 'interval';
  items: string[];
  open?: string;
  close?: string;
  /** Of a list of assignments (`a=3,b=4`), each item's name (null for an unnamed item). */
  names?: (string | null)[];
};

/** True when the bracket at 0 closes exactly at the end of `s`. */
function wrapped(s: string, open: string, close: string): boolean {
  if (!s.startsWith(open) || !s.endsWith(close)) return false;
  const inner = s.slice(open.length, s.length - close.length);
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === '\\' && (inner[i + 1] === '{' || inner[i + 1] === '}')) {
      depth += inner[i + 1] === '{' ? 1 : -1;
      i++;
    } else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

function structure(s: string): Structure | null {
  const matrix = /^\\begin\{([pbvB]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$/.exec(s);
  if (matrix) {
    const rows = matrix[2]!.split('\\\\').filter((r) => r !== '');
    return { kind: 'matrix', items: rows.flatMap((r) => [...r.split('&'), ';']) };
  }
  if (wrapped(s, '\\{', '\\}'))
    return { kind: 'set', items: splitTopLevel(s.slice(2, -2), ',').flatMap(expandPm) };
  const first = s[0];
  const last = s[s.length - 1];
  if ((first === '(' || first === '[') && (last === ')' || last === ']')) {
    // Check the outer pair matches as a group by pretending both brackets are parentheses.
    const probe = `(${s.slice(1, -1)})`.replace(/\[/g, '(').replace(/\]/g, ')');
    if (wrapped(probe, '(', ')')) {
      const items = splitTopLevel(s.slice(1, -1), ',');
      if (items.length === 2 && (first !== '(' || last !== ')') && first + last !== '[]') {
        return { kind: 'interval', items, open: first, close: last };
      }
      if (items.length >= 2) return { kind: 'tuple', items, open: first, close: last };
    }
  }
  const parts = splitTopLevel(s, ',').flatMap(expandPm);
  const items = parts.map(dropAssignment);
  if (items.length >= 2 && items.every((x) => x !== ''))
    return { kind: 'list', items, names: parts.map((p) => ASSIGNED.exec(p)?.[1] ?? null) };
  return null;
}

/** An item `name=value` of a list: the name (`x`, `x_1`, `x_{12}`) and the value. */
const ASSIGNED = /^([a-zA-Z](?:_\{?\w+\}?)?)=([^=<>]+)$/;

/** `x=1` → `1` inside a list (`x=1,y=2` is the solution list `1, 2`); other items unchanged. */
const dropAssignment = (item: string): string => ASSIGNED.exec(item)?.[2] ?? item;

/** The names of a list that names every item, each once (`a=3,b=4`); else null (`x=3,x=4`, `3, 4`). */
const distinctNames = (x: Structure): string[] | null =>
  x.names?.every((n) => n !== null) && new Set(x.names).size === x.names.length
    ? (x.names as string[])
    : null;

/**
 * Pairs of items to compare when a list names each item once (issue 13: dropping the names made any
 * assignment of the values match, `a=3,b=4` for `a=4,b=3`): by name when both lists use the same
 * names (`b=4,a=3` for `a=3,b=4`), else in the order written (`3, 4` for `a=3,b=4`, not `4, 3`).
 * Null when neither list names its items distinctly (solutions in any order: `x=3,x=4`, `3, 4`).
 */
function namedPairs(sa: Structure, sb: Structure): [string, string][] | null {
  const [na, nb] = [distinctNames(sa), distinctNames(sb)];
  if (!na && !nb) return null;
  if (na && nb && na.every((n) => nb.includes(n)))
    return na.map((n, i) => [sa.items[i]!, sb.items[nb.indexOf(n)]!]);
  return sa.items.map((x, i) => [x, sb.items[i]!]);
}

/** Most `\\pm` signs expanded in one answer (2^3 = 8 variants); more are left as written. */
const MAX_PM_SIGNS = 3;

/** `1\\pm\\sqrt{2}` → [`1+\\sqrt{2}`, `1-\\sqrt{2}`] (also `\\mp`); other strings unchanged. */
export function expandPm(s: string): string[] {
  const m = /\\(pm|mp)(?![a-zA-Z])/.exec(s);
  if (!m) return [s];
  if ((s.match(/\\(?:pm|mp)(?![a-zA-Z])/g) ?? []).length > MAX_PM_SIGNS) return [s];
  const [first, second] = m[1] === 'pm' ? ['+', '-'] : ['-', '+'];
  const head = s.slice(0, m.index);
  const tail = s.slice(m.index + m[0].length);
  return [...expandPm(head + first + tail), ...expandPm(head + second + tail)];
}

function unionParts(s: string): string[] | null {
  const parts = splitTopLevel(s, '\\cup');
  return parts.length >= 2 ? parts : null;
}

const WORD = /^[a-zA-Z][a-zA-Z ]*$/;
function textOf(s: string): string | null {
  const t = s.replace(/^[([]|[)\]]$/g, '');
  return WORD.test(t) && (t.length > 1 || /^[([]/.test(s)) ? t.toLowerCase() : null;
}

/** Compares two answers; see the module comment. Never throws. */
export function isEquivalent(
  candidate: string,
  reference: string,
  opts: EquivalenceOptions = {},
): Equivalence {
  if (candidate.length > MAX_ANSWER_CHARS || reference.length > MAX_ANSWER_CHARS) {
    // No final answer is this long; comparing it exactly keeps the cost linear.
    const equal = candidate.trim() === reference.trim();
    return { equal, method: equal ? 'string' : 'none', candidate: '', reference: '' };
  }
  const a = normalizeAnswer(candidate);
  const b = normalizeAnswer(reference);
  const relTol = opts.relTol ?? DEFAULT_REL_TOL;
  const absTol = opts.absTol ?? DEFAULT_ABS_TOL;
  const verdict = (equal: boolean, method: EquivalenceMethod): Equivalence => ({
    equal,
    method,
    candidate: a,
    reference: b,
  });
  if (a === b) return verdict(true, 'string');

  const plain = plainNumberVerdict(a, b, relTol, absTol);
  if (plain) return verdict(...plain);
  const limits = {
    relTol,
    absTol,
    deadline: performance.now() + (opts.budgetMs ?? DEFAULT_EQUIVALENCE_BUDGET_MS),
  };
  try {
    if (equationsMatch(candidate, reference, limits)) return verdict(true, 'equation');
    return verdict(...compareNormalized(a, b, limits, 0));
  } catch (err) {
    if (err instanceof OutOfTime) return verdict(false, 'timeout');
    throw err;
  }
}

/**
 * The verdict when either answer (normalised) is a plain number, else null: a plain number equals only
 * a plain number, and a fraction in lowest terms only one in lowest terms (see `unevaluated` in the
 * module comment). The other side not a plain number is `unevaluated` when it holds a digit (an
 * expression of numbers), else `none`. Symmetric, like the rest of the comparison.
 */
function plainNumberVerdict(
  a: string,
  b: string,
  relTol: number,
  absTol: number,
): [boolean, EquivalenceMethod] | null {
  const na = readNumber(unwrap(a));
  const nb = readNumber(unwrap(b));
  if (!na && !nb) return null;
  // A repeating decimal (`0.\overline{3}`) is a number written another way: the symbolic step reads it.
  if (REPEATING.test(a) || REPEATING.test(b)) return null;
  if (!na || !nb) return [false, /\d/.test(na ? b : a) ? 'unevaluated' : 'none'];
  if (na.unreduced !== nb.unreduced) return [false, 'unevaluated'];
  return [numbersEqual(na, nb, relTol, absTol), 'numeric'];
}

const REPEATING = /^[-+]?\d*\.\d*\\overline\{\d+\}$/;

/** A number inside brackets or a `\boxed{}` is that number: `(5)`, `\boxed{5}`. */
function unwrap(s: string): string {
  let prev: string;
  let out = s;
  do {
    prev = out;
    out = out.replace(/^\((.*)\)$/, '$1').replace(/^\\boxed\{(.*)\}$/, '$1');
  } while (out !== prev);
  return out;
}

/** An equation's two sides (one top-level `=`, no `<=` / `>=`), or null. */
function equationSides(normalized: string): [string, string] | null {
  if (/[<>!]=/.test(normalized)) return null;
  const sides = splitTopLevel(normalized, '=');
  return sides.length === 2 && sides[0] !== '' && sides[1] !== '' ? [sides[0]!, sides[1]!] : null;
}

/**
 * Both answers are equations (assignments kept: `y = 2x + 3`) that are the same up to a non-zero
 * factor (`2x - y = -3`). Failing that, the usual comparison runs on the assignments' values.
 */
function equationsMatch(candidate: string, reference: string, limits: Limits): boolean {
  if (!candidate.includes('=') || !reference.includes('=')) return false;
  const ea = equationSides(normalizeAnswer(candidate, { keepAssignment: true }));
  const eb = equationSides(normalizeAnswer(reference, { keepAssignment: true }));
  if (!ea || !eb) return false;
  if (performance.now() >= limits.deadline) throw new OutOfTime();
  return equationsProportional(ea, eb, limits.relTol) === 'equal';
}

function compareNormalized(
  a: string,
  b: string,
  limits: Limits,
  depth: number,
): [boolean, EquivalenceMethod] {
  const { relTol, absTol } = limits;
  if (a === b) return [true, 'string'];
  const plain = plainNumberVerdict(a, b, relTol, absTol);
  if (plain) return plain;
  if (depth > 4) return [false, 'none'];
  const same = (x: string, y: string) => compareNormalized(x, y, limits, depth + 1)[0];

  if (depth === 0) {
    const ia = inequalityToInterval(a);
    const ib = inequalityToInterval(b);
    if (ia !== null || ib !== null)
      return [compareNormalized(ia ?? a, ib ?? b, limits, depth + 1)[0], 'interval'];
  }
  const ua = unionParts(a);
  const ub = unionParts(b);
  if (ua || ub) {
    if (!ua || !ub || ua.length !== ub.length) return [false, 'interval'];
    return [matchUnordered(ua, ub, same), 'interval'];
  }

  const sa = structure(a);
  const sb = structure(b);
  if (sa || sb) {
    if (!sa || !sb) return [false, (sa ?? sb)!.kind];
    // A bare list compares with a set or tuple by its elements (graders accept "1, 2" for "\{1, 2\}"):
    // in order against a tuple (an ordered pair stays ordered), in any order against a set or another
    // list (the solutions of an equation, written in any order).
    const kinds = new Set([sa.kind, sb.kind]);
    const ordered = !kinds.has('set') && !(sa.kind === 'list' && sb.kind === 'list');
    if (sa.items.length !== sb.items.length) return [false, sa.kind];
    // Brackets matter for intervals and for `[a, b]` (closed interval) against `(a, b)` (open / point).
    const bracketed = sa.open !== undefined && sb.open !== undefined;
    if (bracketed && (sa.open !== sb.open || sa.close !== sb.close)) return [false, sa.kind];
    if (kinds.size > 1 && !kinds.has('list')) return [false, sa.kind];
    // A named list against another list or a set: the names decide (a set does not escape them).
    const pairs = [...kinds].every((k) => k === 'list' || k === 'set') ? namedPairs(sa, sb) : null;
    if (pairs) return [pairs.every(([x, y]) => same(x, y)), 'list'];
    const equal = ordered
      ? sa.items.every((x, i) => same(x, sb.items[i]!))
      : matchUnordered(sa.items, sb.items, same);
    return [equal, sa.kind === 'list' ? sb.kind : sa.kind];
  }

  const ea = splitTopLevel(a, '=');
  const eb = splitTopLevel(b, '=');
  if (ea.length === 2 && eb.length === 2) {
    const equal =
      (same(ea[0]!, eb[0]!) && same(ea[1]!, eb[1]!)) || (same(ea[0]!, eb[1]!) && same(ea[1]!, eb[0]!));
    return [equal, 'equation'];
  }

  const ta = textOf(a);
  const tb = textOf(b);
  if (ta !== null || tb !== null) {
    if (ta !== null && tb !== null) return [ta === tb, 'text'];
  }

  if (performance.now() >= limits.deadline) throw new OutOfTime();
  const sym = symbolicEqual(a, b, relTol, absTol);
  if (sym === 'unparsed') return [false, 'none'];
  return [sym === 'equal', 'symbolic'];
}

/** Greedy one-to-one matching (lists are short: a handful of elements). */
function matchUnordered(xs: string[], ys: string[], same: (x: string, y: string) => boolean): boolean {
  const used = new Array<boolean>(ys.length).fill(false);
  return xs.every((x) => {
    const j = ys.findIndex((y, k) => !used[k] && same(x, y));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}
