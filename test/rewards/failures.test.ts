/**
 * A checker failure is never a reward (issue 13 §5): every way a checker can fail comes back as a
 * status (`checker_error` or `infra_error`) with the reason, never as a value; a synchronous checker
 * past its budget is stopped (it runs in the checker pool); user regular expressions run on RE2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../../rewards/builtin/index.js';
import { runScore, scoreSummaryText } from '../../cli/commands/score.js';
import { defineEnvironment } from '../../environments/api.js';
import { loadPlugin, registerEnvironment } from '../../environments/registry.js';
import { defineReward, type ScoredTask, type ScoredTrajectory } from '../../rewards/api.js';
import { closeCheckerPool } from '../../rewards/pool/pool.js';
import { getReward } from '../../rewards/registry.js';
import { runChecker, scoreTrajectory } from '../../rewards/score.js';
import { repoRoot } from '../helpers/paths.js';

// A thread that allocates without bound is stopped at this heap size (read when the pool starts).
process.env.MULTIGYM_CHECKER_HEAP_MB = '256';

const traj = (completion: string): ScoredTrajectory => ({ completion, completionTokens: 1 });
const task = (data: Record<string, unknown> = {}): ScoredTask => ({ id: 't/0', data });
const run = (name: string, completion = 'x', config: unknown = {}, timeoutMs = 1000, data = {}) =>
  runChecker(getReward(name), traj(completion), task(data), config, timeoutMs);

beforeAll(async () => {
  await loadPlugin('./test/fixtures/faulty-checkers.ts', repoRoot);
});
afterAll(async () => {
  await closeCheckerPool();
});

describe('checker failures', () => {
  it('a CPU-looping plugin checker is stopped at its budget and reported as a timeout, not 0', async () => {
    const started = Date.now();
    const out = await run('test-spin', 'x', {}, 300);
    expect(out).toEqual({
      status: 'checker_error',
      kind: 'timeout',
      message: '300 ms budget exceeded (stopped)',
    });
    // Stopped, not waited for: well under the 60 s start-up grace the pool also allows.
    expect(Date.now() - started).toBeLessThan(30_000);
    // The pool replaced the terminated thread and keeps scoring.
    expect(await run('exact-match', 'The answer is 42', {}, 5000, { answer: '42' })).toMatchObject({
      status: 'ok',
      value: 1,
    });
  });

  it('an exception, a non-finite value, process.exit and a heap blow-up are checker errors', async () => {
    expect(await run('test-throw')).toEqual({
      status: 'checker_error',
      kind: 'exception',
      message: 'cannot read the answer',
      errorType: 'TypeError',
    });
    expect(await run('test-nan')).toMatchObject({ status: 'checker_error', kind: 'non_finite' });
    expect(await run('test-exit')).toMatchObject({ status: 'checker_error', kind: 'exception' });
    expect(await run('test-alloc', 'x', {}, 60_000)).toMatchObject({
      status: 'checker_error',
      kind: 'memory',
    });
  });

  it('an infrastructure error is infra_error, not a checker error and not a value', async () => {
    expect(await run('test-infra')).toEqual({
      status: 'infra_error',
      kind: 'infra',
      message: 'reward server unreachable',
      errorType: 'RewardInfraError',
    });
  });

  it('a config the checker rejects is a checker error naming the field', async () => {
    const out = await run('regex', 'x', { pattern: 'a', maxChars: -1 });
    expect(out).toMatchObject({ status: 'checker_error', kind: 'invalid_config' });
    expect((out as { message: string }).message).toMatch(/^maxChars: /);
  });

  it('not applicable stays distinct from an error', async () => {
    expect(await run('exact-match', 'The answer is 42')).toMatchObject({
      status: 'not_applicable',
      value: 0,
      details: { applicable: false },
    });
  });

  it('a checker defined in code runs in the caller: its time-out is reported, not stopped', async () => {
    const slow = defineReward({
      name: 'test-slow-inline',
      description: 'never answers in time',
      configSchema: z.object({}),
      score: () => new Promise((resolve) => setTimeout(() => resolve({ value: 1 }), 5_000)),
    });
    expect(await runChecker(slow, traj('x'), task(), {}, 20)).toEqual({
      status: 'checker_error',
      kind: 'timeout',
      message: '20 ms budget exceeded (not stopped: it runs in the calling thread)',
    });
  });

  it('scoreTrajectory gives no total when a component failed, and names it; infra errors win', async () => {
    const specs = [
      { checker: 'exact-match', weight: 1 },
      { checker: 'test-throw', weight: 1 },
    ];
    const out = await scoreTrajectory(specs, traj('The answer is 42'), task({ answer: '42' }));
    expect(out.status).toBe('checker_error');
    expect(out.total).toBeNull();
    expect(out.error).toBe('test-throw: TypeError: cannot read the answer');
    expect(out.components.map((c) => [c.name, c.status, c.value])).toEqual([
      ['exact-match', 'ok', 1],
      ['test-throw', 'checker_error', null],
    ]);
    const both = await scoreTrajectory(
      [...specs, { checker: 'test-infra', weight: 1 }],
      traj('The answer is 42'),
      task({ answer: '42' }),
    );
    expect(both.status).toBe('infra_error');
    expect(both.error).toMatch(/test-infra: RewardInfraError: reward server unreachable/);
  });

  it('a transient infrastructure failure succeeds when scored again', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'mg-flaky-')), 'marker');
    const first = await run('test-flaky-infra', 'x', { marker });
    expect(first).toMatchObject({ status: 'infra_error' });
    expect(await run('test-flaky-infra', 'x', { marker })).toMatchObject({
      status: 'ok',
      value: 1,
    });
  });
});

describe('multigym score', () => {
  it('gives a line whose checker failed no reward, with its status and error, and counts it', async () => {
    registerEnvironment(
      defineEnvironment({
        name: 'faulty-words',
        description: 'scored by echo-like checkers, one of which throws',
        configSchema: z.object({}),
        async *tasks() {},
        rollout: async () => [],
        rewards: [
          { checker: 'exact-match', weight: 1, config: { extract: false } },
          { checker: 'test-odd-throws', weight: 1 },
        ],
        parseTask: (record, i) => ({ id: String(i), data: record as { answer: string } }),
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'mg-score-'));
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    const line = (completion: string) => JSON.stringify({ task: { answer: 'yes' }, completion });
    writeFileSync(input, `${line('yes!')}\n${line('yes')}\n`);
    const summary = await runScore({ env: 'faulty-words', input, output });
    expect(summary).toMatchObject({ lines: 2, errors: 0, checkerErrors: 1, infraErrors: 0, meanReward: 0.5 });
    const [even, odd] = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // "yes!" (even length): exact-match 0 ("yes!" is not "yes"), (4 mod 3) / 2 = 0.5.
    expect(even).toMatchObject({
      reward: 0.5,
      status: 'ok',
      components: { 'exact-match': 0, 'test-odd-throws': 0.5 },
    });
    expect(odd).toMatchObject({
      reward: null,
      status: 'checker_error',
      error: 'test-odd-throws: odd length 3',
      components: { 'exact-match': 1, 'test-odd-throws': null },
    });
    expect(scoreSummaryText(summary)).toMatch(/scored 1 of 2 lines; .*1 line\(s\) with checker errors/);
  });
});

describe('user regular expressions run on RE2', () => {
  const evil = `${'a'.repeat(27)}!`;

  it('the catastrophic-backtracking example runs in linear time and gives the right value', async () => {
    const started = Date.now();
    // No match: `!` is not an `a`. On a backtracking engine this took 7 s against a 1 s budget.
    expect(await run('regex', evil, { pattern: '^(a+)+$' })).toMatchObject({
      status: 'ok',
      value: 0,
      details: { matched: false },
    });
    expect(await run('regex', 'a'.repeat(27), { pattern: '^(a+)+$' })).toMatchObject({
      status: 'ok',
      value: 1,
    });
    // Other exponential shapes, on 50k characters.
    const long = `${'a'.repeat(50_000)}!`;
    for (const pattern of ['(a|aa)+$', '(a*)*b', '^(a|a?)+$', '(.*a){20}$']) {
      expect(await run('regex', long, { pattern }, 5000)).toMatchObject({ status: 'ok', value: 0 });
    }
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('keeps flags, fullMatch and the answer target', async () => {
    expect(await run('regex', 'Final: YES', { pattern: 'yes', flags: 'i' })).toMatchObject({ value: 1 });
    expect(await run('regex', 'Final: YES', { pattern: 'yes' })).toMatchObject({ value: 0 });
    expect(await run('regex', 'a\nb', { pattern: '^b$', flags: 'm' })).toMatchObject({ value: 1 });
    expect(await run('regex', 'a\nb', { pattern: 'a.b', flags: 's' })).toMatchObject({ value: 1 });
    expect(await run('regex', 'abc', { pattern: 'b', fullMatch: true })).toMatchObject({ value: 0 });
    expect(await run('regex', 'abc', { pattern: 'a.c', fullMatch: true })).toMatchObject({ value: 1 });
    expect(
      await run('regex', 'so \\boxed{12}', { pattern: '^\\d+$', target: 'answer', matchValue: 2 }),
    ).toMatchObject({ value: 2 });
  });

  it('refuses lookarounds and backreferences at config time, with RE2’s reason', () => {
    const schema = getReward('regex').configSchema;
    for (const pattern of ['(?=a)b', '(a)\\1', '(?<!x)y']) {
      const parsed = schema.safeParse({ pattern });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['pattern']);
      expect(parsed.error?.issues[0]?.message).toMatch(/not a valid RE2 regular expression/);
    }
  });
});
