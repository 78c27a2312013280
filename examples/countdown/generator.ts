/**
 * Countdown tasks: `count` numbers in [1, max] and a target reached by combining some of them with
 * `+ - * /` (every step a positive integer), so every task is solvable. Each task is a pure function
 * of (seed, split, index): any worker computes the same one, and `start` skips ahead for free.
 */
import { keyedRng } from 'multigym';

/** A countdown task: JSON only. `solution` is one expression that reaches `target` (the demonstration). */
export interface CountdownTask {
  numbers: number[];
  target: number;
  solution: string;
}

/** Task `index` of (seed, split) with `count` numbers in [1, max]. */
export function countdownTask(
  seed: number,
  split: string,
  index: number,
  count: number,
  max: number,
): CountdownTask {
  const rand = keyedRng(['countdown', seed, split, index].join('\u0000'));
  const pick = (n: number) => Math.floor(rand() * n);
  const numbers = Array.from({ length: count }, () => 1 + pick(max));
  // Combine a shuffled copy left to right; keep each step a positive integer.
  const order = [...numbers];
  for (let k = order.length - 1; k > 0; k--) {
    const j = pick(k + 1);
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  let value = order[0]!;
  let solution = String(value);
  for (const n of order.slice(1)) {
    const ops = ['+', '*', ...(value > n ? ['-'] : []), ...(value % n === 0 ? ['/'] : [])];
    const op = ops[pick(ops.length)]!;
    value = op === '+' ? value + n : op === '-' ? value - n : op === '*' ? value * n : value / n;
    solution = `(${solution} ${op} ${n})`;
  }
  return { numbers, target: value, solution: solution.replace(/^\((.*)\)$/, '$1') };
}
