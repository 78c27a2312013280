/**
 * Gold solutions used as completions must score 1 on every problem of GSM8K test and MATH-500
 * through the math environment's own parsing and default rewards. Misses are printed. Runs on the
 * whole sets when found (1,319 and 500 problems), else on the committed excerpts (64 and 40).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import { getEnvironment } from '../../environments/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { dataPath, fullDataOnly } from '../helpers/data.js';

const env = getEnvironment('math');

async function goldMisses(file: string, completionOf: (r: Record<string, string>) => string) {
  const lines = readFileSync(dataPath(file), 'utf8').trim().split('\n');
  const misses: string[] = [];
  for (const [i, line] of lines.entries()) {
    const record = JSON.parse(line) as Record<string, string>;
    const task = env.parseTask(record, i);
    const completion = completionOf(record);
    const out = await scoreTrajectory(env.rewards, { completion, completionTokens: 0 }, task);
    if (out.total !== 1) misses.push(`${file}#${i}: ${JSON.stringify(out.components[0]?.details)}`);
  }
  if (misses.length) console.log(`${misses.length} misses in ${file}:\n${misses.join('\n')}`);
  return misses.length;
}

describe('the whole sets are there', fullDataOnly('gsm8k', 'math500'), () => {
  it('GSM8K test has 1,319 problems and MATH-500 500', () => {
    const count = (file: string) => readFileSync(dataPath(file), 'utf8').trim().split('\n').length;
    expect(count('gsm8k/test.jsonl')).toBe(1319);
    expect(count('math500/test.jsonl')).toBe(500);
  });
});

describe('gold solutions score 1', () => {
  it('on every problem of GSM8K test (the worked answer with its "#### N" line)', async () => {
    expect(await goldMisses('gsm8k/test.jsonl', (r) => r.answer!)).toBe(0);
  });
  it('on every problem of GSM8K test written as "The answer is \\boxed{N}" with thousands commas', async () => {
    const misses = await goldMisses('gsm8k/test.jsonl', (r) => {
      const n = Number(r.answer!.split('####')[1]!.replace(/,/g, ''));
      return `So the total is ${n.toLocaleString('en-US')}. The answer is $\\boxed{${n.toLocaleString('en-US')}}$.`;
    });
    expect(misses).toBe(0);
  });
  it('on every problem of GSM8K test in the ways models phrase a final answer (one way per problem, rotating)', async () => {
    const ways = [
      (n: string) => `The answer is ${n}.`,
      (n: string) => `The answer is $${n}.`,
      (n: string) => `Answer: ${n} dollars`,
      (n: string) => `So she makes ${n} per day.`,
      (n: string) => `Therefore the final answer is $\\boxed{${n}}$. I hope it is correct.`,
      (n: string) => `**Final answer:** \\boxed{\\$${n}}`,
      (n: string) => `That gives ${n} eggs in total.\n#### ${n}`,
      (n: string) => `## Final Answer\n\n**${n}**`,
      (n: string) => `Final answer: The total she pays is ${n} dollars.`,
      (n: string) => `Adding these, we get $t = ${n}$.`,
    ];
    let k = 0;
    const misses = await goldMisses('gsm8k/test.jsonl', (r) => {
      const n = Number(r.answer!.split('####')[1]!.replace(/,/g, '')).toLocaleString('en-US');
      return ways[k++ % ways.length]!(n);
    });
    expect(misses).toBe(0);
  });
  it('on every problem of MATH-500 (the worked solution, scored against the separate answer field)', async () => {
    expect(await goldMisses('math500/test.jsonl', (r) => r.solution!)).toBe(0);
  });
});
