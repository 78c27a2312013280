/**
 * Crash-proof (issue 8): PostgreSQL goes down in the middle of a step and comes back 5 s later. The
 * workers' connection pool survives (dropped connections are discarded, new ones opened), the
 * activities whose writes failed are retried, and the run completes with no duplicate rows.
 *
 * A throwaway cluster (test/helpers/pgCluster.ts) stands in for the database server: the shared
 * server on 5432 is never restarted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../cli/workers.js';
import { type DatabaseHandle, openDatabase } from '../../db/client.js';
import { PolicyClient } from '../../policy/client.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { hasPgBinaries, type PgCluster, startPgCluster } from '../helpers/pgCluster.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { startTemporal } from '../helpers/stack.js';
import { crashRunConfig, expectIntact, maxAttempts, RUN, stepState, waitFor, within } from './common.js';

const ready = hasPgBinaries;
if (!ready) console.warn('test/crash: PostgreSQL 15 binaries (initdb, pg_ctl) missing; skipping');

/** How long the database stays down. */
const DOWN_MS = 5_000;

let temporal: TestWorkflowEnvironment | undefined;
let cluster: PgCluster | undefined;
let policy: RunningPolicyWorker | undefined;
/** The workers' database handle and the test's own (both pools see the restart). */
let workerDb: DatabaseHandle | undefined;
let testDb: DatabaseHandle | undefined;
let workers: RunningWorkers | undefined;
const dir = mkdtempSync(join(tmpdir(), 'multigym-crash-pg-'));

beforeAll(async () => {
  if (!ready) return;
  [temporal, cluster, policy] = await Promise.all([startTemporal(), startPgCluster(), startPolicyWorker()]);
  workerDb = await openDatabase({ url: cluster.url });
  testDb = await openDatabase({ url: cluster.url, migrate: false });
  workers = await startWorkers({
    connection: temporal.nativeConnection,
    deps: { db: workerDb.db, blobDir: join(dir, 'blobs') },
    envs: ['math'],
  });
});
afterAll(async () => {
  try {
    await within(30_000, workers?.shutdown());
    await Promise.allSettled([
      within(15_000, workerDb?.close()),
      within(15_000, testDb?.close()),
      policy?.stop(),
    ]);
    await cluster?.destroy();
    await temporal?.teardown();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.skipIf(!ready)('PostgreSQL restarted mid-run', () => {
  it('stops the database during step 2, starts it again, and the run completes without duplicates', async () => {
    const runId = 'crash-postgres-restart';
    const handle = await temporal!.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config: crashRunConfig(policy!.url) }],
    });
    const db = testDb!.db;
    await waitFor('step 2 rollouts being written', async () => {
      const s = await stepState(db, runId, 2);
      return s.rollouts > 0 ? s : undefined;
    });
    // A transaction held open across the shutdown (a checked-out pool client, as in the workers'
    // rollout writes): its next statement fails, and nothing is thrown outside the promise.
    let stopped!: () => void;
    const serverDown = new Promise<void>((r) => {
      stopped = r;
    });
    const openTx = testDb!.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT 1`);
      await serverDown;
      await tx.execute(sql`SELECT 1`);
    });
    const txOutcome = openTx.then(
      () => 'committed',
      () => 'rejected',
    );
    await new Promise((r) => setTimeout(r, 200));
    await cluster!.stop('fast');
    stopped();
    expect(await txOutcome).toBe('rejected');
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await cluster!.start();

    const result = (await handle.result()) as RlRunResult;
    expect(result.status).toBe('completed');
    expect(result.policyVersion).toBe(RUN.steps);

    await expectIntact(db, runId);
    expect((await new PolicyClient({ url: policy!.url }).info()).policy_version).toBe(RUN.steps);
    // Writes cut off by the shutdown failed and their activity was retried. Which activity met the
    // outage depends on timing (step 2's rollout writes may all finish in the 200 ms before the stop;
    // then its train step or step 3's task sampling meets it): one of the three that write was.
    const attempts = await maxAttempts(handle);
    const writers = [attempts.rolloutGroups, attempts.trainStep, attempts.sampleTasks].map((a) => a ?? 0);
    expect(Math.max(...writers), JSON.stringify(attempts)).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
