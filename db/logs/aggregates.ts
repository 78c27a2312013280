/**
 * Reward-log aggregates: per step and environment (or per environment over a step range), per reward
 * checker, and the policy worker's train metrics per step. Each is one SQL query over the rollouts a
 * filter keeps (`filter.ts`); groups (task × step) are formed in SQL and only a small histogram of
 * (group size, passes) comes back, from which pass@k is computed exactly. A filter that keeps whole
 * groups (phase, environment, step; checker for checker stats) reads the per-group summary rows that
 * triggers keep (`group_stats`, `group_checker_stats`, migration 0004): one row per group, not G
 * rollouts or G × components reward rows; other filters read the rollouts. Both give the same numbers
 * (test/logs/groupStats.test.ts).
 *
 * Definitions (ok rollouts only, unless said otherwise):
 * - mean reward: mean total reward; pass rate: share with total reward ≥ 1 (− 1e-6);
 * - pass@k: unbiased estimator 1 − C(n−c, k)/C(n, k) per group of n ok samples with c passes, averaged
 *   over groups with n ≥ k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code",
 *   eq. 1); k defaults to each group's own n ("any sample of the group passed");
 * - zero-variance groups: groups whose ok rewards are all equal (max − min ≤ 1e-9, as
 *   `policy/advantages.ts`), they carry no GRPO signal; groups with fewer than 2 ok samples are counted
 *   apart (`smallGroups`);
 * - lengths and truncation rate: over every rollout (a truncated sample is `finish_reason = 'length'`).
 */
import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { groupCheckerStats, groupStats, rewards, rollouts, stepMetrics } from '../schema.js';
import { groupCondition, keepsWholeGroups, type LogFilter, rolloutCondition } from './filter.js';
import { stepBounds } from './runs.js';

/** Stats of the rollouts of one (step, environment), or of one environment over a step range. */
export interface RolloutStats {
  /** Absent for per-environment stats over a range. */
  step?: number;
  env: string;
  /** All rollouts, whatever their status. */
  rollouts: number;
  /** Rollouts with a reward (`ok`). */
  scored: number;
  meanReward: number | null;
  /** Population standard deviation of the total reward. */
  stdReward: number | null;
  passRate: number | null;
  /** pass@k (see the module comment); null when no group has k ok samples. */
  passAtK: number | null;
  /** The k of `passAtK`; null when k is each group's own size. */
  k: number | null;
  groups: number;
  zeroVarianceGroups: number;
  /** Groups with fewer than 2 ok samples (no baseline: left out of training). */
  smallGroups: number;
  meanCompletionTokens: number | null;
  maxCompletionTokens: number | null;
  meanThinkingTokens: number | null;
  /** Share of rollouts cut at the token limit. */
  truncationRate: number | null;
  checkerErrors: number;
  infraErrors: number;
  rejected: number;
}

const PASS = 1 - 1e-6;

/** Binomial-ratio form of pass@k for one group: 1 − C(n−c,k)/C(n,k), computed as a product. */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

type Hist = {
  step: number | null;
  env: string;
  nOk: number;
  nPass: number;
  groups: number;
  zeroVar: number;
  n: number;
  sumR: number | null;
  sumR2: number | null;
  sumTokens: number;
  maxTokens: number;
  sumThinking: number;
  truncated: number;
  checkerErrors: number;
  infraErrors: number;
  rejected: number;
};

/**
 * Rollout stats per step and environment (`by: 'step'`) or per environment over the filter's range
 * (`by: 'env'`), ordered by step then environment. `k` sets pass@k (default: each group's size).
 */
