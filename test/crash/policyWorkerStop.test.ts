/**
 * Crash-proof (issues 8 and 14): the Python policy worker is killed with SIGKILL in the middle of a
 * run and a new one, started with default flags (fresh weights, run none, policy version 0), comes
 * back 15 s later on the same port. Nobody restores anything by hand: the run's next request expects
 * its own weights, the worker refuses, and the run restores its newest checkpoint (step 2) and trains
 * the step applied after it (step 3) again from the stored rollouts before going on. Policy versions
 * 1..4 are each applied exactly once to the weights that exist at the end, every step's rollouts
 * were sampled by the version before it, and no row is written twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../cli/workers.js';
import { events } from '../../db/schema.js';
import { PolicyClient } from '../../policy/client.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTemporal } from '../helpers/stack.js';
import { crashRunConfig, expectIntact, maxAttempts, RUN, stepState, waitFor, within } from './common.js';

/** How long the policy worker stays down. */
const DOWN_MS = 15_000;

let temporal: TestWorkflowEnvironment | undefined;
let database: TestDatabase | undefined;
const policies: RunningPolicyWorker[] = [];
let workers: RunningWorkers | undefined;
const dir = mkdtempSync(join(tmpdir(), 'multigym-crash-policy-'));

beforeAll(async () => {
  let first: RunningPolicyWorker;
  [temporal, database, first] = await Promise.all([
    startTemporal(),
    createTestDatabase(),
    startPolicyWorker({ checkpointDir: join(dir, 'checkpoints') }),
  ]);
  policies.push(first);
  workers = await startWorkers({
    connection: temporal.nativeConnection,
    deps: { db: database.db, blobDir: join(dir, 'blobs') },
    envs: ['math'],
  });
});
afterAll(async () => {
  try {
    await within(30_000, workers?.shutdown());
    await Promise.allSettled([...policies.map((p) => p.stop()), within(30_000, database?.drop())]);
    await temporal?.teardown();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Kills a worker's process group with SIGKILL and waits for it to exit. */
async function killPolicy(p: RunningPolicyWorker): Promise<void> {
  const exited = new Promise((r) => p.process.once('exit', r));
  process.kill(-p.process.pid!, 'SIGKILL');
  await exited;
}

describe('policy worker killed and restarted', () => {
  it('the run waits while the worker is down, restores its weights on the new worker itself and completes', async () => {
    const runId = 'crash-policy-stop';
    const url = policies[0]!.url;
    const port = Number(new URL(url).port);
    const checkpoints = join(dir, 'checkpoints');
    const config = crashRunConfig(url, { checkpoint_every: 2, checkpoint_dir: checkpoints });
    const handle = await temporal!.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config }],
    });
    const db = database!.db;
    // Step 3 is trained (policy version 3) but only step 2 is checkpointed when the worker dies.
    await waitFor('step 4 rollouts being written', async () => {
      const s = await stepState(db, runId, 4);
      return s.rollouts > 0 ? s : undefined;
    });
    const client = new PolicyClient({ url });
    expect(await client.info()).toMatchObject({ run_id: runId, policy_version: 3 });
    await killPolicy(policies[0]!);
    await new Promise((r) => setTimeout(r, DOWN_MS));
    // Without a policy worker nothing can be trained: the run is still on step 4, waiting.
    expect((await stepState(db, runId, 4)).trained).toBe(false);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const restarted = await startPolicyWorker({ port, checkpointDir: join(dir, 'checkpoints') });
    policies.push(restarted);
    expect(restarted.url).toBe(url);
    expect(await client.info()).toMatchObject({ run_id: null, policy_version: 0 });

    const result = (await handle.result()) as RlRunResult;
    expect(result.status).toBe('completed');
    expect(result.policyVersion).toBe(RUN.steps);
    await expectIntact(db, runId);
    // Four steps applied once each to the final weights: a step trained twice would make it 5.
    expect(await client.info()).toMatchObject({ run_id: runId, policy_version: RUN.steps });
    const sampled = (await db.execute(
      sql`SELECT DISTINCT step, policy_version AS v FROM rollouts
          WHERE run_id = ${runId} AND phase = 'train' ORDER BY step`,
    )) as unknown as { rows: { step: number; v: number }[] };
    expect(sampled.rows.map((r) => [r.step, r.v])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    const restores = await db
      .select()
      .from(events)
      .where(and(eq(events.runId, runId), eq(events.kind, 'policy_restore')));
    expect(restores).toHaveLength(1);
    expect(restores[0]!.data).toMatchObject({
      worker_before: { run_id: null, policy_version: 0 },
      expected: { step: 3, policy_version: 3 },
      restored_from: join(checkpoints, runId, 'step-2'),
      restored_version: 2,
      replayed: [{ step: 3, version: 3 }],
    });
    // The rollouts cut off by the kill failed and were retried with back-off.
    expect((await maxAttempts(handle)).rolloutGroups).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
