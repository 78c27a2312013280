/**
 * The filters of every reward-log query, shared by the read API (query parameters), the dashboard and
 * `multigym logs` (flags): one zod schema, so a bad value is refused the same way everywhere, naming
 * the field. Every filter narrows the set of rollouts; aggregates are computed over what remains.
 * Values reach SQL only as bound parameters (drizzle's `sql` template), never spliced into the text.
 */
import { and, eq, gte, inArray, like, lte, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { type groupCheckerStats, type groupStats, rewards, rollouts } from '../schema.js';

/** Statuses a rollout can have (`rollouts.status`); only `ok` rollouts carry a reward. */
export const ROLLOUT_STATUSES = ['ok', 'checker_error', 'infra_error', 'rejected'] as const;

/** An inclusive integer range `A..B`, `A..`, `..B` or `A` (both ends 1-based steps or versions). */
export interface IntRange {
  from?: number;
  to?: number;
}

const RANGE = /^(\d+)?(\.\.)?(\d+)?$/;

/** Parses `A..B` / `A..` / `..B` / `A`; undefined when the text is not such a range. */
export function parseRange(text: string): IntRange | undefined {
  const m = RANGE.exec(text.trim());
  if (!m || (!m[1] && !m[3])) return undefined;
  const from = m[1] !== undefined ? Number(m[1]) : undefined;
  const to = m[2] ? (m[3] !== undefined ? Number(m[3]) : undefined) : from;
  if (m[3] !== undefined && !m[2]) return undefined;
  if (from !== undefined && to !== undefined && from > to) return undefined;
  return { from, to };
}

const range = (what: string) =>
  z.string().transform((text, ctx) => {
    const r = parseRange(text);
    if (!r) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${what} as A..B, A.., ..B or A (integers, A ≤ B), got "${text}"`,
      });
      return z.NEVER;
    }
    return r;
  });

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()))
  .refine((xs) => xs.every((x) => x.length > 0), 'expected a comma-separated list of names');

const number = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `expected ${what}`)
    .transform((s, ctx) => {
      const n = Number(s);
      if (!Number.isFinite(n)) {
        ctx.addIssue({ code: 'custom', message: `expected ${what}, got "${s}"` });
        return z.NEVER;
      }
      return n;
    });

/**
 * Query parameters of the reward-log API (strings in, as in a URL). Unknown parameters are refused.
 * `phase`: `train` (default), `eval` (every evaluation), `eval:N` (the evaluation at step N) or `all`.
 * `checker`: only rollouts scored by these checkers; `min_reward`/`max_reward` then bound that
 * checker's value, otherwise the rollout's total reward. `grep`: case-insensitive text in the
 * completion or the error.
 */
export const LogQuery = z.strictObject({
  phase: z
    .string()
    .regex(/^(train|eval|eval:\d+|all)$/, 'expected train, eval, eval:N or all')
    .default('train')
    .describe('train (default), eval, eval:N or all'),
  env: list.optional().describe('environment names, comma-separated'),
  checker: list.optional().describe('reward checker (component) names, comma-separated'),
  step: range('a step range').optional().describe('1-based steps: A..B, A.., ..B or A'),
  policy_version: range('a policy-version range').optional().describe('policy versions: A..B, A.., ..B or A'),
  min_reward: number('a number').optional().describe('lowest reward kept (the checker value with checker=)'),
  max_reward: number('a number').optional().describe('highest reward kept (the checker value with checker=)'),
  status: list
    .pipe(z.array(z.enum(ROLLOUT_STATUSES, { message: `expected ${ROLLOUT_STATUSES.join(', ')}` })))
    .optional()
    .describe(`rollout statuses, comma-separated: ${ROLLOUT_STATUSES.join(', ')}`),
  grep: z.string().min(1).max(500).optional().describe('text in the completion or error (case-insensitive)'),
});
export type LogFilter = z.output<typeof LogQuery>;

/** Paging of rollout listings. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe('rows per page (1..1000, default 50)'),
  offset: z.coerce.number().int().min(0).default(0).describe('rows to skip'),
  order: z
    .enum(['step', 'reward', '-reward', '-step', 'id'])
    .default('step')
    .describe('step (default), -step, reward, -reward or id (the order they were written)'),
  after_id: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('only rollouts written after this rollout id (for following a live run)'),
});
export type Page = z.output<typeof PageQuery>;

/** Thrown for a bad filter or an unknown run, environment, step or checker; `field` names the culprit. */
export class LogQueryError extends Error {
  readonly type = 'LogQueryError';
  constructor(
    message: string,
    /** The query parameter at fault (`env`, `step`, …), or `run`. */
    readonly field: string,
    /** `bad_request` (the value's form) or `not_found` (no such run, env, step or checker). */
    readonly kind: 'bad_request' | 'not_found' = 'bad_request',
    /** What exists instead, when known. */
    readonly available?: unknown,
  ) {
    super(message);
  }
}

/**
 * Validates query parameters with `schema`. Throws `LogQueryError` naming the first bad field
 * (`fieldName` maps a parameter to how the caller spells it, e.g. `--min-reward` on the CLI).
 */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  params: Record<string, string | undefined>,
  fieldName: (field: string) => string = (f) => f,
): z.output<S> {
  const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse(defined);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map(fieldName).join(', ');
    throw new LogQueryError(`unknown parameter ${keys}`, issue.keys[0]!);
  }
  const field = String(issue.path[0] ?? '');
  throw new LogQueryError(`${fieldName(field)}: ${issue.message}`, field);
}

/** The rollouts a filter keeps, as a drizzle condition (every value a bound parameter). */
export function rolloutCondition(runId: string, f: LogFilter): SQL {
  const checkerValue = and(
    f.min_reward !== undefined ? gte(rewards.value, f.min_reward) : undefined,
    f.max_reward !== undefined ? lte(rewards.value, f.max_reward) : undefined,
  );
  return and(
    eq(rollouts.runId, runId),
    phaseCondition(f.phase),
    f.env ? inArray(rollouts.env, f.env) : undefined,
    f.step?.from !== undefined ? gte(rollouts.step, f.step.from) : undefined,
    f.step?.to !== undefined ? lte(rollouts.step, f.step.to) : undefined,
    f.policy_version?.from !== undefined ? gte(rollouts.policyVersion, f.policy_version.from) : undefined,
    f.policy_version?.to !== undefined ? lte(rollouts.policyVersion, f.policy_version.to) : undefined,
    f.status ? inArray(rollouts.status, f.status) : undefined,
    f.grep
      ? sql`(strpos(lower(${rollouts.completion}), lower(${f.grep})) > 0 or strpos(lower(coalesce(${rollouts.error}, '')), lower(${f.grep})) > 0)`
      : undefined,
    f.checker
      ? sql`exists (select 1 from ${rewards} where ${rewards.rolloutId} = ${rollouts.id} and ${and(inArray(rewards.checker, f.checker), checkerValue)})`
      : and(
          f.min_reward !== undefined ? gte(rollouts.reward, f.min_reward) : undefined,
          f.max_reward !== undefined ? lte(rollouts.reward, f.max_reward) : undefined,
        ),
  )!;
}

/** `train`, `eval` (any `eval:N`), `eval:N` or `all`, on `column` (default `rollouts.phase`). */
export function phaseCondition(phase: string, column: PgColumn = rollouts.phase): SQL | undefined {
  if (phase === 'all') return undefined;
  if (phase === 'eval') return like(column, 'eval:%');
  return eq(column, phase);
}

/** Filter fields that name whole groups (and `k`, pass@k's parameter, which filters nothing). */
const GROUP_FIELDS = new Set(['phase', 'env', 'step', 'k']);

/**
 * Whether a filter keeps whole groups (it names only phase, environments, steps and, for checker
 * stats, checkers), so the per-group summary tables (`group_stats`, `group_checker_stats`) answer it
 * exactly. Any other field (status, reward, policy version, text, or one added later) needs the
 * rollouts: the list is of what is known safe, not of what is not.
 */
export function keepsWholeGroups(f: LogFilter, opts: { checkerStats?: boolean } = {}): boolean {
  return Object.entries(f).every(
    ([field, value]) =>
      value === undefined || GROUP_FIELDS.has(field) || (field === 'checker' && opts.checkerStats === true),
  );
}

/** A group-level filter (see `keepsWholeGroups`) on a summary table's columns. */
export function groupCondition(
  table: typeof groupStats | typeof groupCheckerStats,
  runId: string,
  f: LogFilter,
): SQL {
  return and(
    eq(table.runId, runId),
    phaseCondition(f.phase, table.phase),
    f.env ? inArray(table.env, f.env) : undefined,
    f.step?.from !== undefined ? gte(table.step, f.step.from) : undefined,
    f.step?.to !== undefined ? lte(table.step, f.step.to) : undefined,
    f.checker && 'checker' in table ? inArray(table.checker, f.checker) : undefined,
  )!;
}