export async function rolloutStats(
  db: Database,
  runId: string,
  f: LogFilter,
  opts: { by: 'step' | 'env'; k?: number },
): Promise<RolloutStats[]> {
  const byStep = opts.by === 'step';
  const stepCol = byStep ? sql`step` : sql`null::int`;
  const groupBy = byStep ? sql`step, env, n_ok, n_pass` : sql`env, n_ok, n_pass`;
  // Whole groups: one summary row per group (kept by triggers) instead of its G rollouts.
  const g = keepsWholeGroups(f)
    ? sql`select ${groupStats.step} as step, ${groupStats.env} as env, ${groupStats.n} as n,
        ${groupStats.nOk} as n_ok, ${groupStats.nPass} as n_pass, ${groupStats.sumReward} as sum_r,
        ${groupStats.sumReward2} as sum_r2, ${groupStats.maxReward} - ${groupStats.minReward} as spread,
        ${groupStats.sumCompletionTokens} as sum_tokens, ${groupStats.maxCompletionTokens} as max_tokens,
        ${groupStats.sumThinkingTokens} as sum_thinking, ${groupStats.truncated} as truncated,
        ${groupStats.checkerErrors} as checker_errors, ${groupStats.infraErrors} as infra_errors,
        ${groupStats.rejected} as rejected
      from ${groupStats} where ${groupCondition(groupStats, runId, f)}`
    : sql`select ${rollouts.step} as step, ${rollouts.env} as env,
      count(*) as n,
      count(*) filter (where ${rollouts.status} = 'ok') as n_ok,
      count(*) filter (where ${rollouts.status} = 'ok' and ${rollouts.reward} >= ${PASS}) as n_pass,
      sum(${rollouts.reward}) filter (where ${rollouts.status} = 'ok') as sum_r,
      sum(${rollouts.reward} * ${rollouts.reward}) filter (where ${rollouts.status} = 'ok') as sum_r2,
      max(${rollouts.reward}) filter (where ${rollouts.status} = 'ok') - min(${rollouts.reward}) filter (where ${rollouts.status} = 'ok') as spread,
      sum(${rollouts.completionTokens}) as sum_tokens,
      max(${rollouts.completionTokens}) as max_tokens,
      sum(${rollouts.thinkingTokens}) as sum_thinking,
      count(*) filter (where ${rollouts.finishReason} = 'length') as truncated,
      count(*) filter (where ${rollouts.status} = 'checker_error') as checker_errors,
      count(*) filter (where ${rollouts.status} = 'infra_error') as infra_errors,
      count(*) filter (where ${rollouts.status} = 'rejected') as rejected
    from ${rollouts} where ${rolloutCondition(runId, f)}
    group by ${rollouts.phase}, ${rollouts.step}, ${rollouts.env}, ${rollouts.taskId}`;
  const result = await db.execute(sql`with g as (${g})
    select ${stepCol} as step, env, n_ok::int as "nOk", n_pass::int as "nPass", count(*)::int as groups,
      (count(*) filter (where n_ok >= 2 and spread <= 1e-9))::int as "zeroVar",
      sum(n)::float8 as n, sum(sum_r)::float8 as "sumR", sum(sum_r2)::float8 as "sumR2",
      sum(sum_tokens)::float8 as "sumTokens", max(max_tokens)::int as "maxTokens",
      sum(sum_thinking)::float8 as "sumThinking", sum(truncated)::float8 as truncated,
      sum(checker_errors)::float8 as "checkerErrors", sum(infra_errors)::float8 as "infraErrors",
      sum(rejected)::float8 as rejected
    from g group by ${groupBy}`);
  return foldHistogram(rowsOf<Hist>(result), byStep, opts.k);
}

/** Rows of `db.execute` under either driver (node-postgres and PGlite both answer `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}

function foldHistogram(rows: Hist[], byStep: boolean, k?: number): RolloutStats[] {
  type Acc = Hist & { smallGroups: number; passK: number; passKGroups: number };
  const acc = new Map<string, Acc>();
  for (const raw of rows) {
    const h = Object.fromEntries(
      Object.entries(raw).map(([key, v]) => [key, key === 'env' || v === null ? v : Number(v)]),
    ) as Hist;
    const key = `${h.step ?? ''}\u0000${h.env}`;
    let a = acc.get(key);
    if (!a) {
      a = {
        ...h,
        groups: 0,
        zeroVar: 0,
        n: 0,
        sumR: 0,
        sumR2: 0,
        sumTokens: 0,
        maxTokens: 0,
        sumThinking: 0,
        truncated: 0,
        checkerErrors: 0,
        infraErrors: 0,
        rejected: 0,
        nOk: 0,
        nPass: 0,
        smallGroups: 0,
        passK: 0,
        passKGroups: 0,
      };
      acc.set(key, a);
    }
    a.groups += h.groups;
    a.zeroVar += h.zeroVar;
    a.n += h.n;
    a.nOk += h.nOk * h.groups;
    a.nPass += h.nPass * h.groups;
    a.sumR = (a.sumR ?? 0) + (h.sumR ?? 0);
    a.sumR2 = (a.sumR2 ?? 0) + (h.sumR2 ?? 0);
    a.sumTokens += h.sumTokens;
    a.maxTokens = Math.max(a.maxTokens, h.maxTokens ?? 0);
    a.sumThinking += h.sumThinking;
    a.truncated += h.truncated;
    a.checkerErrors += h.checkerErrors;
    a.infraErrors += h.infraErrors;
    a.rejected += h.rejected;
    if (h.nOk < 2) a.smallGroups += h.groups;
    const kk = k ?? h.nOk;
    if (h.nOk >= kk && kk >= 1) {
      a.passK += passAtK(h.nOk, h.nPass, kk) * h.groups;
      a.passKGroups += h.groups;
    }
  }
  const out = [...acc.values()].map((a): RolloutStats => {
    const mean = a.nOk > 0 ? a.sumR! / a.nOk : null;
    return {
      ...(byStep ? { step: a.step! } : {}),
      env: a.env,
      rollouts: a.n,
      scored: a.nOk,
      meanReward: mean,
      stdReward: mean === null ? null : Math.sqrt(Math.max(0, a.sumR2! / a.nOk - mean * mean)),
      passRate: a.nOk > 0 ? a.nPass / a.nOk : null,
      passAtK: a.passKGroups > 0 ? a.passK / a.passKGroups : null,
      k: k ?? null,
      groups: a.groups,
      zeroVarianceGroups: a.zeroVar,
      smallGroups: a.smallGroups,
      meanCompletionTokens: a.n > 0 ? a.sumTokens / a.n : null,
      maxCompletionTokens: a.n > 0 ? a.maxTokens : null,
      meanThinkingTokens: a.n > 0 ? a.sumThinking / a.n : null,
      truncationRate: a.n > 0 ? a.truncated / a.n : null,
      checkerErrors: a.checkerErrors,
      infraErrors: a.infraErrors,
      rejected: a.rejected,
    };
  });
  return out.sort((x, y) => (x.step ?? 0) - (y.step ?? 0) || x.env.localeCompare(y.env));
}

/** One reward component's stats in one step and environment. */
export interface CheckerStats {
  step: number;
  env: string;
  checker: string;
  /** Mean value over the calls that answered (`ok` or `not_applicable`); null when none did. */
  mean: number | null;
  /** Share of answered calls with value ≥ 1. */
  passRate: number | null;
  /** Calls that answered. */
  n: number;
  /** Calls that answered "not applicable" (counted in `n`, value 0). */
  notApplicable: number;
  /** Calls that failed (threw, timed out, misconfigured) and those lost to infrastructure errors. */
  checkerErrors: number;
  infraErrors: number;
}

