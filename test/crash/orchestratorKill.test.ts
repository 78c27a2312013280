/**
 * Crash-proof (issue 8): the orchestrator worker process is killed with SIGKILL twice in one run and
 * a new one started each time: first while step 2's rollouts are being written, then while step 3's
 * `train_step` has been trained by the policy worker but not yet acknowledged (a proxy holds the
 * answer back, so the kill lands exactly in the window where a retry could train twice). The run
 * finishes; no rollout or reward row is written twice, no step is trained twice and policy versions
 * run 1..N without gaps.
 *
 * Real parts: the Temporal dev server, a fresh PostgreSQL database, the Python policy worker on CPU,
 * and `multigym worker` in its own OS process (test/helpers/workerProcess.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyClient } from '../../policy/client.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { type HoldingProxy, startHoldingProxy } from '../helpers/holdingProxy.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTemporal } from '../helpers/stack.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workerProcess.js';
import { crashRunConfig, expectIntact, maxAttempts, RUN, stepState, waitFor, within } from './common.js';

let temporal: TestWorkflowEnvironment | undefined;
let database: TestDatabase | undefined;
let policy: RunningPolicyWorker | undefined;
let proxy: HoldingProxy | undefined;
const workers: WorkerProcess[] = [];
const home = mkdtempSync(join(tmpdir(), 'multigym-crash-'));

beforeAll(async () => {
  [temporal, database, policy] = await Promise.all([
    startTemporal(),
    createTestDatabase(),
    startPolicyWorker(),
  ]);
  proxy = await startHoldingProxy(policy.url);
});
afterAll(async () => {
  try {
    await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
    await within(10_000, proxy?.close());
    await Promise.allSettled([policy?.stop(), within(30_000, database?.drop())]);
    await temporal?.teardown();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

const spawnWorker = async () => {
  const w = await startWorkerProcess({
    temporalAddress: temporal!.address,
    databaseUrl: database!.url,
    home,
    envs: ['math'],
  });
  workers.push(w);
  return w;
};

describe('orchestrator worker killed mid-step', () => {
  it('SIGKILL in step 2 rollouts and in step 3 training; new workers finish the run, nothing twice', async () => {
    const runId = 'crash-orchestrator-kill';
    const trainKey = `${runId}:3`;
    const heldTrain = proxy!.hold(
      (path, body) =>
        path === '/v1/train_step' && (body as { idempotency_key?: string }).idempotency_key === trainKey,
    );
    const first = await spawnWorker();
    const handle = await temporal!.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config: crashRunConfig(proxy!.url) }],
    });
    const db = database!.db;
    await waitFor('step 2 rollouts being written', async () => {
      const s = await stepState(db, runId, 2);
      return s.rollouts > 0 ? s : undefined;
    });
    await first.kill('SIGKILL');
    expect(first.process.signalCode).toBe('SIGKILL');
    // The kill landed inside step 2: its rollouts were not all written and it was not trained.
    const atKill = await stepState(db, runId, 2);
    expect(atKill.trained).toBe(false);
    expect(atKill.rollouts).toBeLessThan(RUN.prompts * RUN.group);

    const second = await spawnWorker();
    // Step 3's train_step reached the policy worker and was trained; its answer is held back.
    const held = await heldTrain;
    expect(held.status).toBe(200);
    expect(held.answer).toMatchObject({ policy_version: 3, replayed: false });
    await second.kill('SIGKILL');
    expect(second.process.signalCode).toBe('SIGKILL');
    expect((await stepState(db, runId, 3)).trained).toBe(false);

    await spawnWorker();
    const result = (await handle.result()) as RlRunResult;
    expect(result.status).toBe('completed');
    expect(result.steps).toBe(RUN.steps);
    expect(result.policyVersion).toBe(RUN.steps);

    await expectIntact(db, runId);
    // Each step trained once: the worker's own counter saw exactly `steps` updates.
    const info = await new PolicyClient({ url: policy!.url }).info();
    expect(info.policy_version).toBe(RUN.steps);
    // The activities in flight at the kills were retried (after their heartbeat timeouts): the rollouts
    // resumed, and the retried train_step was answered from the worker's idempotency record.
    const attempts = await maxAttempts(handle);
    expect(attempts.rolloutGroups).toBeGreaterThanOrEqual(2);
    expect(attempts.trainStep).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
