/**
 * The countdown example plugin (examples/countdown): its safe expression parser, its seeded
 * generator (every task solvable by its own solution), its checker, and its example run config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunConfig } from '../../cli/commands/run.js';
import checker from '../../examples/countdown/checker.js';
import { firstUnavailable, parseExpression } from '../../examples/countdown/expression.js';
import { countdownTask } from '../../examples/countdown/generator.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

const score = async (completion: string, data: { numbers: number[]; target: number }) =>
  checker.score({ completion, completionTokens: 1 }, { id: 't', data }, {});

describe('countdown expression parser', () => {
  it('evaluates + - * / and parentheses exactly', () => {
    expect(parseExpression('(6 / 4) * 2').value.valueOf()).toBe(3);
    expect(parseExpression('2 + 3 * 4').value.valueOf()).toBe(14);
    expect(parseExpression('-(2 - 5) × 3 ÷ 9').value.valueOf()).toBe(1);
    expect(parseExpression('10 - 2 - 3').numbers).toEqual([10, 2, 3]);
  });

  it('refuses everything else, naming where', () => {
    expect(() => parseExpression('process.exit(1)')).toThrow('unexpected "p" at token 1');
    expect(() => parseExpression('2 ** 3')).toThrow('unexpected "*" at token 3');
    expect(() => parseExpression('4 / (2 - 2)')).toThrow('division by zero');
    expect(() => parseExpression('(1 + 2')).toThrow('expected ")" at token 5, found the end');
    expect(() => parseExpression('1 + '.repeat(60))).toThrow('longer than 200 characters');
    expect(() => parseExpression(`${'('.repeat(60)}1${')'.repeat(60)}`)).toThrow('nested too deeply');
  });

  it('counts each given number once', () => {
    expect(firstUnavailable([3, 3], [3, 4])).toBe(3);
    expect(firstUnavailable([3, 4], [4, 3, 9])).toBeUndefined();
  });
});

describe('countdown tasks and checker', () => {
  it('tasks are a function of (seed, split, index), and each own solution scores 1', async () => {
    expect(countdownTask(1, 'train', 7, 4, 25)).toEqual(countdownTask(1, 'train', 7, 4, 25));
    expect(countdownTask(1, 'train', 7, 4, 25)).not.toEqual(countdownTask(1, 'test', 7, 4, 25));
    for (let i = 0; i < 50; i++) {
      const t = countdownTask(3, 'train', i, 4, 25);
      expect(t.numbers).toHaveLength(4);
      expect(Number.isInteger(t.target) && t.target > 0).toBe(true);
      expect((await score(`Working...\nAnswer: ${t.solution}`, t)).value, `${i}: ${t.solution}`).toBe(1);
    }
  });

  it('scores 0 with the reason: wrong value, a number not given or reused, no answer, not arithmetic', async () => {
    const t = { numbers: [2, 3, 7], target: 13 };
    expect(await score('Answer: 2 * 3 + 7', t)).toEqual({ value: 1, details: { answer: '2 * 3 + 7' } });
    expect((await score('Answer: 2 * 3 * 7', t)).details).toMatchObject({
      reason: 'evaluates to 42, not 13',
    });
    expect((await score('Answer: 13', t)).details).toMatchObject({
      reason: 'uses 13, which is not among the numbers left',
    });
    expect((await score('Answer: 7 + 3 + 3', t)).details).toMatchObject({
      reason: 'uses 3, which is not among the numbers left',
    });
    expect((await score('thirteen', t)).details).toEqual({ reason: 'no "Answer: <expression>" line' });
    expect((await score('Answer: Math.max(13)', t)).details).toMatchObject({
      reason: 'not an arithmetic expression: unexpected "M" at token 1',
    });
  });

  it('the example run config loads the plugin by a path relative to itself', () => {
    const config = readRunConfig(join(repoRoot, 'examples/countdown/run.json'));
    expect(config.plugins).toEqual([join(repoRoot, 'examples/countdown')]);
    expect(config.environments.map((e) => e.name)).toEqual(['countdown', 'math']);
  });

  it('multigym score --plugin scores completions with its checker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multigym-countdown-score-'));
    const input = join(dir, 'in.jsonl');
    const task = { numbers: [2, 3, 7], target: 13 };
    writeFileSync(
      input,
      `${JSON.stringify({ task, completion: 'Answer: 2 * 3 + 7' })}\n${JSON.stringify({ task, completion: 'Answer: 2 + 3 + 7' })}\n`,
    );
    const r = await runCli(
      ['score', '--env', 'countdown', '--plugin', 'examples/countdown', '--input', input],
      {
        env: { MULTIGYM_PLUGINS: '' },
      },
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/"reward":1,.*"countdown-expression":1/);
    expect(r.output).toMatch(/"reward":0,.*"evaluates to 12, not 13"/);
  });
});
