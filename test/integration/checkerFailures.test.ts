/**
 * A checker failure is never a reward (issue 13 §5), end to end on the real Temporal dev server,
 * PostgreSQL and the CPU policy worker: failed checkers leave rollouts `checker_error` /
 * `infra_error` with the reason, out of the batch, with advantages over the ok samples only; an
 * infrastructure failure is re-scored by the activity's retry without sampling again; the step
 * metrics, the progress query and `multigym logs` count the errors per environment; two components
 * with one name are refused when the run starts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Policy } from '../../activities/deps.js';
import { printLogs } from '../../cli/commands/logs.js';
import { databaseSource } from '../../db/logs/source.js';
import { rewards, rollouts, runs, stepMetrics } from '../../db/schema.js';
import { groupAdvantages } from '../../policy/advantages.js';
import { PolicyClient } from '../../policy/client.js';
import type { RunConfigInput } from '../../workflows/config.js';
import type { EnvStepStats } from '../../workflows/contracts.js';
import { progressQuery } from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { repoRoot } from '../helpers/paths.js';
import { type Stack, startStack } from '../helpers/stack.js';

const plugins = [
  resolve(repoRoot, 'test/fixtures/echo-plugin.ts'),
  resolve(repoRoot, 'test/fixtures/faulty-checkers.ts'),
];

/** `/v1/generate` calls made by the activities, to show that a scoring retry never samples again. */
let generateCalls = 0;
const countingPolicy = (url: string): Policy => {
  const client = new PolicyClient({ url, connectRetries: 2 });
  return {
    generate: (req) => {
      generateCalls++;
      return client.generate(req);
    },
    tokenize: (req) => client.tokenize(req),
    info: () => client.info(),
    trainStep: (req) => client.trainStep(req),
    checkpoint: (req) => client.checkpoint(req),
    sftStep: (req) => client.sftStep(req),
    load: (req) => client.load(req),
    reset: (req) => client.reset(req),
    referenceKl: (req) => client.referenceKl(req),
  };
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ envs: ['echo', 'math'], deps: { policyFor: countingPolicy } });
});
afterAll(async () => {
  await stack?.stop();
});

const base = (over: Partial<RunConfigInput>): RunConfigInput => ({
  steps: 1,
  seed: 5,
  policy: { url: stack.policy.url },
  plugins,
  environments: [],
  algorithm: { learning_rate: 1e-4 },
  ...over,
});

/** One environment of a test run: `prompts` groups of `group` samples of 8 tokens, scored by `rewards`. */
const envSpec = (name: string, prompts: number, group: number, rewards: unknown[], extra = {}) =>
  ({
    name,
    prompts_per_step: prompts,
    group_size: group,
    sampling: { max_tokens: 8 },
    rewards,
    ...extra,
  }) as never;

const rowsOf = (runId: string, env: string) =>
  stack.database.db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.runId, runId), eq(rollouts.env, env)))
    .orderBy(asc(rollouts.taskId), asc(rollouts.sample));

const rewardRowsOf = async (runId: string, env: string) =>
  stack.database.db
    .select({
      rolloutId: rewards.rolloutId,
      name: rewards.checker,
      status: rewards.status,
      value: rewards.value,
      error: rewards.error,
    })
    .from(rewards)
    .innerJoin(rollouts, eq(rewards.rolloutId, rollouts.id))
    .where(and(eq(rollouts.runId, runId), eq(rollouts.env, env)));

