/**
 * A run is what its config says (issue 14), against the real Temporal dev server, PostgreSQL and the
 * CPU policy worker: a run id reused with another config is refused before anything is written, and
 * resumed with the same one; every run starts from its own initial weights (never those another run
 * left in the worker); two runs cannot share a worker at once; a worker holding an older version of
 * the run is brought forward by replaying the steps it lacks; weights lost without a checkpoint fail
 * the run instead of training on others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, policyVersions, rollouts, runs, stepMetrics } from '../../db/schema.js';
import { PolicyClient } from '../../policy/client.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { pauseUpdate, progressQuery, stopUpdate } from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
let policy: PolicyClient;
const dir = mkdtempSync(join(tmpdir(), 'multigym-run-identity-'));
beforeAll(async () => {
  // Every checkpoint of these runs (and the warm start) lies under the worker's checkpoint root.
  stack = await startStack({ envs: ['math'], policy: { checkpointDir: dir } });
  policy = new PolicyClient({ url: stack.policy.url });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A small run on the built-in arithmetic generator. */
const config = (over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'identity',
  seed: 4,
  steps: 2,
  policy: { url: stack.policy.url },
  environments: [
    { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
  ],
  algorithm: { learning_rate: 1e-3 },
  ...over,
});

const run = (workflowId: string, cfg: RunConfigInput) =>
  stack.temporal.client.workflow.execute('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId,
    args: [{ config: cfg }],
  }) as Promise<RlRunResult>;

/** The failure's cause of a failed workflow (what the CLI prints). */
async function failure(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause = (err as WorkflowFailedError).cause as (Error & { type?: string; cause?: unknown }) | undefined;
  while (cause?.cause) cause = cause.cause as typeof cause;
  return { type: cause?.type, message: String(cause?.message) };
}

const db = () => stack.database.db;
const rolloutIds = async (runId: string) =>
  (await db().select({ id: rollouts.id }).from(rollouts).where(eq(rollouts.runId, runId))).map((r) => r.id);
const metricVersions = async (runId: string) =>
  (
    await db()
      .select({ step: stepMetrics.step, v: stepMetrics.policyVersion })
      .from(stepMetrics)
      .where(eq(stepMetrics.runId, runId))
      .orderBy(asc(stepMetrics.step))
  ).map((r) => [r.step, r.v]);
/** Distinct (step, policy version that sampled it) of a run's train rollouts. */
const sampledBy = async (runId: string) =>
  (
    (await db().execute(
      sql`SELECT DISTINCT step, policy_version AS v FROM rollouts
          WHERE run_id = ${runId} AND phase = 'train' ORDER BY step`,
    )) as unknown as { rows: { step: number; v: number }[] }
  ).rows.map((r) => [r.step, r.v]);
const eventsOf = (runId: string, kind: string) =>
  db()
    .select()
    .from(events)
    .where(and(eq(events.runId, runId), eq(events.kind, kind)))
    .orderBy(asc(events.id));

describe('a run id names one config', () => {
  it('refuses another config under a used run id before writing anything, and resumes the same one', async () => {
    const first = await run('ident-a', config());
    expect(first.policyVersion).toBe(2);
    const ids = await rolloutIds('ident-a');
    expect(ids).toHaveLength(8);

    const changed = config({ algorithm: { learning_rate: 1e-2 }, seed: 5 });
    const f = await failure(run('ident-a', changed));
    expect(f.type).toBe('RunConfigMismatch');
    expect(f.message).toContain('run ident-a already exists with another config');
    expect(f.message).toContain('algorithm.learning_rate: 0.001 → 0.01');
    expect(f.message).toContain('seed: 4 → 5');
    expect(f.message).toContain('multigym run --id NEW');
    const [row] = await db().select().from(runs).where(eq(runs.id, 'ident-a'));
    expect((row!.config as { seed: number }).seed).toBe(4);
    expect(row!.status).toBe('completed');
    expect(await rolloutIds('ident-a')).toEqual(ids);

    // The same config with more steps resumes after step 2: nothing of steps 1-2 is redone.
    const resumed = await run('ident-a', config({ steps: 3, name: 'identity, longer' }));
    expect(resumed.steps).toBe(3);
    expect(resumed.policyVersion).toBe(3);
    expect(await metricVersions('ident-a')).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const after = await rolloutIds('ident-a');
    expect(after).toHaveLength(12);
    expect(after.filter((id) => ids.includes(id))).toHaveLength(8);
    expect(await sampledBy('ident-a')).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    // The worker still held the run at version 2: nothing was restored.
    expect(await eventsOf('ident-a', 'policy_restore')).toHaveLength(0);
  }, 600_000);
});