/** Stats of each reward component per step and environment, over the rollouts the filter keeps. */
export async function checkerStats(db: Database, runId: string, f: LogFilter): Promise<CheckerStats[]> {
  const answered = sql`${rewards.status} in ('ok', 'not_applicable')`;
  const c = groupCheckerStats;
  const rows = keepsWholeGroups(f, { checkerStats: true })
    ? // Whole groups: the per-group checker summaries (kept by triggers) instead of every reward row.
      await db
        .select({
          step: c.step,
          env: c.env,
          checker: c.checker,
          mean: sql<number | null>`(sum(${c.sumValue}) / nullif(sum(${c.nValue}), 0))::float8`,
          passRate: sql<number | null>`(sum(${c.nPass})::float8 / nullif(sum(${c.n}), 0))::float8`,
          n: sql<number>`sum(${c.n})::int`,
          notApplicable: sql<number>`sum(${c.notApplicable})::int`,
          checkerErrors: sql<number>`sum(${c.checkerErrors})::int`,
          infraErrors: sql<number>`sum(${c.infraErrors})::int`,
        })
        .from(c)
        .where(groupCondition(c, runId, f))
        .groupBy(c.step, c.env, c.checker)
        .orderBy(asc(c.step), asc(c.env), asc(c.checker))
    : await db
        .select({
          step: rollouts.step,
          env: rollouts.env,
          checker: rewards.checker,
          mean: sql<number | null>`(avg(${rewards.value}) filter (where ${answered}))::float8`,
          passRate: sql<
            number | null
          >`(avg(case when ${rewards.value} >= ${PASS} then 1.0 else 0.0 end) filter (where ${answered}))::float8`,
          n: sql<number>`(count(*) filter (where ${answered}))::int`,
          notApplicable: sql<number>`(count(*) filter (where ${rewards.status} = 'not_applicable'))::int`,
          checkerErrors: sql<number>`(count(*) filter (where ${rewards.status} = 'checker_error'))::int`,
          infraErrors: sql<number>`(count(*) filter (where ${rewards.status} = 'infra_error'))::int`,
        })
        .from(rewards)
        .innerJoin(rollouts, eq(rewards.rolloutId, rollouts.id))
        .where(and(rolloutCondition(runId, f), f.checker ? inArray(rewards.checker, f.checker) : undefined))
        .groupBy(rollouts.step, rollouts.env, rewards.checker)
        .orderBy(asc(rollouts.step), asc(rollouts.env), asc(rewards.checker));
  return rows.map((r) => ({
    ...r,
    mean: r.mean === null ? null : Number(r.mean),
    passRate: r.passRate === null ? null : Number(r.passRate),
    n: Number(r.n),
    notApplicable: Number(r.notApplicable),
    checkerErrors: Number(r.checkerErrors),
    infraErrors: Number(r.infraErrors),
  }));
}

/** The policy worker's metrics of one train step (loss, KL, clip fractions, entropy, …, as it sent them). */
export interface TrainStats {
  step: number;
  policyVersion: number;
  /** TrainMetrics (policy/protocol.ts): loss, kl, clip_frac_low, clip_frac_high, entropy, grad_norm, tokens, seconds, learning_rate. */
  train: Record<string, unknown>;
  createdAt: string;
}

/** Train metrics per step within the filter's step range. */
export async function trainStats(db: Database, runId: string, f: LogFilter): Promise<TrainStats[]> {
  const where: SQL | undefined = and(eq(stepMetrics.runId, runId), stepBounds(stepMetrics.step, f));
  const rows = await db
    .select({
      step: stepMetrics.step,
      policyVersion: stepMetrics.policyVersion,
      train: stepMetrics.train,
      createdAt: stepMetrics.createdAt,
    })
    .from(stepMetrics)
    .where(where)
    .orderBy(asc(stepMetrics.step));
  return rows.map((r) => ({
    ...r,
    train: r.train as Record<string, unknown>,
    createdAt: r.createdAt.toISOString(),
  }));
}