describe('checker failures in a run', () => {
  it('leave rollouts out with the reason, advantages over ok samples only, and errors counted everywhere', async () => {
    const id = 'checker-errors';
    const handle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [
        {
          config: base({
            environments: [
              envSpec('echo', 4, 4, [
                { checker: 'echo-match', weight: 1 },
                { checker: 'test-odd-throws', weight: 1 },
                // One checker twice, told apart by name; the first is the catastrophic-backtracking pattern.
                { checker: 'regex', name: 'all-a', weight: 0, config: { pattern: '^(a+)+$' } },
                { checker: 'regex', weight: 0, config: { pattern: 'beta' } },
              ]),
              envSpec('math', 2, 2, [
                { checker: 'math-equivalence', weight: 1 },
                { checker: 'test-spin', weight: 0 },
              ]),
            ],
          }),
        },
      ],
    });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const db = stack.database.db;

    // echo: odd-length completions are checker errors (no reward), the others are scored.
    const echo = await rowsOf(id, 'echo');
    expect(echo).toHaveLength(16);
    const echoRewards = await rewardRowsOf(id, 'echo');
    for (const r of echo) {
      const mine = echoRewards.filter((x) => x.rolloutId === r.id);
      expect(mine.map((x) => x.name).sort()).toEqual(['all-a', 'echo-match', 'regex', 'test-odd-throws']);
      const odd = mine.find((x) => x.name === 'test-odd-throws')!;
      const match = mine.find((x) => x.name === 'echo-match')!;
      expect(match.status).toBe('ok');
      if (r.completion.length % 2 === 1) {
        expect(r.status).toBe('checker_error');
        expect(r.reward).toBeNull();
        expect(r.advantage).toBeNull();
        expect(r.error).toBe(`test-odd-throws: odd length ${r.completion.length}`);
        expect(odd).toMatchObject({
          status: 'checker_error',
          value: null,
          error: `odd length ${r.completion.length}`,
        });
      } else {
        expect(r.status).toBe('ok');
        expect(odd).toMatchObject({ status: 'ok', value: (r.completion.length % 3) / 2 });
        expect(r.reward).toBeCloseTo(match.value! + (r.completion.length % 3) / 2, 12);
      }
    }
    const okCount = echo.filter((r) => r.status === 'ok').length;
    // With 16 samples of random length both cases occur (a failure has odds 2 × 2^-16).
    expect(okCount).toBeGreaterThan(0);
    expect(okCount).toBeLessThan(16);

    // Advantages: per group, over its ok rollouts alone; a group with fewer than 2 ok rollouts is dropped.
    let dropped = 0;
    for (const taskId of new Set(echo.map((r) => r.taskId))) {
      const ok = echo.filter((r) => r.taskId === taskId && r.status === 'ok');
      if (ok.length < 2) {
        dropped++;
        for (const r of ok) expect(r.advantage).toBeNull();
        continue;
      }
      const want = groupAdvantages(ok.map((r) => r.reward!)).advantages;
      ok.forEach((r, i) => {
        expect(r.advantage).toBeCloseTo(want[i]!, 9);
      });
    }

    // math: the CPU-looping checker was stopped at the 1 s budget of every call: a timeout, not 0.
    const math = await rowsOf(id, 'math');
    expect(math).toHaveLength(4);
    for (const r of math) {
      expect(r.status).toBe('checker_error');
      expect(r.reward).toBeNull();
      expect(r.error).toBe('test-spin: timeout: 1000 ms budget exceeded (stopped)');
    }

    const expected: Record<string, Partial<EnvStepStats>> = {
      echo: {
        rollouts: okCount,
        checkerErrors: 16 - okCount,
        infraErrors: 0,
        rejected: 0,
        droppedGroups: dropped,
      },
      math: { rollouts: 0, checkerErrors: 4, infraErrors: 0, groups: 0 },
    };
    const [metrics] = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
    expect(metrics!.envs).toMatchObject(expected);
    expect(result.envs).toMatchObject(expected);
    const progress = await handle.query(progressQuery);
    expect(progress.envs).toMatchObject(expected);
    // The run's mean is over the environments that scored something: math (all errors) has none.
    expect(progress.meanReward).toBeCloseTo(progress.envs.echo!.meanReward, 12);

    // `multigym logs` counts them; math's mean is "-", not 0.000.
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
    try {
      await printLogs(databaseSource(db), id, { checkers: true });
    } finally {
      spy.mockRestore();
    }
    const rows = lines
      .join('\n')
      .split('\n')
      .map((l) =>
        l
          .split('│')
          .map((c) => c.trim())
          .slice(1, -1),
      );
    expect(rows.find((c) => c[0] === 'step')).toEqual(
      expect.arrayContaining(['reward', 'checker err', 'infra err', 'rejected']),
    );
    // step (only on a step's first row), env, rollouts, reward, pass, tokens, checker err, infra err, rejected
    const mathRow = rows.find((c) => c[1] === 'math' && c.length === 11);
    expect([mathRow?.[1], mathRow?.[2], mathRow?.[3], mathRow?.[4], ...(mathRow?.slice(6, 9) ?? [])]).toEqual(
      ['math', '4', '-', '-', '4', '0', '0'],
    );
    const echoRow = rows.find((c) => c[1] === 'echo' && c.length === 11);
    expect(echoRow?.slice(6, 9)).toEqual([String(16 - okCount), '0', '0']);
    expect(rows.find((c) => c[2] === 'test-spin')).toEqual([
      '1',
      'math',
      'test-spin',
      '-',
      '0',
      '0',
      '4',
      '0',
    ]);
  }, 600_000);

  it('retries infrastructure errors by re-scoring without sampling again, then gives up and leaves them out', async () => {
    const id = 'infra-errors';
    const dir = mkdtempSync(join(tmpdir(), 'mg-infra-'));
    const flakyCalls = join(dir, 'flaky-calls');
    const infraCalls = join(dir, 'infra-calls');
    generateCalls = 0;
    const result = await stack.temporal.client.workflow.execute('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [
        {
          config: base({
            scoring: { infra_attempts: 2 },
            environments: [
              envSpec('echo', 2, 2, [
                { checker: 'echo-match', weight: 1 },
                {
                  checker: 'test-flaky-infra',
                  weight: 0,
                  config: { marker: join(dir, 'marker'), calls: flakyCalls },
                },
              ]),
              envSpec('math', 2, 2, [
                { checker: 'math-equivalence', weight: 1 },
                { checker: 'test-infra', weight: 0, config: { calls: infraCalls } },
              ]),
            ],
          }),
        },
      ],
    });
    expect(result.status).toBe('completed');
    // One generate call per group (2 + 2), though both chunks were retried.
    expect(generateCalls).toBe(4);
    const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').length;
    // echo: 4 calls, 1 failed, and only that one ran again.
    expect(lines(flakyCalls)).toBe(5);
    // math: 4 calls on each of the 2 attempts, then left as infra_error.
    expect(lines(infraCalls)).toBe(8);

    const echo = await rowsOf(id, 'echo');
    expect(echo.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const echoRewards = await rewardRowsOf(id, 'echo');
    expect(echoRewards).toHaveLength(8);
    for (const r of echoRewards.filter((x) => x.name === 'test-flaky-infra')) {
      expect(r).toMatchObject({ status: 'ok', value: 1, error: null });
    }
    const math = await rowsOf(id, 'math');
    for (const r of math) {
      expect(r).toMatchObject({
        status: 'infra_error',
        reward: null,
        advantage: null,
        error: 'test-infra: RewardInfraError: reward server unreachable',
      });
    }
    const mathRewards = await rewardRowsOf(id, 'math');
    expect(mathRewards).toHaveLength(8);
    expect(mathRewards.filter((r) => r.status === 'infra_error')).toHaveLength(4);
    const [metrics] = await stack.database.db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
    expect(metrics!.envs).toMatchObject({
      echo: { rollouts: 4, checkerErrors: 0, infraErrors: 0 },
      math: { rollouts: 0, checkerErrors: 0, infraErrors: 4 },
    });
  }, 600_000);

  it('refuses two components with one name, or one named like the automatic budget, naming the field', async () => {
    const echo = (rewardList: unknown[], reasoning?: unknown) =>
      envSpec('echo', 1, 2, rewardList, reasoning ? { reasoning } : {});
    const cases: [string, RunConfigInput, RegExp][] = [
      [
        'dup-regex',
        base({
          environments: [
            echo([
              { checker: 'regex', weight: 1, config: { pattern: 'a' } },
              { checker: 'regex', weight: 1, config: { pattern: 'b' } },
            ]),
          ],
        }),
        /environments\.0\.rewards\.1\.checker: component "regex" is listed twice/,
      ],
      [
        'dup-budget',
        base({
          environments: [
            echo(
              [
                { checker: 'echo-match', weight: 1 },
                { checker: 'budget', weight: 1 },
              ],
              { share: 0.5, budget_tokens: 4 },
            ) as never,
          ],
        }),
        /environments\.0\.rewards\.1\.checker: "budget" is added automatically for the reasoning budget/,
      ],
    ];
    for (const [id, config, message] of cases) {
      const err = await stack.temporal.client.workflow
        .execute('rlRun', { taskQueue: MAIN_QUEUE, workflowId: id, args: [{ config }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err as WorkflowFailedError).cause?.message)).toMatch(message);
      expect(await stack.database.db.select().from(runs).where(eq(runs.id, id))).toHaveLength(0);
    }
  });
});