describe('every run starts from its own weights', () => {
  it('a second run starts from the base model, not from the weights the first one left', async () => {
    await run('ident-b1', config({ seed: 6 }));
    expect((await policy.info()).run_id).toBe('ident-b1');
    const second = await run('ident-b2', config({ seed: 7 }));
    expect(second.policyVersion).toBe(2);
    expect(await sampledBy('ident-b2')).toEqual([
      [1, 0],
      [2, 1],
    ]);
    const [claim] = await eventsOf('ident-b2', 'policy_claim');
    expect(claim!.data).toMatchObject({
      init: 'base',
      policy_version: 0,
      worker_before: { run_id: 'ident-b1', policy_version: 2 },
    });
    expect(await policy.info()).toMatchObject({ run_id: 'ident-b2', policy_version: 2 });
  }, 600_000);

  it('a run whose config names an init checkpoint starts from it', async () => {
    await policy.reset({ run_id: null });
    await policy.sftStep({ examples: [{ prompt: '1+1=', completion: '2' }] });
    const warm = await policy.checkpoint({ path: join(dir, 'warm') });
    expect(warm.policy_version).toBe(1);
    await policy.reset({ run_id: null }); // the run must load the checkpoint, not find it loaded
    const result = await run(
      'ident-init',
      config({ policy: { url: stack.policy.url, init: { checkpoint: warm.path } } }),
    );
    expect(result.policyVersion).toBe(3);
    expect(await sampledBy('ident-init')).toEqual([
      [1, 1],
      [2, 2],
    ]);
    const points = await db()
      .select({ v: policyVersions.version, step: policyVersions.step, path: policyVersions.checkpointPath })
      .from(policyVersions)
      .where(eq(policyVersions.runId, 'ident-init'))
      .orderBy(asc(policyVersions.version));
    expect(points).toEqual([
      { v: 1, step: 0, path: warm.path },
      { v: 2, step: 1, path: null },
      { v: 3, step: 2, path: null },
    ]);
  }, 600_000);

  it('a run whose config names another model than the worker serves is refused before anything is written', async () => {
    const f = await failure(
      run('ident-model', config({ policy: { url: stack.policy.url, model: 'builtin:small' } })),
    );
    expect(f.type).toBe('PolicyModelMismatch');
    expect(f.message).toContain(
      'serves model builtin:tiny; run ident-model names policy.model builtin:small',
    );
    expect(await db().select().from(runs).where(eq(runs.id, 'ident-model'))).toHaveLength(0);
    const named = await run(
      'ident-model-ok',
      config({ policy: { url: stack.policy.url, model: 'builtin:tiny' } }),
    );
    expect(named.policyVersion).toBe(2);
  }, 600_000);

  it('a run asking for a rollout mode the worker does not serve is refused before anything is written', async () => {
    const f = await failure(
      run('ident-overlap', config({ policy: { url: stack.policy.url, rollout_mode: 'one_step_off' } })),
    );
    expect(f.type).toBe('PolicyRolloutModeUnsupported');
    expect(f.message).toContain(
      'serves rollout modes sync; run ident-overlap sets policy.rollout_mode one_step_off',
    );
    expect(await db().select().from(runs).where(eq(runs.id, 'ident-overlap'))).toHaveLength(0);
  }, 600_000);

  it('refuses a second run on a worker another running run holds, and names it', async () => {
    const handle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: 'ident-holder',
      args: [{ config: config({ steps: 50, seed: 8 }) }],
    });
    // The run leaves `starting` once startRun has claimed the worker; it then stays RUNNING, paused.
    await waitFor('the holder to claim the worker', async () =>
      (await handle.query(progressQuery)).status !== 'starting' ? true : undefined,
    );
    await handle.executeUpdate(pauseUpdate, { args: [{}] });
    expect((await policy.info()).run_id).toBe('ident-holder');
    const f = await failure(run('ident-intruder', config({ seed: 9 })));
    expect(f.type).toBe('PolicyWorkerBusy');
    expect(f.message).toContain('holds the weights of run ident-holder, which is still running');
    expect(f.message).toContain('Start another policy worker');
    expect(await db().select().from(runs).where(eq(runs.id, 'ident-intruder'))).toHaveLength(0);
    expect((await policy.info()).run_id).toBe('ident-holder');
    await handle.executeUpdate(stopUpdate, { args: [{}] });
    const stopped = (await handle.result()) as RlRunResult;
    expect(stopped.status).toBe('stopped');
    expect((await handle.query(progressQuery)).status).toBe('stopped');
    // Once the holder has ended, the worker is free for the next run.
    expect((await run('ident-intruder', config({ seed: 9 }))).policyVersion).toBe(2);
  }, 600_000);
});

