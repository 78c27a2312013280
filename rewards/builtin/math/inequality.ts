/**
 * One-variable inequalities as intervals, so `x > 5` compares with `(5, \infty)` and
 * `2 < x \le 12` with `(2, 12]`. Works on normalised answers (no spaces, `\leq` / `\le` / `<=`).
 * Unions written with "or" (`x<2orx>3`, from `x < 2 \text{ or } x > 3`) become `\cup` unions.
 */

const OP = String.raw`(<=|>=|<|>|\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|\\leqslant|\\geqslant)`;
const VAR = '([a-zA-Z])';
const DOUBLE = new RegExp(`^(.+?)${OP}${VAR}${OP}(.+)$`);
const LEFT = new RegExp(`^${VAR}${OP}(.+)$`);
const RIGHT = new RegExp(`^(.+?)${OP}${VAR}$`);

const isLess = (op: string) => op.startsWith('<') || op.startsWith('\\le');
const strict = (op: string) => op === '<' || op === '>';

function one(s: string): string | null {
  const d = DOUBLE.exec(s);
  if (d) {
    const [, lo, op1, , op2, hi] = d as unknown as string[];
    if (isLess(op1!) !== isLess(op2!)) return null;
    const [a, b, opA, opB] = isLess(op1!) ? [lo!, hi!, op1!, op2!] : [hi!, lo!, op2!, op1!];
    return `${strict(opA) ? '(' : '['}${a},${b}${strict(opB) ? ')' : ']'}`;
  }
  const l = LEFT.exec(s);
  if (l) {
    const [, , op, v] = l as unknown as string[];
    return isLess(op!)
      ? `(-\\infty,${v}${strict(op!) ? ')' : ']'}`
      : `${strict(op!) ? '(' : '['}${v},\\infty)`;
  }
  const r = RIGHT.exec(s);
  if (r) {
    const [, v, op] = r as unknown as string[];
    return isLess(op!)
      ? `${strict(op!) ? '(' : '['}${v},\\infty)`
      : `(-\\infty,${v}${strict(op!) ? ')' : ']'}`;
  }
  return null;
}

/** The interval (or union) a normalised inequality describes, or null when it is not one. */
export function inequalityToInterval(s: string): string | null {
  if (!/[<>]|\\[lg]eq?/.test(s)) return null;
  const parts = s.split(/or(?=[a-zA-Z\d(\\-])|\\vee/);
  const intervals = parts.map(one);
  return intervals.every((x) => x !== null) ? intervals.join('\\cup') : null;
}
