/**
 * Reward-log queries behind `multigym logs` and `multigym report`. Plain SQL works too; these are
 * the common cuts: per step and environment, and per reward checker.
 */
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { events, rewards, rollouts, runs, stepMetrics } from './schema.js';

/** Mean reward and pass rate of one (step, environment) of a run. */
export interface StepEnvRow {
  step: number;
  env: string;
  rollouts: number;
  meanReward: number;
  /** Share of ok rollouts with total reward ≥ 1. */
  passRate: number;
  meanCompletionTokens: number;
  /** Rollouts with a reward (`ok`); `meanReward` and `passRate` are over these (0 when there are none). */
  scored: number;
  /** Rollouts without a reward (checker_error + infra_error + rejected). */
  skipped: number;
  /** Rollouts whose reward checker failed (threw, timed out, rejected its config). */
  checkerErrors: number;
  /** Rollouts lost to infrastructure failures (sampling, or scoring after its retries). */
  infraErrors: number;
  /** Rollouts the environment refused (e.g. a context over the model's window). */
  rejected: number;
}

/** Per step and environment of a run's training rollouts, ordered by step then env. */
export async function rewardsByStep(db: Database, runId: string, phase = 'train'): Promise<StepEnvRow[]> {
  const rows = await db
    .select({
      step: rollouts.step,
      env: rollouts.env,
      rollouts: sql<number>`count(*)::int`,
      meanReward: sql<number>`coalesce(avg(${rollouts.reward}) filter (where ${rollouts.status} = 'ok'), 0)::float8`,
      passRate: sql<number>`coalesce(avg(case when ${rollouts.reward} >= 0.999999 then 1.0 else 0.0 end) filter (where ${rollouts.status} = 'ok'), 0)::float8`,
      meanCompletionTokens: sql<number>`coalesce(avg(${rollouts.completionTokens}), 0)::float8`,
      scored: sql<number>`(count(*) filter (where ${rollouts.status} = 'ok'))::int`,
      skipped: sql<number>`(count(*) filter (where ${rollouts.status} <> 'ok'))::int`,
      checkerErrors: sql<number>`(count(*) filter (where ${rollouts.status} = 'checker_error'))::int`,
      infraErrors: sql<number>`(count(*) filter (where ${rollouts.status} = 'infra_error'))::int`,
      rejected: sql<number>`(count(*) filter (where ${rollouts.status} = 'rejected'))::int`,
    })
    .from(rollouts)
    .where(and(eq(rollouts.runId, runId), eq(rollouts.phase, phase)))
    .groupBy(rollouts.step, rollouts.env)
    .orderBy(asc(rollouts.step), asc(rollouts.env));
  return rows.map((r) => ({
    ...r,
    rollouts: Number(r.rollouts),
    scored: Number(r.scored),
    skipped: Number(r.skipped),
    checkerErrors: Number(r.checkerErrors),
    infraErrors: Number(r.infraErrors),
    rejected: Number(r.rejected),
  }));
}

/** One reward component's statistics in one step and environment. */
export interface CheckerStepRow {
  step: number;
  env: string;
  /** The component's name (the checker's, or the reward spec's `name`). */
  checker: string;
  /** Mean value over the calls that answered (`ok` or `not_applicable`); null when none did. */
  mean: number | null;
  /** Calls that answered. */
  n: number;
  /** Calls that answered "not applicable" (value 0, counted in `n`). */
  notApplicable: number;
  /** Calls that failed: `checker_error` and `infra_error`. */
  checkerErrors: number;
  infraErrors: number;
}

/** Statistics of each reward component per step and environment. */
export async function checkerMeans(db: Database, runId: string): Promise<CheckerStepRow[]> {
  const rows = await db
    .select({
      step: rollouts.step,
      env: rollouts.env,
      checker: rewards.checker,
      mean: sql<
        number | null
      >`avg(${rewards.value}) filter (where ${rewards.status} in ('ok', 'not_applicable'))`,
      n: sql<number>`(count(*) filter (where ${rewards.status} in ('ok', 'not_applicable')))::int`,
      notApplicable: sql<number>`(count(*) filter (where ${rewards.status} = 'not_applicable'))::int`,
      checkerErrors: sql<number>`(count(*) filter (where ${rewards.status} = 'checker_error'))::int`,
      infraErrors: sql<number>`(count(*) filter (where ${rewards.status} = 'infra_error'))::int`,
    })
    .from(rewards)
    .innerJoin(rollouts, eq(rewards.rolloutId, rollouts.id))
    .where(and(eq(rollouts.runId, runId), eq(rollouts.phase, 'train')))
    .groupBy(rollouts.step, rollouts.env, rewards.checker)
    .orderBy(asc(rollouts.step), asc(rollouts.env), asc(rewards.checker));
  return rows.map((r) => ({
    ...r,
    mean: r.mean === null ? null : Number(r.mean),
    n: Number(r.n),
    notApplicable: Number(r.notApplicable),
    checkerErrors: Number(r.checkerErrors),
    infraErrors: Number(r.infraErrors),
  }));
}

/** Train metrics of every step of a run. */
export function stepMetricsOf(db: Database, runId: string) {
  return db.select().from(stepMetrics).where(eq(stepMetrics.runId, runId)).orderBy(asc(stepMetrics.step));
}

/** Runs, newest first. */
export function listRuns(db: Database, limit = 20) {
  return db
    .select({ id: runs.id, name: runs.name, status: runs.status, createdAt: runs.createdAt })
    .from(runs)
    .orderBy(desc(runs.createdAt))
    .limit(limit);
}

/** Events of a run (evaluations, checkpoints), oldest first. */
export function eventsOf(db: Database, runId: string, kind?: string) {
  const where = kind ? and(eq(events.runId, runId), eq(events.kind, kind)) : eq(events.runId, runId);
  return db.select().from(events).where(where).orderBy(asc(events.step), asc(events.id));
}

/**
 * The first `limit` training rollouts of one step (by environment, task, sample) for inspecting
 * samples, and how many the step has in all.
 */
export async function samplesOf(db: Database, runId: string, step: number, env?: string, limit = 20) {
  const where = and(
    eq(rollouts.runId, runId),
    eq(rollouts.step, step),
    eq(rollouts.phase, 'train'),
    env ? eq(rollouts.env, env) : undefined,
  );
  const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(rollouts).where(where);
  const rows = await db
    .select({
      id: rollouts.id,
      env: rollouts.env,
      taskId: rollouts.taskId,
      sample: rollouts.sample,
      reward: rollouts.reward,
      advantage: rollouts.advantage,
      status: rollouts.status,
      error: rollouts.error,
      completion: rollouts.completion,
    })
    .from(rollouts)
    .where(where)
    .orderBy(asc(rollouts.env), asc(rollouts.taskId), asc(rollouts.sample))
    .limit(limit);
  return { rows, total: Number(count?.n ?? 0) };
}
