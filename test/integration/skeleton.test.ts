/**
 * Walking skeleton (issue 2): a GRPO run on GSM8K through the real Temporal dev server, the real
 * PostgreSQL and the real policy worker on CPU.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewards, rollouts, runs, stepMetrics, tasks } from '../../db/schema.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { dataPath } from '../helpers/data.js';
import { type Stack, startStack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ envs: ['math'] });
});
afterAll(async () => {
  await stack?.stop();
});

const gsm8kConfig = (url: string): RunConfigInput => ({
  name: 'skeleton',
  seed: 1,
  steps: 3,
  policy: { url },
  environments: [
    {
      name: 'math',
      prompts_per_step: 16,
      group_size: 4,
      sampling: { max_tokens: 24, temperature: 1 },
      config: { dataset: { path: dataPath('gsm8k/test.jsonl'), format: 'gsm8k' } },
    },
  ],
  algorithm: { learning_rate: 1e-4, micro_batch_size: 32 },
});

describe('rlRun on GSM8K', () => {
  it('trains 3 steps of 16 problems × 4 samples and logs every rollout, reward and step', async () => {
    const { client } = stack.temporal;
    const result = await client.workflow.execute('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: 'skeleton-gsm8k',
      args: [{ config: gsm8kConfig(stack.policy.url) }],
    });
    expect(result.status).toBe('completed');
    expect(result.policyVersion).toBe(3);

    const db = stack.database.db;
    const [r] = await db.select({ n: count() }).from(rollouts).where(eq(rollouts.runId, 'skeleton-gsm8k'));
    expect(r!.n).toBe(192);
    const rolloutIds = await db
      .select({ id: rollouts.id })
      .from(rollouts)
      .where(eq(rollouts.runId, 'skeleton-gsm8k'));
    const withReward = await db.selectDistinct({ id: rewards.rolloutId }).from(rewards);
    const rewarded = new Set(withReward.map((x) => x.id));
    expect(rolloutIds.every((x) => rewarded.has(x.id))).toBe(true);
    const metrics = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, 'skeleton-gsm8k'));
    expect(metrics.map((m) => m.step).sort()).toEqual([1, 2, 3]);
    expect(metrics.map((m) => m.policyVersion).sort()).toEqual([1, 2, 3]);
    const [run] = await db.select().from(runs).where(eq(runs.id, 'skeleton-gsm8k'));
    expect(run!.status).toBe('completed');
  }, 900_000);

  it('fails at once with the bad field named and writes nothing for an invalid config', async () => {
    const { client } = stack.temporal;
    const bad = { ...gsm8kConfig(stack.policy.url), steps: 0 };
    const err = await client.workflow
      .execute('rlRun', { taskQueue: MAIN_QUEUE, workflowId: 'skeleton-bad', args: [{ config: bad }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/steps/);

    const badEnv = {
      ...gsm8kConfig(stack.policy.url),
      environments: [
        { name: 'math', prompts_per_step: 1, group_size: 2, config: { dataset: { format: 'nope' } } },
      ],
    };
    const err2 = await client.workflow
      .execute('rlRun', { taskQueue: MAIN_QUEUE, workflowId: 'skeleton-bad-env', args: [{ config: badEnv }] })
      .catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(WorkflowFailedError);
    expect(String((err2 as WorkflowFailedError).cause?.message)).toMatch(/environments\.0\.config\.dataset/);

    const db = stack.database.db;
    for (const id of ['skeleton-bad', 'skeleton-bad-env']) {
      expect(await db.select().from(runs).where(eq(runs.id, id))).toHaveLength(0);
      expect(await db.select().from(tasks).where(eq(tasks.runId, id))).toHaveLength(0);
    }
  });
});
