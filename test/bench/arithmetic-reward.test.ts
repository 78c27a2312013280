import { describe, expect, it } from 'vitest';
import { ARITHMETIC_ENV, arithmeticProblem } from '../../bench/learning/arithmetic.js';
import '../../rewards/builtin/index.js';
import { getReward } from '../../rewards/registry.js';
import { runChecker } from '../../rewards/score.js';

/** The arithmetic environment's total reward of one completion (the weighted sum of its checkers). */
async function reward(completion: string, answer: string): Promise<number> {
  let total = 0;
  for (const r of ARITHMETIC_ENV.rewards!) {
    const out = await runChecker(
      getReward(r.checker),
      { completion, completionTokens: 10 },
      { id: 'arith/0', data: { answer } },
      r.config,
    );
    total += r.weight * (out.value ?? 0);
  }
  return Math.round(total * 1000) / 1000;
}

describe('the TRL-comparison arithmetic reward (bench/learning/arithmetic.ts)', () => {
  it('pays 1 for the right number after "Answer:" and 0.1 for the format, as TRL’s reward does', async () => {
    expect(await reward('Answer: 6497', '6497')).toBe(1.1);
    expect(await reward('73 * 89 = 6497.\nAnswer: 6,497', '6497')).toBe(1.1);
    expect(await reward('Answer: 6400', '6497')).toBe(0.1);
  });

  it('pays nothing for restating the question as an expression (the hack math-equivalence rewards)', async () => {
    expect(await reward('Answer: 73 * 89', '6497')).toBe(0.1);
    expect(await reward('Answer: 512 + 377', '889')).toBe(0.1);
    expect(await reward('Answer: 73 \\times 89', '6497')).toBe(0.1); // the format bonus only
  });

  it('pays nothing for a right number without "Answer:" (no last-number fallback)', async () => {
    expect(await reward('73 * 89 = 6497', '6497')).toBe(0);
  });

  it('is seeded: the same problem for the same seed, split and index', () => {
    expect(arithmeticProblem(0, 'test', 7)).toEqual(arithmeticProblem(0, 'test', 7));
    expect(arithmeticProblem(0, 'test', 7)).not.toEqual(arithmeticProblem(0, 'train', 7));
  });
});
