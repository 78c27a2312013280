/**
 * A safe arithmetic parser for countdown answers: integers, `+ - * /`, parentheses and unary minus,
 * nothing else (no names, no calls, no `eval`). Values are exact fractions (fraction.js), so
 * `(6 / 4) * 2` is exactly 3 and a division by zero is an error, not Infinity.
 *
 * Grammar (recursive descent):  expr := term (('+'|'-') term)* ;  term := factor (('*'|'/') factor)* ;
 * factor := '-' factor | '(' expr ')' | integer.
 */
import Fraction from 'fraction.js';

/** A parsed expression: its exact value and the integer literals it used, in order. */
export interface ParsedExpression {
  value: Fraction;
  numbers: number[];
}

/** Thrown for text that is not such an expression; the message says where. */
export class ExpressionError extends Error {
  readonly type = 'ExpressionError';
}

/** Longest accepted expression, characters: a bound on the parser's work per completion. */
export const MAX_EXPRESSION_LENGTH = 200;

/**
 * Parses and evaluates `text` (`×`/`÷` are read as `*`/`/`).
 * @throws ExpressionError for any other character, a malformed expression, a division by zero, or text longer than MAX_EXPRESSION_LENGTH.
 */
export function parseExpression(text: string): ParsedExpression {
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionError(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tokens =
    text
      .replaceAll('×', '*')
      .replaceAll('÷', '/')
      .match(/\d+|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const numbers: number[] = [];
  const peek = () => tokens[i];
  const expect = (t: string) => {
    if (tokens[i] !== t)
      throw new ExpressionError(`expected "${t}" at token ${i + 1}, found ${tokens[i] ?? 'the end'}`);
    i++;
  };
  const factor = (depth: number): Fraction => {
    if (depth > 50) throw new ExpressionError('nested too deeply');
    const t = peek();
    if (t === '-') {
      i++;
      return factor(depth + 1).neg();
    }
    if (t === '(') {
      i++;
      const v = expr(depth + 1);
      expect(')');
      return v;
    }
    if (t !== undefined && /^\d+$/.test(t)) {
      i++;
      numbers.push(Number(t));
      return new Fraction(t);
    }
    throw new ExpressionError(`unexpected ${t === undefined ? 'end' : `"${t}"`} at token ${i + 1}`);
  };
  const term = (depth: number): Fraction => {
    let v = factor(depth);
    while (peek() === '*' || peek() === '/') {
      const op = tokens[i++];
      const r = factor(depth);
      if (op === '/' && r.equals(0)) throw new ExpressionError('division by zero');
      v = op === '*' ? v.mul(r) : v.div(r);
    }
    return v;
  };
  const expr = (depth: number): Fraction => {
    let v = term(depth);
    while (peek() === '+' || peek() === '-') {
      const op = tokens[i++];
      const r = term(depth);
      v = op === '+' ? v.add(r) : v.sub(r);
    }
    return v;
  };
  if (!tokens.length) throw new ExpressionError('empty expression');
  const value = expr(0);
  if (i < tokens.length) throw new ExpressionError(`unexpected "${tokens[i]}" at token ${i + 1}`);
  return { value, numbers };
}

/** The first number of `used` that `available` (a multiset) does not hold, or undefined when all are allowed. */
export function firstUnavailable(used: number[], available: number[]): number | undefined {
  const left = [...available];
  for (const n of used) {
    const k = left.indexOf(n);
    if (k < 0) return n;
    left.splice(k, 1);
  }
  return undefined;
}
