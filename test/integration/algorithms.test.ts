/**
 * The recipes of `examples/configs/` end to end: each runs for a step or two through the real
 * Temporal dev server, PostgreSQL and the CPU policy worker (tiny model), shrunk to a few groups of
 * short completions but with its algorithm block as written. Checks that every per-term metric lands
 * in `step_metrics.train` and agrees with the rollouts stored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollouts, stepMetrics } from '../../db/schema.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { repoRoot } from '../helpers/paths.js';
import { type Stack, startStack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ envs: ['math'] });
});
afterAll(async () => {
  await stack?.stop();
});

/** An example config, shrunk for a 2-core CPU: 3 prompts × 4 samples of at most 12 tokens. */
function example(file: string, steps: number): RunConfigInput & { algorithm: Record<string, unknown> } {
  const c = JSON.parse(readFileSync(join(repoRoot, 'examples/configs', file), 'utf8'));
  c.steps = steps;
  c.policy.url = stack.policy.url;
  c.environments = c.environments.map((e: Record<string, unknown>) => ({
    ...e,
    prompts_per_step: 3,
    group_size: 4,
    sampling: { ...(e.sampling as object), max_tokens: 12 },
  }));
  c.algorithm = { ...c.algorithm, learning_rate: 1e-4, micro_batch_size: 12 };
  if (c.algorithm.overlong_buffer) c.algorithm.overlong_buffer = { ...c.algorithm.overlong_buffer, len: 4 };
  if (c.algorithm.loss_agg_norm) c.algorithm.loss_agg_norm = 12;
  return c;
}

async function run(id: string, config: RunConfigInput) {
  const result = await stack.temporal.client.workflow.execute('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId: id,
    args: [{ config }],
  });
  const db = stack.database.db;
  const metrics = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
  return {
    result,
    metrics: metrics.sort((a, b) => a.step - b.step).map((m) => m.train as Record<string, number>),
  };
}

const LOSS_TERMS = ['loss', 'pg_loss', 'kl_loss', 'entropy_loss', 'kl', 'entropy', 'grad_norm'];
const SHARES = ['clip_frac_low', 'clip_frac_high', 'clip_frac_dual', 'rollout_is_capped_frac'];

function expectTermMetrics(m: Record<string, number>): void {
  for (const k of LOSS_TERMS) expect(Number.isFinite(m[k]), k).toBe(true);
  for (const k of SHARES) expect(m[k], k).toBeGreaterThanOrEqual(0);
  expect(m.ratio_min).toBeLessThanOrEqual(m.ratio_mean!);
  expect(m.ratio_mean).toBeLessThanOrEqual(m.ratio_max!);
  for (const k of [
    'truncated',
    'masked_truncated',
    'overlong_penalized',
    'overlong_penalty_mean',
    'kl_in_reward_mean',
  ])
    expect(typeof m[k], k).toBe('number');
  // synchronous rollouts: every sample was drawn by the policy the step trains from
  expect(m.rollout_staleness_mean).toBe(0);
  expect(m.rollout_staleness_max).toBe(0);
}

describe('example run configs on CPU', () => {
  it('DAPO: clip-higher, dual-clip, token-mean, dynamic sampling and the soft overlong penalty', async () => {
    const { result, metrics } = await run('algo-dapo', example('dapo.json', 2));
    expect(result.status).toBe('completed');
    expect(metrics).toHaveLength(2);
    for (const [i, m] of metrics.entries()) {
      expectTermMetrics(m);
      expect(m.kl_loss).toBe(0); // kl_coef 0: no reference term
      // every rollout longer than max_tokens − len = 8 tokens is penalised, among them every truncated one
      const [long] = await stack.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(rollouts)
        .where(
          and(
            eq(rollouts.runId, 'algo-dapo'),
            eq(rollouts.step, i + 1),
            eq(rollouts.status, 'ok'),
            sql`${rollouts.completionTokens} > 8`,
          ),
        );
      expect(m.truncated).toBeGreaterThan(0); // a fresh tiny model rarely stops within 12 tokens
      expect(m.overlong_penalized).toBeGreaterThanOrEqual(m.truncated!);
      expect(m.overlong_penalized).toBeLessThanOrEqual(Number(long!.n));
      if (m.overlong_penalized! > 0) expect(m.overlong_penalty_mean).toBeLessThan(0);
    }
  }, 600_000);

  it('Dr. GRPO: no std, seq-mean-token-sum-norm with the generation budget', async () => {
    const { result, metrics } = await run('algo-dr-grpo', example('dr-grpo.json', 2));
    expect(result.status).toBe('completed');
    expect(result.policyVersion).toBe(2);
    for (const m of metrics) {
      expectTermMetrics(m);
      expect(m.clip_frac_dual).toBe(0); // no dual-clip in this recipe
    }
    // Dr. GRPO advantages are r − mean(r): within a group they sum to 0 and keep the reward gaps
    const rows = await stack.database.db
      .select({ task: rollouts.taskId, reward: rollouts.reward, advantage: rollouts.advantage })
      .from(rollouts)
      .where(and(eq(rollouts.runId, 'algo-dr-grpo'), eq(rollouts.step, 1), eq(rollouts.status, 'ok')));
    for (const task of new Set(rows.map((r) => r.task))) {
      const g = rows.filter((r) => r.task === task && r.advantage !== null);
      if (g.length < 2) continue;
      const mean = g.reduce((a, r) => a + r.reward!, 0) / g.length;
      for (const r of g) expect(r.advantage).toBeCloseTo(r.reward! - mean, 9);
    }
  }, 600_000);

  it('REINFORCE++-baseline with the KL in the reward (the worker’s /v1/reference_kl)', async () => {
    const config = example('reinforce-pp-baseline.json', 2);
    // An entropy bonus moves the weights at step 1 even when every reward (and so advantage) is 0.
    config.algorithm = {
      ...config.algorithm,
      use_kl_in_reward: true,
      kl_coef: 0.05,
      kl_estimator: 'k1',
      entropy_coeff: 0.01,
    };
    const { result, metrics } = await run('algo-rpp-kl-reward', config);
    expect(result.status).toBe('completed');
    for (const m of metrics) {
      expectTermMetrics(m);
      expect(m.kl_loss).toBe(0); // the KL is in the reward, not in the loss
      expect(m.entropy_loss).toBeGreaterThan(0);
    }
    // step 1 runs on the reference weights (KL 0); step 2 on weights one update away
    expect(metrics[0]!.kl_in_reward_mean).toBeCloseTo(0, 12);
    expect(Math.abs(metrics[1]!.kl_in_reward_mean!)).toBeGreaterThan(0);
  }, 600_000);
});
