/**
 * The seeded arithmetic set of the comparison with TRL's `GRPOTrainer` (issue 22): 2–3-digit sums,
 * two-digit products and short word problems, each asking for "Answer: <number>". Written as math
 * environment JSONL records (`question`, `answer`); the reward is TRL's: 1 for the right number after
 * "Answer:" (`numeric` with only the `answer-is` rule, which also reads "the answer is N") plus
 * 0.1 × `regex` for the "Answer: <number>" format (so 1.1 = TRL's criterion exactly). Not `math-equivalence`: it evaluates expressions, so restating the question ("Answer:
 * 73 * 89") scores 1, and a 421-s run on one H200 learned exactly that (docs/BENCHMARKS.md); nor its
 * fallback to the last number, which TRL's reward does not have. (`final-answer` would not do either:
 * it scores tool-use tasks only and is not applicable to math records, so it silently adds nothing.)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { keyedRng, randInt } from '../../environments/random.js';
import { EnvSpec } from '../../workflows/config.js';

const WORD: ((r: () => number) => [string, number])[] = [
  (r) => {
    const [a, b] = [randInt(r, 3, 60), randInt(r, 2, 40)];
    return [`Tom has ${a} apples and buys ${b} more. How many apples does he have now?`, a + b];
  },
  (r) => {
    const [a, b] = [randInt(r, 20, 90), randInt(r, 2, 19)];
    return [`A shelf holds ${a} books. ${b} are taken away. How many books are left?`, a - b];
  },
  (r) => {
    const [a, b] = [randInt(r, 2, 12), randInt(r, 2, 12)];
    return [`There are ${a} boxes with ${b} pens in each box. How many pens are there in total?`, a * b];
  },
];

/** The problem at `index` of the seeded stream of `split`. */
export function arithmeticProblem(
  seed: number,
  split: string,
  index: number,
): { question: string; answer: string } {
  const r = keyedRng(`${seed}:arith:${split}:${index}`);
  const kind = r();
  let q: string;
  let a: number;
  if (kind < 0.4) {
    const [x, y] = [randInt(r, 10, 999), randInt(r, 10, 999)];
    [q, a] = [`What is ${x} + ${y}?`, x + y];
  } else if (kind < 0.75) {
    const [x, y] = [randInt(r, 10, 99), randInt(r, 10, 99)];
    [q, a] = [`What is ${x} * ${y}?`, x * y];
  } else {
    [q, a] = WORD[randInt(r, 0, WORD.length - 1)]!(r);
  }
  return { question: q, answer: String(a) };
}

/** Writes `arith.train.jsonl` (4,000 problems) and `arith.test.jsonl` (200) into `dir`. */
export function writeArithmeticSet(dir: string, seed: number): void {
  for (const [split, n] of [
    ['train', 4000],
    ['test', 200],
  ] as const) {
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify(arithmeticProblem(seed, split, i)));
    writeFileSync(resolve(dir, `arith.${split}.jsonl`), `${lines.join('\n')}\n`);
  }
}

/** The arithmetic task as a math-environment spec with TRL's settings (G = 8, 64 completions a step, 96 tokens). */
export const ARITHMETIC_ENV: EnvSpec = EnvSpec.parse({
  name: 'math',
  weight: 1,
  prompts_per_step: 8,
  group_size: 8,
  split: 'train',
  eval_split: 'test',
  sampling: { max_tokens: 96, temperature: 1, top_p: 1 },
  rewards: [
    { checker: 'numeric', weight: 1, config: { rules: ['answer-is'] } },
    { checker: 'regex', weight: 0.1, config: { pattern: 'Answer:\\s*-?[0-9][0-9,]*' } },
  ],
  config: {
    dataset: { path: 'tasks/arith.{split}.jsonl', format: 'jsonl', name: 'arith' },
    prompt: { template: 'chat', instruction: 'Give only the result, as "Answer: <number>".' },
  },
});
