/**
 * One-variable inequalities as intervals, so `x > 5` compares with `(5, \infty)`, `2 < x \le 12`
 * with `(2, 12]`, `7 \ge y` with `y \le 7` and `-y \le 3` with `y \ge -3`. Works on normalised
 * answers (no spaces, `\leq` / `\le` / `<=`). A side linear in the variable (`2y + 1 > 5`) is solved
 * through compute-engine (`linearIn`), the bound then a decimal. Unions written with "or"
 * (`x<2orx>3`, from `x < 2 \text{ or } x > 3`) become `\cup` unions.
 */
import { linearIn } from './symbolic.js';

const OP = String.raw`(<=|>=|<|>|\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|\\leqslant|\\geqslant)`;
const SPLIT = new RegExp(OP);

const isLess = (op: string) => op.startsWith('<') || op.startsWith('\\le');
const strict = (op: string) => op === '<' || op === '>';
/** The same relation read from the other side (`<` ↔ `>`). */
const flip = (op: string) => (isLess(op) ? (strict(op) ? '>' : '>=') : strict(op) ? '<' : '<=');

/** `-x` of a bound: `3` → `-3`, `-3` → `3`, `a+b` → `-(a+b)`. */
function negate(x: string): string {
  if (x.startsWith('-') && !/[-+]/.test(x.slice(1))) return x.slice(1);
  return /^[\w.\\{}^]+$/.test(x) ? `-${x}` : `-(${x})`;
}

/** `v op bound` as an interval. */
function ray(op: string, bound: string): string {
  return isLess(op)
    ? `(-\\infty,${bound}${strict(op) ? ')' : ']'}`
    : `${strict(op) ? '(' : '['}${bound},\\infty)`;
}

/** The one variable of an inequality (letters outside `\commands`), or null for none or several. */
function variableOf(s: string): string | null {
  const letters = new Set(s.replace(/\\[a-zA-Z]+/g, '').match(/[a-zA-Z]/g) ?? []);
  return letters.size === 1 ? [...letters][0]! : null;
}

const LETTER = /^[a-zA-Z]$/;
const NEGATED = /^-[a-zA-Z]$/;

function one(s: string): string | null {
  const parts = s.split(SPLIT).map((p) => p.trim());
  if (parts.some((p) => p === '')) return null;
  if (parts.length === 5) {
    let [lo, op1, mid, op2, hi] = parts as [string, string, string, string, string];
    if (NEGATED.test(mid)) [lo, op1, mid, op2, hi] = [negate(hi), op2, mid.slice(1), op1, negate(lo)];
    if (!LETTER.test(mid) || isLess(op1) !== isLess(op2)) return null;
    const [a, b, opA, opB] = isLess(op1) ? [lo, hi, op1, op2] : [hi, lo, op2, op1];
    return `${strict(opA) ? '(' : '['}${a},${b}${strict(opB) ? ')' : ']'}`;
  }
  if (parts.length !== 3) return null;
  const [left, op, right] = parts as [string, string, string];
  if (LETTER.test(left)) return ray(op, right);
  if (LETTER.test(right)) return ray(flip(op), left);
  if (NEGATED.test(left)) return ray(flip(op), negate(right));
  if (NEGATED.test(right)) return ray(op, negate(left));
  // a·v + b op 0: v op −b/a, the relation reversed when a < 0.
  const v = variableOf(s);
  const linear = v === null ? null : linearIn(`(${left})-(${right})`, v);
  if (!linear) return null;
  return ray(linear.a > 0 ? op : flip(op), String(-linear.b / linear.a));
}

/** The interval (or union) a normalised inequality describes, or null when it is not one. */
export function inequalityToInterval(s: string): string | null {
  if (!/[<>]|\\[lg]eq?/.test(s)) return null;
  const parts = s.split(/or(?=[a-zA-Z\d(\\-])|\\vee/);
  const intervals = parts.map(one);
  return intervals.every((x) => x !== null) ? intervals.join('\\cup') : null;
}
