/**
 * The multi-environment run (issue 8) against the real stack: environments trained together in one
 * train step, continue-as-new, evalRun as a child, reasoning-budget share, dynamic sampling and the
 * pause / resume / setMixture / stop controls with the progress query.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, rewards, rollouts, runs, stepMetrics, tasks } from '../../db/schema.js';
import type { RunConfigInput } from '../../workflows/config.js';
import {
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setMixtureUpdate,
  stopUpdate,
} from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ envs: ['math', 'long-context'] });
});
afterAll(async () => {
  await stack?.stop();
});

const math = (prompts = 4) => ({
  name: 'math',
  prompts_per_step: prompts,
  group_size: 4,
  sampling: { max_tokens: 12 },
  config: {},
});
const longContext = {
  name: 'long-context',
  prompts_per_step: 2,
  group_size: 2,
  sampling: { max_tokens: 8 },
  config: { lengths: [256], kinds: { 'niah-single': 1 } },
};
const base = (over: Partial<RunConfigInput>): RunConfigInput => ({
  steps: 2,
  seed: 3,
  policy: { url: stack.policy.url },
  environments: [math()],
  algorithm: { learning_rate: 1e-4 },
  ...over,
});

describe('rlRun with several environments', () => {
  it('trains every environment in one step, continues as new, evaluates and applies the reasoning budget', async () => {
    const id = 'multi-env';
    const handle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [
        {
          config: base({
            environments: [{ ...math(4), reasoning: { share: 0.5, budget_tokens: 4 } }, longContext],
            continue_as_new_every: 1,
            eval_every: 2,
            eval: { prompts: 2, n: 1 },
          }),
        },
      ],
    });
    const firstRunId = handle.firstExecutionRunId;
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', steps: 2, policyVersion: 2 });
    expect(Object.keys(result.envs).sort()).toEqual(['long-context', 'math']);

    // One execution per step: the first one ended by continue-as-new.
    const first = stack.temporal.client.workflow.getHandle(id, firstRunId);
    const firstExecution = await first.describe();
    expect(firstExecution.status.name).toBe('CONTINUED_AS_NEW');
    // A one-step execution of two environments stays in the low hundreds of events, so with the default
    // continue_as_new_every of 10 a run of any length stays far below the ~10k-event warning.
    expect(firstExecution.historyLength).toBeLessThan(300);

    const db = stack.database.db;
    const metrics = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
    expect(metrics).toHaveLength(2);
    for (const m of metrics) expect(Object.keys(m.envs as object).sort()).toEqual(['long-context', 'math']);

    // Each step holds both environments' rollouts (trained together, not staged).
    const perStep = await db
      .select({ step: rollouts.step, env: rollouts.env, n: sql<number>`count(*)::int` })
      .from(rollouts)
      .where(and(eq(rollouts.runId, id), eq(rollouts.phase, 'train')))
      .groupBy(rollouts.step, rollouts.env);
    expect(perStep.map((r) => `${r.step}:${r.env}:${r.n}`).sort()).toEqual([
      '1:long-context:4',
      '1:math:16',
      '2:long-context:4',
      '2:math:16',
    ]);

    // Half of the math prompts of a step ran under the reasoning budget, each scored by `budget` too.
    const budgeted = await db
      .select({ id: rollouts.id })
      .from(rollouts)
      .where(and(eq(rollouts.runId, id), eq(rollouts.step, 1), isNotNull(rollouts.reasoningBudget)));
    expect(budgeted).toHaveLength(2 * 4);
    const budgetRows = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(rewards)
      .innerJoin(rollouts, eq(rewards.rolloutId, rollouts.id))
      .where(and(eq(rollouts.runId, id), eq(rollouts.step, 1), eq(rewards.checker, 'budget')));
    expect(budgetRows[0]!.n).toBe(8);

    // evalRun ran as a child after step 2 and recorded pass@1 for both environments.
    const evals = await db
      .select()
      .from(events)
      .where(and(eq(events.runId, id), eq(events.kind, 'eval')));
    expect(evals).toHaveLength(1);
    const data = evals[0]!.data as {
      envs: Record<string, { passAtK: Record<string, number>; tasks: number }>;
    };
    expect(Object.keys(data.envs).sort()).toEqual(['long-context', 'math']);
    expect(data.envs.math!.tasks).toBe(2);
    expect(data.envs.math!.passAtK['pass@1']).toBeGreaterThanOrEqual(0);
  }, 600_000);

  it('pauses, changes the mixture, resumes and stops cleanly on request', async () => {
    const id = 'controlled';
    const handle: WorkflowHandle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [{ config: base({ steps: 50 }) }],
    });
    await waitFor('step 1', async () => ((await handle.query(progressQuery)).step >= 1 ? true : undefined));
    expect(await handle.executeUpdate(pauseUpdate, { args: [{}] })).toEqual({ paused: true });
    const paused = await handle.query(progressQuery);
    expect(paused.status).toBe('paused');
    // The step in flight finishes, then nothing moves while paused.
    const settled = await waitFor('the paused run to settle', async () => {
      const a = await handle.query(progressQuery);
      await new Promise((r) => setTimeout(r, 4000));
      const b = await handle.query(progressQuery);
      return a.step === b.step ? b.step : undefined;
    });

    // A bad mixture is rejected by the validator and changes nothing.
    const bad = await handle
      .executeUpdate(setMixtureUpdate, {
        args: [{ environments: [{ name: 'math', group_size: 1 } as never] }],
      })
      .catch((e: Error) => e);
    expect(String((bad as Error & { cause?: Error }).cause?.message)).toMatch(/prompts_per_step|group_size/);
    const unknown = await handle
      .executeUpdate(setMixtureUpdate, { args: [{ environments: [{ ...math(2), name: 'nope' }] }] })
      .catch((e: Error & { cause?: Error }) => e.cause?.message);
    expect(unknown).toMatch(/unknown environment "nope"/);
    const mixture = await handle.executeUpdate(setMixtureUpdate, { args: [{ environments: [math(2)] }] });
    expect(mixture).toEqual({ environments: ['math'], fromStep: settled + 1 });

    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    await waitFor('a step after resuming', async () =>
      (await handle.query(progressQuery)).step > settled ? true : undefined,
    );
    await handle.executeUpdate(stopUpdate, { args: [{}] });
    const result = await handle.result();
    expect(result.status).toBe('stopped');
    expect(result.steps).toBeLessThan(50);
    expect((await handle.query(progressQuery)).status).toBe('stopped');

    const db = stack.database.db;
    const [run] = await db.select().from(runs).where(eq(runs.id, id));
    expect(run!.status).toBe('stopped');
    // The new mixture (2 prompts × 4 samples) applies from the step after the update.
    const after = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(rollouts)
      .where(and(eq(rollouts.runId, id), eq(rollouts.step, settled + 1)));
    expect(after[0]!.n).toBe(8);
    const metrics = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
    // One policy version per step, without gaps (the shared worker's count continues from earlier tests).
    const versions = metrics.map((m) => m.policyVersion).sort((a, b) => a - b);
    expect(versions).toHaveLength(result.steps);
    expect(versions).toEqual(versions.map((_, i) => versions[0]! + i));
    expect(versions.at(-1)).toBe(result.policyVersion);
  }, 600_000);

  it('takes a pause and a stop sent right after the start (before the run has claimed the worker)', async () => {
    const handle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: 'paused-at-start',
      args: [{ config: base({ steps: 3 }) }],
    });
    // Sent at once: the handlers must already be registered (no "No registered handler").
    expect(await handle.executeUpdate(pauseUpdate, { args: [{}] })).toEqual({ paused: true });
    expect(['starting', 'paused']).toContain((await handle.query(progressQuery)).status);
    await waitFor('the run to start, paused', async () =>
      (await handle.query(progressQuery)).status === 'paused' ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 3000));
    expect((await handle.query(progressQuery)).step).toBe(0);
    await handle.executeUpdate(stopUpdate, { args: [{}] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', steps: 0 });
    const [run] = await stack.database.db.select().from(runs).where(eq(runs.id, 'paused-at-start'));
    expect(run!.status).toBe('stopped');
  }, 300_000);

  it('counts zero-variance groups and replaces them with fresh prompts under dynamic sampling', async () => {
    const id = 'dynamic';
    const result = await stack.temporal.client.workflow.execute('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [
        {
          config: base({
            steps: 1,
            environments: [{ ...math(4), config: { generator: { levels: [7] } } }],
            algorithm: { dynamic_sampling: { enabled: true, max_rounds: 1 } },
          }),
        },
      ],
    });
    expect(result.status).toBe('completed');
    const db = stack.database.db;
    const [m] = await db.select().from(stepMetrics).where(eq(stepMetrics.runId, id));
    const zero = (m!.envs as Record<string, { zeroVarianceGroups: number }>).math!.zeroVarianceGroups;
    // An untrained policy fails level-7 problems, so groups have equal rewards and are resampled once.
    const drawn = await db.select({ n: sql<number>`count(*)::int` }).from(tasks).where(eq(tasks.runId, id));
    const firstRoundZero = drawn[0]!.n - 4;
    expect(zero).toBeGreaterThan(0);
    expect(firstRoundZero).toBeGreaterThan(0);
    expect(drawn[0]!.n).toBeLessThanOrEqual(8);
  }, 600_000);

  it('rejects an unknown environment before writing anything', async () => {
    const err = await stack.temporal.client.workflow
      .execute('rlRun', {
        taskQueue: MAIN_QUEUE,
        workflowId: 'unknown-env',
        args: [{ config: base({ environments: [{ ...math(), name: 'no-such-env' }] }) }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /environments\.0\.name: unknown environment/,
    );
    expect(await stack.database.db.select().from(runs).where(eq(runs.id, 'unknown-env'))).toHaveLength(0);
  }, 120_000);
});
