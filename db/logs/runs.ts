/**
 * Runs as the reward-log readers see them: the list (with environments, finished steps and the latest
 * rewards), one run's detail (what exists to filter on), and the check that a filter names things
 * that exist — an unknown run, environment, checker or step is an error listing what exists.
 */
import { and, desc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { groupCheckerStats, groupStats, type rollouts, runs, stepMetrics } from '../schema.js';
import { type LogFilter, LogQueryError, phaseCondition } from './filter.js';

/** Latest per-environment stats of a run (from its last finished step's metrics). */
export interface LatestEnvStats {
  meanReward: number | null;
  passRate: number | null;
  rollouts: number;
  checkerErrors: number;
  infraErrors: number;
}

/** One run in the list. Dates are ISO strings (the same JSON from the database and the API). */
export interface RunSummary {
  id: string;
  name: string;
  /** running | completed | stopped | failed | terminated | cancelled | timed_out */
  status: string;
  createdAt: string;
  updatedAt: string;
  /** Environments of the run's config, and any added later by `setMixture`. */
  envs: string[];
  /** Steps the config asks for. */
  steps: number | null;
  /**
   * Steps trained so far: the last step (1-based) with step metrics, 0 before the first. A step's
   * rollouts carry that step's number while it runs, so they can be one ahead of this.
   */
  finishedSteps: number;
  policyVersion: number | null;
  /** Per environment, the stats of step `finishedSteps`. */
  latest: Record<string, LatestEnvStats>;
}

/** One run with what exists in its logs. */
export interface RunDetail extends RunSummary {
  config: unknown;
  /** Distinct phases of its rollouts: `train`, `eval:N`. */
  phases: string[];
  /** Environments with train rollouts, and the step range of each. */
  rolloutEnvs: { env: string; firstStep: number; lastStep: number; rollouts: number }[];
  /** Reward components per environment (as scored at that environment's latest step). */
  checkers: { env: string; checker: string }[];
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

type RunRow = typeof runs.$inferSelect;

async function summarize(db: Database, rows: RunRow[]): Promise<RunSummary[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  // The last step-metrics row of each run (a few rows per run, one index range each).
  const last = await db
    .selectDistinctOn([stepMetrics.runId], {
      runId: stepMetrics.runId,
      step: stepMetrics.step,
      policyVersion: stepMetrics.policyVersion,
      envs: stepMetrics.envs,
    })
    .from(stepMetrics)
    .where(inArray(stepMetrics.runId, ids))
    .orderBy(stepMetrics.runId, desc(stepMetrics.step));
  const byRun = new Map(last.map((m) => [m.runId, m]));
  return rows.map((r) => {
    const m = byRun.get(r.id);
    const config = r.config as { steps?: number; environments?: { name: string }[] };
    const envStats = (m?.envs ?? {}) as Record<string, Partial<LatestEnvStats> & { rollouts?: number }>;
    const envs = [...new Set([...(config.environments ?? []).map((e) => e.name), ...Object.keys(envStats)])];
    const latest = Object.fromEntries(
      Object.entries(envStats).map(([env, s]) => [
        env,
        {
          meanReward: (s.rollouts ?? 0) > 0 ? (s.meanReward ?? null) : null,
          passRate: (s.rollouts ?? 0) > 0 ? (s.passRate ?? null) : null,
          rollouts: s.rollouts ?? 0,
          checkerErrors: s.checkerErrors ?? 0,
          infraErrors: s.infraErrors ?? 0,
        },
      ]),
    );
    return {
      id: r.id,
      name: r.name,
      status: r.status,
      createdAt: iso(r.createdAt),
      updatedAt: iso(r.updatedAt),
      envs,
      steps: typeof config.steps === 'number' ? config.steps : null,
      finishedSteps: m?.step ?? 0,
      policyVersion: m?.policyVersion ?? null,
      latest,
    };
  });
}

/** Runs, newest first, with environments, finished steps and latest rewards. */
export async function listRunSummaries(db: Database, limit = 50): Promise<RunSummary[]> {
  const rows = await db.select().from(runs).orderBy(desc(runs.createdAt)).limit(limit);
  return summarize(db, rows);
}

/** A run's row, or a `not_found` LogQueryError listing the most recent runs. */
async function runRow(db: Database, runId: string): Promise<RunRow> {
  const [row] = await db.select().from(runs).where(eq(runs.id, runId));
  if (row) return row;
  const recent = await db
    .select({ id: runs.id })
    .from(runs)
    .orderBy(desc(runs.createdAt))
    .limit(10)
    .then((rs) => rs.map((r) => r.id));
  throw new LogQueryError(
    `no run "${runId}"` +
      (recent.length ? `; recent runs: ${recent.join(', ')}` : '; no runs are logged in this database'),
    'run',
    'not_found',
    recent,
  );
}

/** One run with its phases, environments (step ranges) and reward components. */
export async function runDetail(db: Database, runId: string): Promise<RunDetail> {
  const row = await runRow(db, runId);
  const [summary] = await summarize(db, [row]);
  // From the per-group summaries (kept by triggers): one row per group, not G rollouts.
  const phases = await db
    .selectDistinct({ phase: groupStats.phase })
    .from(groupStats)
    .where(eq(groupStats.runId, runId))
    .then((rs) => rs.map((r) => r.phase).sort());
  const train = and(eq(groupStats.runId, runId), eq(groupStats.phase, 'train'));
  const envRows = await db
    .select({
      env: groupStats.env,
      firstStep: sql<number>`min(${groupStats.step})::int`,
      lastStep: sql<number>`max(${groupStats.step})::int`,
      rollouts: sql<number>`sum(${groupStats.n})::int`,
    })
    .from(groupStats)
    .where(train)
    .groupBy(groupStats.env)
    .orderBy(groupStats.env);
  // Components as scored at each environment's latest step: one step's rewards, not the whole run's.
  const c = groupCheckerStats;
  const checkers = await db
    .selectDistinct({ env: c.env, checker: c.checker })
    .from(c)
    .where(
      and(
        eq(c.runId, runId),
        eq(c.phase, 'train'),
        sql`(${c.env}, ${c.step}) in (select ${groupStats.env}, max(${groupStats.step}) from ${groupStats} where ${train} group by ${groupStats.env})`,
      ),
    )
    .orderBy(c.env, c.checker);
  return {
    ...summary!,
    config: row.config,
    phases,
    rolloutEnvs: envRows.map((e) => ({
      ...e,
      firstStep: Number(e.firstStep),
      lastStep: Number(e.lastStep),
      rollouts: Number(e.rollouts),
    })),
    checkers,
  };
}

/**
 * Checks that a filter names an existing run and, where given, environments, checkers and steps of
 * it; throws a `LogQueryError` (`not_found`) that lists what exists. Each check is one lookup in the
 * per-group summaries; the run's whole detail is read only to word an error.
 */
export async function checkFilter(db: Database, runId: string, f: LogFilter): Promise<void> {
  const row = await runRow(db, runId);
  const g = groupStats;
  const c = groupCheckerStats;
  const configEnvs = ((row.config as { environments?: { name: string }[] }).environments ?? []).map(
    (e) => e.name,
  );
  for (const env of f.env ?? []) {
    if (configEnvs.includes(env)) continue;
    const [hit] = await db
      .select({ one: sql`1` })
      .from(g)
      .where(and(eq(g.runId, runId), phaseCondition(f.phase, g.phase), eq(g.env, env)))
      .limit(1);
    if (hit) continue;
    const run = await runDetail(db, runId);
    const envNames = [...new Set([...run.envs, ...run.rolloutEnvs.map((e) => e.env)])];
    throw new LogQueryError(
      `run "${runId}" has no environment "${env}"; it has: ${envNames.join(', ') || '(none yet)'}`,
      'env',
      'not_found',
      envNames,
    );
  }
  for (const checker of f.checker ?? []) {
    const [hit] = await db
      .select({ one: sql`1` })
      .from(c)
      .where(and(eq(c.runId, runId), phaseCondition(f.phase, c.phase), eq(c.checker, checker)))
      .limit(1);
    if (hit) continue;
    const run = await runDetail(db, runId);
    const checkerNames = [...new Set(run.checkers.map((x) => x.checker))];
    throw new LogQueryError(
      `run "${runId}" has no reward checker "${checker}"; it has: ${checkerNames.join(', ') || '(none yet)'}`,
      'checker',
      'not_found',
      checkerNames,
    );
  }
  if (f.step) {
    const [r] = await db
      .select({
        first: sql<number | null>`min(${g.step})`,
        last: sql<number | null>`max(${g.step})`,
      })
      .from(g)
      .where(and(eq(g.runId, runId), phaseCondition(f.phase, g.phase)));
    const first = r?.first === null || r?.first === undefined ? null : Number(r.first);
    const last = r?.last === null || r?.last === undefined ? null : Number(r.last);
    const outside =
      first === null ||
      last === null ||
      (f.step.from !== undefined && f.step.from > last) ||
      (f.step.to !== undefined && f.step.to < first);
    if (outside)
      throw new LogQueryError(
        first === null
          ? `run "${runId}" has no ${f.phase} rollouts yet`
          : `run "${runId}" has ${f.phase} rollouts at steps ${first}..${last} (steps are 1-based)`,
        'step',
        'not_found',
        first === null ? null : { first, last },
      );
  }
}

/** Steps (1-based) within `f.step` as SQL bounds on a step column; shared by the aggregates. */
export function stepBounds(column: typeof rollouts.step | typeof stepMetrics.step, f: LogFilter) {
  return and(
    f.step?.from !== undefined ? gte(column, f.step.from) : undefined,
    f.step?.to !== undefined ? lte(column, f.step.to) : undefined,
  );
}
