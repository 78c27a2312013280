/**
 * Crash-proof (issue 8): the Python policy worker is killed in the middle of a step and comes back
 * 15 s later on the same port. Activities retry with back-off, the run waits, then goes on and
 * completes, with no duplicate rows and no step trained twice.
 *
 * A restarted worker has fresh weights and policy version 0: it starts from the model, not from the
 * run's state. The run therefore checkpoints every step, and the test, acting as the operator,
 * restores the newest checkpoint (`POST /v1/load`: weights, optimizer, policy version and
 * idempotency records) as soon as the new worker listens. Without that restore the run still
 * completes, but the policy versions would restart at 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../cli/workers.js';
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

describe('policy worker stopped for a while', () => {
  it('the run waits while the worker is down, then resumes on the restarted worker and completes', async () => {
    const runId = 'crash-policy-stop';
    const url = policies[0]!.url;
    const port = Number(new URL(url).port);
    const config = crashRunConfig(url, { checkpoint_every: 1, checkpoint_dir: join(dir, 'checkpoints') });
    const handle = await temporal!.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config }],
    });
    const db = database!.db;
    await waitFor('step 2 rollouts being written', async () => {
      const s = await stepState(db, runId, 2);
      return s.rollouts > 0 ? s : undefined;
    });
    await killPolicy(policies[0]!);
    await new Promise((r) => setTimeout(r, DOWN_MS));
    // Without a policy worker nothing can be trained: the run is still on step 2, waiting.
    expect((await stepState(db, runId, 2)).trained).toBe(false);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const restarted = await startPolicyWorker({ port, checkpointDir: join(dir, 'checkpoints') });
    policies.push(restarted);
    expect(restarted.url).toBe(url);
    const res = (await db.execute(
      sql`SELECT checkpoint_path AS path, version FROM policy_versions
          WHERE run_id = ${runId} AND checkpoint_path IS NOT NULL ORDER BY version DESC LIMIT 1`,
    )) as unknown as { rows: { path: string; version: number }[] };
    const latest = res.rows[0]!;
    expect(latest.version).toBe(1);
    const client = new PolicyClient({ url });
    expect((await client.load({ path: latest.path })).policy_version).toBe(1);

    const result = (await handle.result()) as RlRunResult;
    expect(result.status).toBe('completed');
    expect(result.policyVersion).toBe(RUN.steps);

    await expectIntact(db, runId);
    expect((await client.info()).policy_version).toBe(RUN.steps);
    // The rollouts cut off by the kill failed and were retried with back-off.
    expect((await maxAttempts(handle)).rolloutGroups).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
