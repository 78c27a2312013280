/**
 * A policy worker started by `multigym dev` or `multigym quickstart --resume` begins with fresh
 * weights. Before the orchestrator workers serve, the run that uses it gets its own weights back —
 * the same restore the run does by itself on a mismatch (activities/policySync.ts: newest checkpoint,
 * then the steps after it trained again), recorded as a `policy_restore` event — so the run goes on
 * without a refused request first.
 */
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { restoreRunPolicy, runningOn } from '../activities/policySync.js';
import type { Database } from '../db/client.js';
import { runs } from '../db/schema.js';
import { PolicyClient } from '../policy/client.js';
import type { RunConfig } from '../workflows/config.js';
import type { RunState } from '../workflows/contracts.js';

/** Host and port of a URL, with every loopback name as 127.0.0.1. */
const endpoint = (url: string): string => {
  const u = new URL(url);
  const host = ['localhost', '0.0.0.0', '[::1]', '::1'].includes(u.hostname) ? '127.0.0.1' : u.hostname;
  return `${host}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
};

export interface ResumeRunPolicyOptions {
  db: Database;
  client: Client;
  policyUrl: string;
  /** The run to resume; default: the one running run whose `policy.url` is this worker. */
  runId?: string;
  log?: (line: string) => void;
}

/**
 * Restores the weights of the run using the worker at `policyUrl`. Returns the run and its policy
 * version, or undefined when no running run uses the worker or it has not trained a step yet. A run
 * that cannot be restored (no checkpoint, another run's weights) is reported through `log` and left
 * to fail with its own clear message when it next asks the worker.
 */
export async function resumeRunPolicy(
  o: ResumeRunPolicyOptions,
): Promise<{ runId: string; policyVersion: number } | undefined> {
  const log = o.log ?? console.log;
  const isRunActive = runningOn(o.client);
  const rows = await o.db
    .select({ id: runs.id, config: runs.config, state: runs.state })
    .from(runs)
    .where(o.runId ? eq(runs.id, o.runId) : eq(runs.status, 'running'));
  const mine = rows.filter((r) => endpoint((r.config as RunConfig).policy.url) === endpoint(o.policyUrl));
  const running: typeof mine = [];
  for (const r of mine) if (await isRunActive(r.id)) running.push(r);
  if (running.length > 1) {
    log(
      `runs ${running.map((r) => r.id).join(', ')} all use the policy worker ${o.policyUrl}: not restoring ` +
        'any (a worker trains one run at a time; the first to ask claims it, the others are refused)',
    );
    return undefined;
  }
  const run = running[0];
  const state = run?.state as RunState | null | undefined;
  if (!run || !state) return undefined;
  try {
    await restoreRunPolicy(
      { db: o.db, policy: new PolicyClient({ url: o.policyUrl }), isRunActive },
      {
        runId: run.id,
        step: state.step,
        policyVersion: state.policyVersion,
        reason: `a new policy worker was started for run ${run.id} (multigym dev/quickstart)`,
      },
    );
  } catch (err) {
    log(`could not restore run ${run.id}'s weights into ${o.policyUrl}: ${(err as Error).message}`);
    return undefined;
  }
  log(`policy worker holds run ${run.id} again (step ${state.step}, policy v${state.policyVersion})`);
  return { runId: run.id, policyVersion: state.policyVersion };
}
