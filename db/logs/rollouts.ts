/**
 * The rollout browser's query: the rollouts a filter keeps, a page at a time, each with its task, its
 * turns and every reward component's value, status and details (why it scored what it did). Token
 * ids and log-probs stay in the database.
 */
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { rewards, rollouts, tasks } from '../schema.js';
import { type LogFilter, type Page, rolloutCondition } from './filter.js';

/** One reward component of a rollout. */
export interface RewardView {
  checker: string;
  weight: number;
  /** `ok` | `not_applicable` | `checker_error` | `infra_error`. */
  status: string;
  value: number | null;
  error: string | null;
  /** The checker's own account (extracted answer, reference, reason, …). */
  details: Record<string, unknown>;
  /** Why it gave this value, in one line (`reasonOf`). */
  reason: string;
}

/**
 * Why a checker gave its value, in one line: its error, its `details.reason` or `details.error`, else
 * what it compared (`extracted` against `reference`), else its details as JSON (200 characters at most).
 */
export function reasonOf(c: {
  error: string | null;
  status: string;
  details: Record<string, unknown>;
}): string {
  const d = c.details;
  if (c.error) return c.error;
  if (typeof d.reason === 'string') return d.reason;
  if (typeof d.error === 'string') return d.error;
  if ('extracted' in d || 'reference' in d)
    return `extracted ${JSON.stringify(d.extracted ?? null)}, reference ${JSON.stringify(d.reference ?? null)}`;
  if (c.status === 'not_applicable') return 'not applicable';
  return JSON.stringify(d).slice(0, 200);
}

/** One rollout as the browser and `multigym logs --samples` show it. */
export interface RolloutView {
  id: number;
  step: number;
  phase: string;
  env: string;
  taskId: string;
  sample: number;
  status: string;
  error: string | null;
  policyVersion: number;
  reward: number | null;
  advantage: number | null;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  thinkingTokens: number;
  completion: string;
  turns: unknown[];
  /** The task's data as the environment stored it (null if the task row is gone). */
  task: unknown;
  rewards: RewardView[];
  createdAt: string;
}

/** A page of rollouts and how many the filter keeps in all. */
export interface RolloutPage {
  total: number;
  offset: number;
  rows: RolloutView[];
}

const ORDER = {
  step: [asc(rollouts.step), asc(rollouts.env), asc(rollouts.taskId), asc(rollouts.sample)],
  '-step': [desc(rollouts.step), asc(rollouts.env), asc(rollouts.taskId), asc(rollouts.sample)],
  reward: [sql`${rollouts.reward} asc nulls last`, asc(rollouts.id)],
  '-reward': [sql`${rollouts.reward} desc nulls last`, asc(rollouts.id)],
  id: [asc(rollouts.id)],
} as const;

/** The rollouts the filter keeps, one page, with tasks and reward components. */
export async function rolloutPage(
  db: Database,
  runId: string,
  f: LogFilter,
  page: Page,
): Promise<RolloutPage> {
  const where = and(
    rolloutCondition(runId, f),
    page.after_id !== undefined ? gt(rollouts.id, page.after_id) : undefined,
  );
  const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(rollouts).where(where);
  const rows = await db
    .select({
      id: rollouts.id,
      step: rollouts.step,
      phase: rollouts.phase,
      env: rollouts.env,
      taskId: rollouts.taskId,
      sample: rollouts.sample,
      status: rollouts.status,
      error: rollouts.error,
      policyVersion: rollouts.policyVersion,
      reward: rollouts.reward,
      advantage: rollouts.advantage,
      finishReason: rollouts.finishReason,
      promptTokens: rollouts.promptTokens,
      completionTokens: rollouts.completionTokens,
      thinkingTokens: rollouts.thinkingTokens,
      completion: rollouts.completion,
      turns: rollouts.turns,
      createdAt: rollouts.createdAt,
    })
    .from(rollouts)
    .where(where)
    .orderBy(...ORDER[page.order])
    .limit(page.limit)
    .offset(page.offset);
  return { total: Number(count?.n ?? 0), offset: page.offset, rows: await attach(db, runId, rows) };
}

/** One rollout of a run by id, or undefined. */
export async function rolloutById(db: Database, runId: string, id: number): Promise<RolloutView | undefined> {
  const page = await db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.runId, runId), eq(rollouts.id, id)));
  if (page.length === 0) return undefined;
  const [view] = await attach(db, runId, page);
  return view;
}

type Row = Omit<RolloutView, 'task' | 'rewards' | 'createdAt' | 'turns'> & {
  turns: unknown;
  createdAt: Date;
};

async function attach(db: Database, runId: string, rows: Row[]): Promise<RolloutView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const components = await db
    .select({
      rolloutId: rewards.rolloutId,
      checker: rewards.checker,
      weight: rewards.weight,
      status: rewards.status,
      value: rewards.value,
      error: rewards.error,
      details: rewards.details,
    })
    .from(rewards)
    .where(inArray(rewards.rolloutId, ids))
    .orderBy(asc(rewards.rolloutId), asc(rewards.id));
  const taskRows = await db
    .select({ env: tasks.env, taskId: tasks.taskId, data: tasks.data })
    .from(tasks)
    .where(and(eq(tasks.runId, runId), inArray(tasks.taskId, [...new Set(rows.map((r) => r.taskId))])));
  const taskOf = new Map(taskRows.map((t) => [`${t.env}\u0000${t.taskId}`, t.data]));
  const byRollout = new Map<number, RewardView[]>();
  for (const { rolloutId, ...c } of components) {
    const list = byRollout.get(rolloutId) ?? [];
    const details = (c.details ?? {}) as Record<string, unknown>;
    list.push({ ...c, details, reason: reasonOf({ ...c, details }) });
    byRollout.set(rolloutId, list);
  }
  return rows.map((r) => ({
    id: r.id,
    step: r.step,
    phase: r.phase,
    env: r.env,
    taskId: r.taskId,
    sample: r.sample,
    status: r.status,
    error: r.error,
    policyVersion: r.policyVersion,
    reward: r.reward,
    advantage: r.advantage,
    finishReason: r.finishReason,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    thinkingTokens: r.thinkingTokens,
    completion: r.completion,
    turns: (r.turns ?? []) as unknown[],
    task: taskOf.get(`${r.env}\u0000${r.taskId}`) ?? null,
    rewards: byRollout.get(r.id) ?? [],
    createdAt: r.createdAt.toISOString(),
  }));
}
