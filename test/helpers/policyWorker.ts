/**
 * Starts the real Python policy worker (CPU) on a free port for a test, and stops it.
 * Usage: `const w = await startPolicyWorker(); ... await w.stop();`
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PolicyWorkerOptions, type Service, startPolicyWorkerProcess } from '../../cli/services.js';

export type RunningPolicyWorker = Service & { url: string };

/**
 * Spawns `python -m multigym_worker --model <model> --port 0` and waits for its listening line. Its
 * checkpoint root is a fresh temporary directory unless `checkpointDir` is given: runs checkpoint by
 * default, and a root shared between test runs would hold an earlier run's `runs/<id>/step-0`.
 */
export function startPolicyWorker(options: PolicyWorkerOptions = {}): Promise<RunningPolicyWorker> {
  const checkpointDir = options.checkpointDir ?? mkdtempSync(join(tmpdir(), 'mg-checkpoints-'));
  return startPolicyWorkerProcess({ timeoutMs: 90_000, ...options, checkpointDir });
}
