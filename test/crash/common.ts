/**
 * Shared parts of the crash tests: a small GSM8K run config with short heartbeat timeouts, a poller,
 * and the integrity report the tests assert on (duplicates by business key, step metrics, policy
 * versions, retried activities in the workflow history).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../../db/client.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { dataPath } from '../helpers/data.js';

/** Size of every crash-test run: steps × prompts × group. */
export const RUN = { steps: 4, prompts: 8, group: 4 } as const;

/** A 4-step GSM8K run; heartbeat timeouts of seconds so a killed worker's activities come back fast. */
export function crashRunConfig(policyUrl: string, over: Partial<RunConfigInput> = {}): RunConfigInput {
  return {
    name: 'crash',
    seed: 7,
    steps: RUN.steps,
    policy: { url: policyUrl },
    environments: [
      {
        name: 'math',
        prompts_per_step: RUN.prompts,
        group_size: RUN.group,
        sampling: { max_tokens: 16, temperature: 1 },
        config: { dataset: { path: dataPath('gsm8k/test.jsonl'), format: 'gsm8k' } },
      },
    ],
    algorithm: { learning_rate: 1e-4, micro_batch_size: 32 },
    timeouts: { rollout_heartbeat_s: 10, main_heartbeat_s: 30 },
    ...over,
  };
}

export { waitFor } from '../helpers/wait.js';

async function rows<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as { rows: T[] };
  return res.rows;
}

/** Where a run is now: train rollouts of `step` written, and whether `step` has been trained. */
export async function stepState(
  db: Database,
  runId: string,
  step: number,
): Promise<{ rollouts: number; trained: boolean }> {
  const [r] = await rows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM rollouts WHERE run_id = ${runId} AND phase = 'train' AND step = ${step}`,
  );
  const [m] = await rows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM step_metrics WHERE run_id = ${runId} AND step = ${step}`,
  );
  return { rollouts: r!.n, trained: m!.n > 0 };
}

/** Row counts against distinct business keys, and the run's step / policy-version sequences. */
export interface Integrity {
  rollouts: number;
  distinctRollouts: number;
  rewards: number;
  distinctRewards: number;
  /** `ok` rollouts without any reward row. */
  okWithoutReward: number;
  /** Train rollouts per step, in step order. */
  rolloutsPerStep: number[];
  /** step_metrics: steps and their policy versions, in step order. */
  metricSteps: number[];
  metricVersions: number[];
  /** policy_versions: versions in order, and the step each came from. */
  versions: number[];
  versionSteps: number[];
}

/** Reads the integrity report of a run. */
export async function integrity(db: Database, runId: string): Promise<Integrity> {
  const [ro] = await rows<{ n: number; d: number }>(
    db,
    sql`SELECT count(*)::int AS n,
               count(DISTINCT (run_id, phase, step, env, task_id, sample))::int AS d
        FROM rollouts WHERE run_id = ${runId}`,
  );
  const [rw] = await rows<{ n: number; d: number }>(
    db,
    sql`SELECT count(*)::int AS n, count(DISTINCT (w.rollout_id, w.checker))::int AS d
        FROM rewards w JOIN rollouts r ON r.id = w.rollout_id WHERE r.run_id = ${runId}`,
  );
  const [orphan] = await rows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM rollouts r
        WHERE r.run_id = ${runId} AND r.status = 'ok'
          AND NOT EXISTS (SELECT 1 FROM rewards w WHERE w.rollout_id = r.id)`,
  );
  const perStep = await rows<{ step: number; n: number }>(
    db,
    sql`SELECT step, count(*)::int AS n FROM rollouts
        WHERE run_id = ${runId} AND phase = 'train' GROUP BY step ORDER BY step`,
  );
  const metrics = await rows<{ step: number; v: number }>(
    db,
    sql`SELECT step, policy_version AS v FROM step_metrics WHERE run_id = ${runId} ORDER BY step`,
  );
  const versions = await rows<{ v: number; step: number }>(
    db,
    sql`SELECT version AS v, step FROM policy_versions WHERE run_id = ${runId} ORDER BY version`,
  );
  return {
    rollouts: ro!.n,
    distinctRollouts: ro!.d,
    rewards: rw!.n,
    distinctRewards: rw!.d,
    okWithoutReward: orphan!.n,
    rolloutsPerStep: perStep.map((r) => r.n),
    metricSteps: metrics.map((m) => m.step),
    metricVersions: metrics.map((m) => m.v),
    versions: versions.map((v) => v.v),
    versionSteps: versions.map((v) => v.step),
  };
}

/** 1..n. */
export const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/**
 * The highest attempt number of each activity type in a workflow's history (an attempt above 1
 * means the activity was retried: after a heartbeat timeout or a failure).
 */
export async function maxAttempts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const typeOf = new Map<string, string>();
  const out: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeOf.get(String(started.scheduledEventId)) ?? '?';
      out[type] = Math.max(out[type] ?? 0, started.attempt ?? 1);
    }
  }
  return out;
}

/**
 * Waits for `work` to settle, or `ms` at most: cleanup in afterAll must go on (and free the
 * processes after it) even when one step hangs, e.g. a pool waiting for a client a failed test left.
 */
export async function within(ms: number, work: Promise<unknown> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve(work).catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Asserts the run left the database whole: every rollout and reward once, one reward row set per ok
 * rollout, the full number of rollouts per step, steps 1..N and policy versions 0..N without gaps.
 */
export async function expectIntact(db: Database, runId: string): Promise<void> {
  const report = await integrity(db, runId);
  expect(report.rollouts).toBe(RUN.steps * RUN.prompts * RUN.group);
  expect(report.distinctRollouts).toBe(report.rollouts);
  expect(report.rewards).toBeGreaterThan(0);
  expect(report.distinctRewards).toBe(report.rewards);
  expect(report.okWithoutReward).toBe(0);
  expect(report.rolloutsPerStep).toEqual(Array(RUN.steps).fill(RUN.prompts * RUN.group));
  expect(report.metricSteps).toEqual(oneTo(RUN.steps));
  expect(report.metricVersions).toEqual(oneTo(RUN.steps));
  // Version 0 at step 0: the start weights, which a run that checkpoints saves before its first step.
  expect(report.versions).toEqual([0, ...oneTo(RUN.steps)]);
  expect(report.versionSteps).toEqual([0, ...oneTo(RUN.steps)]);
}