describe('a worker that holds other weights than the run', () => {
  it('holding an older version of the run: the missing steps are trained again, once', async () => {
    // One checkpoint, after step 1 (checkpoint settings may change when a run resumes).
    const ckpt = { checkpoint_every: 1, checkpoint_dir: join(dir, 'ckpt') };
    await run('ident-old', config({ steps: 1, seed: 10, ...ckpt }));
    const noCkpt = { ...ckpt, checkpoint_every: 0 };
    await run('ident-old', config({ steps: 3, seed: 10, ...noCkpt }));
    const losses = await db()
      .select({ step: stepMetrics.step, train: stepMetrics.train })
      .from(stepMetrics)
      .where(eq(stepMetrics.runId, 'ident-old'))
      .orderBy(asc(stepMetrics.step));
    // An operator puts back the step-1 checkpoint; the run resumed for one more step notices.
    await policy.load({ path: join(dir, 'ckpt', 'ident-old', 'step-1') });
    expect(await policy.info()).toMatchObject({ run_id: 'ident-old', policy_version: 1 });
    const result = await run('ident-old', config({ steps: 4, seed: 10, ...noCkpt }));
    expect(result.policyVersion).toBe(4);
    const [restore] = await eventsOf('ident-old', 'policy_restore');
    const data = restore!.data as {
      restored_from: string;
      restored_version: number;
      worker_before: unknown;
      replayed: { step: number; version: number; loss_recorded: number; loss_now: number }[];
    };
    expect(data.restored_from).toBe('worker');
    expect(data.restored_version).toBe(1);
    expect(data.worker_before).toMatchObject({ run_id: 'ident-old', policy_version: 1 });
    expect(data.replayed.map((r) => [r.step, r.version])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    // The same update of the same weights on the same batch: the same loss.
    for (const r of data.replayed) {
      const recorded = (losses.find((l) => l.step === r.step)!.train as { loss: number }).loss;
      expect(r.loss_recorded).toBe(recorded);
      expect(Math.abs(r.loss_now - recorded)).toBeLessThan(1e-5);
    }
    expect(await metricVersions('ident-old')).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(await policy.info()).toMatchObject({ run_id: 'ident-old', policy_version: 4 });
  }, 600_000);

  it('weights lost before the first periodic checkpoint: restored from the start checkpoint, steps replayed', async () => {
    // Default settings: checkpoints every 10 steps, and one of the base weights at the start.
    await run('ident-early', config({ steps: 2, seed: 12 }));
    await policy.reset({ run_id: null }); // what a restarted worker holds
    const result = await run('ident-early', config({ steps: 3, seed: 12 }));
    expect(result.policyVersion).toBe(3);
    const [restore] = await eventsOf('ident-early', 'policy_restore');
    const data = restore!.data as { restored_version: number; replayed: { step: number }[] };
    expect(data.restored_version).toBe(0);
    expect(data.replayed.map((r) => r.step)).toEqual([1, 2]);
    expect(await metricVersions('ident-early')).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  }, 600_000);

  it('weights lost with no checkpoint to restore: the run fails and says how to avoid it', async () => {
    const noCkpt = { checkpoint_every: 0 };
    await run('ident-lost', config({ steps: 1, seed: 11, ...noCkpt }));
    await policy.reset({ run_id: null }); // what a restarted worker holds
    const f = await failure(run('ident-lost', config({ steps: 2, seed: 11, ...noCkpt })));
    expect(f.type).toBe('PolicyLost');
    expect(f.message).toContain("lost run ident-lost's weights (it holds run none at policy version 0");
    expect(f.message).toContain('Keep checkpoint_every above 0');
    expect(await policy.info()).toMatchObject({ run_id: null, policy_version: 0 });
    expect(await metricVersions('ident-lost')).toEqual([[1, 1]]);
  }, 600_000);
});
