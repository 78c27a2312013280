/**
 * Workflow-side handling of a policy worker that holds other weights than the run's.
 *
 * Every generate, train step and checkpoint of a run expects the worker to hold the run at its
 * policy version; a worker holding anything else refuses (`policy_mismatch`, non-retryable) and
 * changes nothing. The workflow then runs `syncPolicy` (restore the run's weights, see
 * activities/policySync.ts) and does the refused work again. Workflow code only: no I/O.
 */
import { ApplicationFailure } from '@temporalio/workflow';

/** The worker error type of a refused precondition (policy/worker errors.py). */
export const POLICY_MISMATCH = 'policy_mismatch';

/** Restores the run's weights into the worker; `reason` is recorded with the restore. */
export type SyncPolicy = (reason: string) => Promise<unknown>;

/** Mismatches tolerated for one piece of work before the run fails: the worker keeps changing. */
const MAX_SYNCS = 3;

/** The innermost failure of a chain (activity → application, child workflow → activity → …). */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 10 && e && typeof e === 'object' && 'cause' in e && e.cause; i++) e = e.cause;
  return e;
}

/** True when `err` is, or was caused by, a refused `expect` precondition. */
export function isPolicyMismatch(err: unknown): boolean {
  let e = err;
  for (let i = 0; i < 10 && e && typeof e === 'object'; i++) {
    if (e instanceof ApplicationFailure && e.type === POLICY_MISMATCH) return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}

/**
 * Waits for every promise to settle (no activity is left running behind a failure, so a retry never
 * races it), then returns their values or throws: a failure other than a policy mismatch first,
 * since restoring the weights would not cure it.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length) throw failures.find((f) => !isPolicyMismatch(f)) ?? failures[0];
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Runs `work`; when the worker refused it for holding other weights, restores the run's weights with
 * `sync` and runs it again. After `MAX_SYNCS` refusals the run fails (non-retryable
 * `PolicyWorkerUnstable`): something else keeps changing the worker's weights.
 */
export async function withRunWeights<T>(what: string, sync: SyncPolicy, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isPolicyMismatch(err)) throw err;
      const message = (rootCause(err) as Error).message;
      if (attempt > MAX_SYNCS) {
        throw ApplicationFailure.nonRetryable(
          `the policy worker's weights changed under the run ${MAX_SYNCS} times during ${what}; is ` +
            `another client training or reloading it? Last refusal: ${message}`,
          'PolicyWorkerUnstable',
        );
      }
      await sync(`${what}: ${message}`);
    }
  }
}
