/**
 * Crash-proof (issue 8): the orchestrator worker process is killed with SIGKILL in the middle of a
 * step and a new one is started. The run finishes; no rollout or reward row is written twice, no step
 * is trained twice and policy versions run 1..N without gaps.
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
import { hasSharedData } from '../helpers/paths.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTemporal } from '../helpers/stack.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workerProcess.js';
import { crashRunConfig, integrity, maxAttempts, oneTo, RUN, stepState, waitFor } from './common.js';

if (!hasSharedData) console.warn('test/crash: shared data (GSM8K) missing; skipping');

let temporal: TestWorkflowEnvironment | undefined;
let database: TestDatabase | undefined;
let policy: RunningPolicyWorker | undefined;
const workers: WorkerProcess[] = [];
const home = mkdtempSync(join(tmpdir(), 'multigym-crash-'));

beforeAll(async () => {
  if (!hasSharedData) return;
  [temporal, database, policy] = await Promise.all([
    startTemporal(),
    createTestDatabase(),
    startPolicyWorker(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
  await Promise.allSettled([policy?.stop(), database?.drop()]);
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
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

describe.skipIf(!hasSharedData)('orchestrator worker killed mid-step', () => {
  it('SIGKILL during step 2 rollouts, a new worker finishes the run without duplicates or double training', async () => {
    const runId = 'crash-orchestrator-kill';
    const first = await spawnWorker();
    const handle = await temporal!.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config: crashRunConfig(policy!.url) }],
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

    await spawnWorker();
    const result = (await handle.result()) as RlRunResult;
    expect(result.status).toBe('completed');
    expect(result.steps).toBe(RUN.steps);
    expect(result.policyVersion).toBe(RUN.steps);

    const report = await integrity(db, runId);
    expect(report.rollouts).toBe(RUN.steps * RUN.prompts * RUN.group);
    expect(report.distinctRollouts).toBe(report.rollouts);
    expect(report.rewards).toBeGreaterThan(0);
    expect(report.distinctRewards).toBe(report.rewards);
    expect(report.okWithoutReward).toBe(0);
    expect(report.rolloutsPerStep).toEqual(Array(RUN.steps).fill(RUN.prompts * RUN.group));
    expect(report.metricSteps).toEqual(oneTo(RUN.steps));
    expect(report.metricVersions).toEqual(oneTo(RUN.steps));
    expect(report.versions).toEqual(oneTo(RUN.steps));
    expect(report.versionSteps).toEqual(oneTo(RUN.steps));
    // Each step trained once: the worker's own counter saw exactly `steps` updates.
    const info = await new PolicyClient({ url: policy!.url }).info();
    expect(info.policy_version).toBe(RUN.steps);
    // The rollout activity in flight at the kill was retried (after its heartbeat timeout) and resumed.
    expect((await maxAttempts(handle)).rolloutGroups).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
