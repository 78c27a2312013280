/**
 * Where reward logs are read from. `databaseSource` queries the database directly; the read API
 * (`server/`) serves exactly these calls over HTTP, and `server/client.ts` is the same interface
 * spoken to that API — what `multigym logs` uses when another process holds the embedded database.
 * Every call takes raw string parameters (as in a URL) and validates them here, in one place.
 */
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../client.js';
import { events } from '../schema.js';
import {
  type CheckerStats,
  checkerStats,
  type RolloutStats,
  rolloutStats,
  type TrainStats,
  trainStats,
} from './aggregates.js';
import { type LogFilter, LogQuery, LogQueryError, PageQuery, parseQuery } from './filter.js';
import { type RolloutPage, type RolloutView, rolloutById, rolloutPage } from './rollouts.js';
import { checkFilter, listRunSummaries, type RunDetail, type RunSummary, runDetail } from './runs.js';

/** Raw query parameters (strings, as in a URL); see `LogQuery` for their meaning. */
export type LogParams = Record<string, string | undefined>;

/** One run event (evaluation, checkpoint, run end, …). */
export interface EventView {
  step: number;
  kind: string;
  key: string;
  data: unknown;
  createdAt: string;
}

/** The reward-log reads, from the database or from the read API. */
export interface RewardLogSource {
  /** Where the logs come from, for messages. */
  readonly where: string;
  runs(params?: LogParams): Promise<RunSummary[]>;
  run(runId: string): Promise<RunDetail>;
  /** Per step and environment; parameters: `LogQuery` and `k` (pass@k). */
  steps(runId: string, params?: LogParams): Promise<RolloutStats[]>;
  /** Per environment over the filter's steps; parameters as `steps`. */
  envs(runId: string, params?: LogParams): Promise<RolloutStats[]>;
  /** Per step, environment and reward component. */
  checkers(runId: string, params?: LogParams): Promise<CheckerStats[]>;
  /** The policy worker's metrics per step (`step` filter only). */
  train(runId: string, params?: LogParams): Promise<TrainStats[]>;
  /** A page of rollouts with tasks and reward components; parameters: `LogQuery`, `limit`, `offset`, `order`. */
  rollouts(runId: string, params?: LogParams): Promise<RolloutPage>;
  rollout(runId: string, id: number): Promise<RolloutView>;
  /** Events, oldest first; parameter `kind`. */
  events(runId: string, params?: LogParams): Promise<EventView[]>;
}

/** Query schemas of each call (the API documents and validates with the same ones). */
export const QUERIES = {
  runs: z.strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(50).describe('runs to list (default 50)'),
  }),
  steps: LogQuery.extend({
    k: z.coerce.number().int().min(1).max(1024).optional().describe('k of pass@k (default: each group size)'),
  }),
  checkers: LogQuery,
  train: z.strictObject({ step: LogQuery.shape.step }),
  rollouts: LogQuery.extend(PageQuery.shape),
  events: z.strictObject({ kind: z.string().min(1).optional().describe('only events of this kind') }),
} as const;

/** Reads the logs straight from a database. */
export function databaseSource(db: Database, where = 'the database'): RewardLogSource {
  const filtered = async <S extends z.ZodType<LogFilter>>(runId: string, params: LogParams, schema: S) => {
    const q: z.output<S> = parseQuery(schema, params);
    await checkFilter(db, runId, q);
    return q;
  };
  return {
    where,
    async runs(params = {}) {
      return listRunSummaries(db, parseQuery(QUERIES.runs, params).limit);
    },
    run: (runId) => runDetail(db, runId),
    async steps(runId, params = {}) {
      const q = await filtered(runId, params, QUERIES.steps);
      return rolloutStats(db, runId, q, { by: 'step', k: q.k });
    },
    async envs(runId, params = {}) {
      const q = await filtered(runId, params, QUERIES.steps);
      return rolloutStats(db, runId, q, { by: 'env', k: q.k });
    },
    async checkers(runId, params = {}) {
      return checkerStats(db, runId, await filtered(runId, params, QUERIES.checkers));
    },
    async train(runId, params = {}) {
      const q = parseQuery(QUERIES.train, params);
      const full = parseQuery(LogQuery, {});
      await checkFilter(db, runId, { ...full, step: q.step });
      return trainStats(db, runId, { ...full, step: q.step });
    },
    async rollouts(runId, params = {}) {
      const q = await filtered(runId, params, QUERIES.rollouts);
      return rolloutPage(db, runId, q, q);
    },
    async rollout(runId, id) {
      await runDetail(db, runId);
      const view = await rolloutById(db, runId, id);
      if (!view) throw new LogQueryError(`run "${runId}" has no rollout ${id}`, 'id', 'not_found');
      return view;
    },
    async events(runId, params = {}) {
      const q = parseQuery(QUERIES.events, params);
      await runDetail(db, runId);
      const rows = await db
        .select()
        .from(events)
        .where(and(eq(events.runId, runId), q.kind ? eq(events.kind, q.kind) : undefined))
        .orderBy(asc(events.step), asc(events.id));
      return rows.map((e) => ({
        step: e.step,
        kind: e.kind,
        key: e.key,
        data: e.data,
        createdAt: e.createdAt.toISOString(),
      }));
    },
  };
}
