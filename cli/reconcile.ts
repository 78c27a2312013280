/**
 * The `runs` table follows each workflow's real end. A run records its own completion and stop
 * (`finishRun`), but a workflow cannot record that it was terminated, cancelled or timed out, nor a
 * failure it did not catch. So the runs still marked `running` are compared with Temporal's
 * description of their workflow, and each closed one gets the status it really ended with —
 * `failed`, `terminated`, `cancelled`, `timed_out` or `completed` — and an event of kind `run_end`
 * holding the failure's message. The orchestrator worker does this every few seconds (and at start,
 * for runs that ended while no worker ran); `multigym logs` does it once when Temporal answers.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { events, runs, stepMetrics } from '../db/schema.js';
import { temporalAddress, temporalClient } from './context.js';
import { rootCause } from './failure.js';

/** Status recorded for each closed workflow status (Temporal's names). */
const ENDED: Record<string, string> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  TERMINATED: 'terminated',
  CANCELLED: 'cancelled',
  TIMED_OUT: 'timed_out',
};

/**
 * `multigym logs`: reconciles once when runs are marked `running` and Temporal answers within 1.5 s.
 * @returns a note for the user when such runs could not be checked, else undefined.
 */
export async function reconcileIfReachable(db: Database): Promise<string | undefined> {
  const [open] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(runs)
    .where(eq(runs.status, 'running'));
  if (!open || Number(open.n) === 0) return undefined;
  let client: Client;
  try {
    client = await temporalClient(temporalAddress(), 1500);
  } catch {
    return (
      `note: runs shown as running were not checked against Temporal (no server at ${temporalAddress()}); ` +
      'the orchestrator worker (`multigym dev` or `multigym worker`) corrects their status when it runs'
    );
  }
  try {
    await reconcileRuns(db, client);
    return undefined;
  } finally {
    await client.connection.close();
  }
}

/** A run whose recorded status was corrected. */
export interface ReconciledRun {
  id: string;
  status: string;
  /** The failure's root cause (failed, terminated, timed out). */
  message?: string;
}

/**
 * Updates every run marked `running` whose workflow has closed (see the module comment). Runs whose
 * workflow Temporal does not know (another namespace, history deleted) are left alone.
 * @returns the runs it changed.
 */
export async function reconcileRuns(db: Database, client: Client): Promise<ReconciledRun[]> {
  const open = await db.select({ id: runs.id }).from(runs).where(eq(runs.status, 'running'));
  const changed: ReconciledRun[] = [];
  for (const { id } of open) {
    const handle = client.workflow.getHandle(id);
    let name: string;
    try {
      name = (await handle.describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
    let status = ENDED[name];
    if (!status) continue;
    let message: string | undefined;
    try {
      const result = (await handle.result()) as { status?: string };
      if (typeof result?.status === 'string') status = result.status;
    } catch (err) {
      message = rootCause(err);
    }
    // The status and its event together: a reader never sees one without the other.
    const updated = await db.transaction(async (tx) => {
      const rows = await tx
        .update(runs)
        .set({ status, updatedAt: sql`now()` })
        .where(sql`${runs.id} = ${id} and ${runs.status} = 'running'`)
        .returning({ id: runs.id });
      if (rows.length === 0) return false; // the run recorded its own end meanwhile
      const [last] = await tx
        .select({ step: sql<number>`coalesce(max(${stepMetrics.step}), 0)::int` })
        .from(stepMetrics)
        .where(eq(stepMetrics.runId, id));
      await tx
        .insert(events)
        .values({
          runId: id,
          step: Number(last?.step ?? 0),
          kind: 'run_end',
          key: 'run_end',
          data: { status, workflowStatus: name, message },
        })
        .onConflictDoNothing();
      return true;
    });
    if (updated) changed.push({ id, status, message });
  }
  return changed;
}

/**
 * Reconciles every `intervalMs` (default 5 s) until stopped, starting at once. Errors (Temporal or the
 * database briefly away) are reported through `onError` and retried on the next round.
 */
export function startReconciler(opts: {
  db: Database;
  client: Client;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}): { stop(): Promise<void> } {
  let stopped = false;
  let wake = () => {};
  const loop = (async () => {
    while (!stopped) {
      await reconcileRuns(opts.db, opts.client).catch((err) => opts.onError?.(err));
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, opts.intervalMs ?? 5000).unref();
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
