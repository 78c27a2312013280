/** Every generated answer is checked by an independent computation from the question text. */
import { describe, expect, it } from 'vitest';
import { generateProblem, MAX_LEVEL } from '../../environments/math/generator.js';
import { isEquivalent } from '../../rewards/builtin/math/equivalence.js';

const N = 200;

/** Evaluates `a op b [op c]` with ×/÷ precedence, from the question text. */
function arithmetic(question: string): number {
  const expr = /^What is (.+)\?$/
    .exec(question)![1]!
    .replace(/\\times/g, '*')
    .replace(/\\div/g, '/');
  expect(expr).toMatch(/^[\d\s+\-*/]+$/);
  return Function(`return (${expr});`)() as number;
}

describe('problem generator', () => {
  it('level 1 is single-digit addition only', () => {
    for (let i = 0; i < N; i++) {
      const p = generateProblem(5, 'train', i, [1]);
      expect(p.question).toMatch(/^What is \d \+ \d\?$/);
      expect(Number(p.answer)).toBe(arithmetic(p.question));
    }
  });

  it('levels 2–4 answers equal the arithmetic of the question', () => {
    for (const level of [2, 3, 4]) {
      for (let i = 0; i < N; i++) {
        const p = generateProblem(5, 'train', i, [level]);
        expect(Number(p.answer), p.question).toBe(arithmetic(p.question));
        if (level === 2) expect(Number(p.answer)).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('level 6 fractions are reduced and right', () => {
    for (let i = 0; i < N; i++) {
      const p = generateProblem(5, 'train', i, [6]);
      const [a, b, op, c, d] = /\\frac\{(\d)\}\{(\d)\} ([+-]) \\frac\{(\d)\}\{(\d)\}/
        .exec(p.question)!
        .slice(1);
      const value = Number(a) / Number(b) + (op === '+' ? 1 : -1) * (Number(c) / Number(d));
      expect(
        isEquivalent(p.answer, String(value), { relTol: 1e-9 }).equal,
        `${p.question} → ${p.answer}`,
      ).toBe(true);
      const frac = /\\frac\{(\d+)\}\{(\d+)\}/.exec(p.answer);
      if (frac) {
        const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
        expect(gcd(Number(frac[1]), Number(frac[2]))).toBe(1);
      }
    }
  });

  it('level 7 roots solve the quadratic and are all listed', () => {
    for (let i = 0; i < N; i++) {
      const p = generateProblem(5, 'train', i, [7]);
      const poly = /\$(.+) = 0\$/.exec(p.question)![1]!;
      const f = (x: number) =>
        Function('x', `return ${poly.replace(/x\^2/, 'x*x').replace(/(\d)x/g, '$1*x')};`)(x) as number;
      const roots = p.answer.split(',').map(Number);
      for (const r of roots) expect(f(r), `${poly} at ${r}`).toBe(0);
      // A double root is listed once; otherwise two distinct roots.
      const disc = (() => {
        const m = /x\^2(?: ([+-]) (\d*)x)?(?: ([+-]) (\d+))?$/.exec(poly)!;
        const b = m[1] ? (m[1] === '-' ? -1 : 1) * Number(m[2] || 1) : 0;
        const c = m[3] ? (m[3] === '-' ? -1 : 1) * Number(m[4]) : 0;
        return b * b - 4 * c;
      })();
      expect(roots.length).toBe(disc === 0 ? 1 : 2);
    }
  });

  it('is deterministic per (seed, split, index) and rejects unknown levels', () => {
    expect(generateProblem(1, 'train', 9, [1, 2, 3])).toEqual(generateProblem(1, 'train', 9, [1, 2, 3]));
    expect(generateProblem(1, 'test', 9, [3])).not.toEqual(generateProblem(1, 'train', 9, [3]));
    expect(() => generateProblem(1, 'train', 0, [MAX_LEVEL + 1])).toThrow(RangeError);
  });
});
