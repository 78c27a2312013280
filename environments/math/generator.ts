/**
 * A generator of graded arithmetic and algebra problems: the CPU default and the raw material of
 * curricula. Level 1 is single-digit addition, easy enough for a model of about a million parameters
 * to learn on CPU; each level adds one idea.
 *
 * | level | problems | answer |
 * | --- | --- | --- |
 * | 1 | `a + b`, single digits | integer 0–18 |
 * | 2 | `a + b` or `a - b`, single digits, never negative | integer 0–18 |
 * | 3 | two-digit `a ± b` (may be negative) or single-digit `a × b` | integer |
 * | 4 | `a × b` (two by one digit), exact `a ÷ b`, or `a + b × c` (order of operations) | integer |
 * | 5 | linear equation `p x + q = r`, solve for x | integer |
 * | 6 | `\frac{a}{b} ± \frac{c}{d}` | reduced fraction (LaTeX) |
 * | 7 | quadratic `x^2 + b x + c = 0` with integer roots, give all roots | `r_1, r_2` (or one root) |
 *
 * A problem depends only on (seed, split, index), so task streams are reproducible and splits differ.
 */
import { keyedRng, randInt } from '../random.js';

/** Highest level the generator knows. */
export const MAX_LEVEL = 7;

/** One generated problem. `answer` is the reference final answer (plain text or LaTeX). */
export interface GeneratedProblem {
  level: number;
  question: string;
  answer: string;
}

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));

function fraction(num: number, den: number): string {
  const g = gcd(num, den) || 1;
  let n = num / g;
  let d = den / g;
  if (d < 0) [n, d] = [-n, -d];
  if (d === 1) return String(n);
  return n < 0 ? `-\\frac{${-n}}{${d}}` : `\\frac{${n}}{${d}}`;
}

const signed = (k: number, term: string): string => (k < 0 ? ` - ${-k}${term}` : ` + ${k}${term}`);

type Make = (r: () => number) => Omit<GeneratedProblem, 'level'>;

const LEVELS: Record<number, Make> = {
  1: (r) => {
    const [a, b] = [randInt(r, 0, 9), randInt(r, 0, 9)];
    return { question: `What is ${a} + ${b}?`, answer: String(a + b) };
  },
  2: (r) => {
    const [a, b] = [randInt(r, 0, 9), randInt(r, 0, 9)];
    if (r() < 0.5) return { question: `What is ${a} + ${b}?`, answer: String(a + b) };
    const [hi, lo] = a >= b ? [a, b] : [b, a];
    return { question: `What is ${hi} - ${lo}?`, answer: String(hi - lo) };
  },
  3: (r) => {
    const pick = r();
    if (pick < 0.35) {
      const [a, b] = [randInt(r, 10, 99), randInt(r, 10, 99)];
      return { question: `What is ${a} + ${b}?`, answer: String(a + b) };
    }
    if (pick < 0.7) {
      const [a, b] = [randInt(r, 10, 99), randInt(r, 10, 99)];
      return { question: `What is ${a} - ${b}?`, answer: String(a - b) };
    }
    const [a, b] = [randInt(r, 2, 9), randInt(r, 2, 9)];
    return { question: `What is ${a} \\times ${b}?`, answer: String(a * b) };
  },
  4: (r) => {
    const pick = r();
    if (pick < 0.34) {
      const [a, b] = [randInt(r, 11, 99), randInt(r, 2, 9)];
      return { question: `What is ${a} \\times ${b}?`, answer: String(a * b) };
    }
    if (pick < 0.67) {
      const [q, b] = [randInt(r, 2, 30), randInt(r, 2, 9)];
      return { question: `What is ${q * b} \\div ${b}?`, answer: String(q) };
    }
    const [a, b, c] = [randInt(r, 1, 20), randInt(r, 2, 9), randInt(r, 2, 9)];
    return { question: `What is ${a} + ${b} \\times ${c}?`, answer: String(a + b * c) };
  },
  5: (r) => {
    const [p, x, q] = [randInt(r, 2, 9) * (r() < 0.2 ? -1 : 1), randInt(r, -10, 10), randInt(r, -20, 20)];
    const rhs = p * x + q;
    const lhs = q === 0 ? `${p}x` : `${p}x${signed(q, '')}`;
    return { question: `Solve for $x$: $${lhs} = ${rhs}$.`, answer: String(x) };
  },
  6: (r) => {
    const [a, b, c, d] = [randInt(r, 1, 9), randInt(r, 2, 9), randInt(r, 1, 9), randInt(r, 2, 9)];
    const plus = r() < 0.5;
    const num = plus ? a * d + c * b : a * d - c * b;
    const op = plus ? '+' : '-';
    return {
      question: `Compute $\\frac{${a}}{${b}} ${op} \\frac{${c}}{${d}}$. Give the answer as a reduced fraction.`,
      answer: fraction(num, b * d),
    };
  },
  7: (r) => {
    const [r1, r2] = [randInt(r, -9, 9), randInt(r, -9, 9)];
    const [b, c] = [-(r1 + r2), r1 * r2];
    const poly = `x^2${b === 0 ? '' : signed(b, 'x')}${c === 0 ? '' : signed(c, '')}`.replace(/ 1x/g, ' x');
    const roots = r1 === r2 ? String(r1) : [r1, r2].sort((u, v) => u - v).join(', ');
    return {
      question: `Find all solutions of $${poly} = 0$. Separate multiple solutions with commas.`,
      answer: roots,
    };
  },
};

/**
 * The problem at `index` of the stream for (seed, split), at a level drawn uniformly from `levels`.
 * Throws `RangeError` for a level outside 1..MAX_LEVEL.
 */
export function generateProblem(
  seed: number,
  split: string,
  index: number,
  levels: readonly number[],
): GeneratedProblem {
  const r = keyedRng(`${seed}:${split}:${index}`);
  const level = levels[Math.floor(r() * levels.length)] ?? 1;
  const make = LEVELS[level];
  if (!make) throw new RangeError(`generator level ${level} is outside 1..${MAX_LEVEL}`);
  return { level, ...make(r) };
}
