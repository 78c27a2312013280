/**
 * Starts the real Python policy worker (CPU) on a free port for a test, and stops it.
 * Usage: `const w = await startPolicyWorker(); ... await w.stop();`
 */
import { type PolicyWorkerOptions, type Service, startPolicyWorkerProcess } from '../../cli/services.js';

export type RunningPolicyWorker = Service & { url: string };

/** Spawns `python -m multigym_worker --model <model> --port 0` and waits for its listening line. */
export function startPolicyWorker(options: PolicyWorkerOptions = {}): Promise<RunningPolicyWorker> {
  return startPolicyWorkerProcess({ timeoutMs: 90_000, ...options });
}
