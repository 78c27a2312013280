/**
 * How a group of scored rollouts is written (the `rolloutGroups` activity's write path, and what
 * bench/reward_logs.ts measures): ONE statement per group,
 *
 *   with ins as (insert into rollouts … values (…), … on conflict do nothing returning id, sample)
 *   insert into rewards select ins.id, x.… from ins join (values (…), …) x(sample, …) on x.sample = ins.sample
 *   … select count(*) from ins
 *
 * so the rollouts and their reward rows are written atomically in one round trip, and only rollouts
 * inserted now get reward rows: a rollout already written (its business key exists) is skipped and
 * keeps its own. Idempotent: writing the same group again inserts nothing.
 *
 * On PostgreSQL the statement goes straight to the `pg` pool under drizzle, as a NAMED prepared
 * statement per shape (rollouts, reward rows), planned once per connection; token ids, log-probs and
 * masks are sent as PostgreSQL binary arrays (a `Buffer` parameter is sent in binary format), so no
 * number is formatted as text on either side. drizzle has no named multi-row prepared statements, and
 * its own parameter handling cost more CPU than the insert. On PGlite the same text goes through its
 * `query`, the arrays as array literals (its own array serialiser is slower and writes -0 as 0).
 */
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import type { Database } from './client.js';
import type { rewards, rollouts } from './schema.js';

/** A rollout row to insert (its id and creation time are the database's). */
export type RolloutInsert = Omit<typeof rollouts.$inferInsert, 'id' | 'createdAt'>;
/** A reward row to insert, without its rollout (the rollout's id is known only once inserted). */
export type RewardInsert = Omit<typeof rewards.$inferInsert, 'id' | 'rolloutId'>;

type Cast = 'text' | 'int4' | 'float8' | 'jsonb' | 'int4[]' | 'float8[]' | 'int2[]';
type Column<R> = readonly [name: string, cast: Cast, value: (r: R) => unknown];

const orNull = (v: unknown) => v ?? null;
const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/** Rollout columns in statement order; defaults are the schema's (`phase`, `thinking_tokens`). */
const ROLLOUT_COLUMNS: readonly Column<RolloutInsert>[] = [
  ['run_id', 'text', (r) => r.runId],
  ['step', 'int4', (r) => r.step],
  ['env', 'text', (r) => r.env],
  ['task_id', 'text', (r) => r.taskId],
  ['sample', 'int4', (r) => r.sample],
  ['status', 'text', (r) => r.status],
  ['error', 'text', (r) => orNull(r.error)],
  ['phase', 'text', (r) => r.phase ?? 'train'],
  ['policy_version', 'int4', (r) => r.policyVersion],
  ['completion', 'text', (r) => r.completion],
  ['turns', 'jsonb', (r) => json(r.turns)],
  ['prompt_token_ids', 'int4[]', (r) => r.promptTokenIds],
  ['completion_token_ids', 'int4[]', (r) => r.completionTokenIds],
  ['logprobs', 'float8[]', (r) => r.logprobs],
  ['completion_mask', 'int2[]', (r) => orNull(r.completionMask)],
  ['prompt_tokens', 'int4', (r) => r.promptTokens],
  ['completion_tokens', 'int4', (r) => r.completionTokens],
  ['thinking_tokens', 'int4', (r) => r.thinkingTokens ?? 0],
  ['finish_reason', 'text', (r) => r.finishReason],
  ['reasoning_budget', 'int4', (r) => orNull(r.reasoningBudget)],
  ['reward', 'float8', (r) => orNull(r.reward)],
  ['advantage', 'float8', (r) => orNull(r.advantage)],
  ['extra', 'jsonb', (r) => json(r.extra)],
];

/** Reward columns after `rollout_id`, each row keyed by its rollout's `sample`; `status` defaults to ok. */
const REWARD_COLUMNS: readonly Column<RewardInsert & { sample: number }>[] = [
  ['sample', 'int4', (r) => r.sample],
  ['checker', 'text', (r) => r.checker],
  ['weight', 'float8', (r) => r.weight],
  ['status', 'text', (r) => r.status ?? 'ok'],
  ['value', 'float8', (r) => orNull(r.value)],
  ['error', 'text', (r) => orNull(r.error)],
  ['details', 'jsonb', (r) => json(r.details)],
];

/** PostgreSQL's binary array header and element layout per array type: element oid and byte size. */
const BINARY_ARRAYS = {
  'int4[]': { oid: 23, size: 4 },
  'float8[]': { oid: 701, size: 8 },
  'int2[]': { oid: 21, size: 2 },
} as const;

/**
 * A one-dimensional array without NULLs in PostgreSQL's binary format (what `array_recv` reads):
 * ndim = 1, flags = 0, element oid, length, lower bound 1, then per element its byte length and its
 * big-endian value. Integers are checked (a fraction or an out-of-range id is an error, as its text
 * would be); doubles are written bit for bit (-0, subnormals, NaN and infinities included).
 */
export function binaryArray(values: readonly number[], type: keyof typeof BINARY_ARRAYS): Buffer {
  const { oid, size } = BINARY_ARRAYS[type];
  const buf = Buffer.allocUnsafe(20 + values.length * (4 + size));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setInt32(0, 1);
  view.setInt32(4, 0);
  view.setUint32(8, oid);
  view.setInt32(12, values.length);
  view.setInt32(16, 1);
  let o = 20;
  if (size === 8) {
    for (const x of values) {
      view.setInt32(o, 8);
      view.setFloat64(o + 4, x);
      o += 12;
    }
  } else {
    const [min, max] = size === 4 ? [-2147483648, 2147483647] : [-32768, 32767];
    for (const x of values) {
      if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`not a ${type} element: ${x}`);
      view.setInt32(o, size);
      if (size === 4) view.setInt32(o + 4, x);
      else view.setInt16(o + 4, x);
      o += 4 + size;
    }
  }
  return buf;
}

/** An array literal (`{1,2,3}`) for PGlite; `-0` keeps its sign (`String(-0)` is `0`). */
function arrayLiteral(values: readonly number[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    s += (i > 0 ? ',' : '') + (x === 0 && 1 / x < 0 ? '-0' : String(x));
  }
  return `${s}}`;
}

/** The statement for `n` rollouts and `m` reward rows (parameters in row order, each cast). */
function statementText(n: number, m: number): string {
  let p = 0;
  const tuples = (count: number, columns: readonly Column<never>[]) =>
    Array.from({ length: count }, () => `(${columns.map(([, cast]) => `$${++p}::${cast}`).join(', ')})`).join(
      ', ',
    );
  const rolloutNames = ROLLOUT_COLUMNS.map(([name]) => name).join(', ');
  const ins = `insert into rollouts (${rolloutNames}) values ${tuples(n, ROLLOUT_COLUMNS)} on conflict do nothing returning id, sample`;
  if (m === 0) return `with ins as (${ins}) select count(*)::int as n from ins`;
  const rewardNames = REWARD_COLUMNS.slice(1).map(([name]) => name);
  const rw =
    `insert into rewards (rollout_id, ${rewardNames.join(', ')}) ` +
    `select ins.id, ${rewardNames.map((c) => `x.${c}`).join(', ')} from ins join (values ${tuples(m, REWARD_COLUMNS)}) ` +
    `as x(${REWARD_COLUMNS.map(([name]) => name).join(', ')}) on x.sample = ins.sample on conflict do nothing`;
  return `with ins as (${ins}), rw as (${rw}) select count(*)::int as n from ins`;
}

const statements = new Map<string, { name: string; text: string }>();
/** The statement of a shape, built once per process; its name is what `pg` prepares per connection. */
function statementFor(n: number, m: number) {
  const key = `${n}x${m}`;
  let s = statements.get(key);
  if (!s) {
    s = { name: `mg_group_${key}`, text: statementText(n, m) };
    statements.set(key, s);
  }
  return s;
}

/**
 * Inserts `rows` and, for each rollout inserted now, the reward rows `rewardsOf(sample)` gives, in
 * one statement (atomic). Returns how many rollouts were inserted (0 when all existed).
 */
export async function insertGroup(
  db: Database,
  rows: RolloutInsert[],
  rewardsOf: (sample: number) => RewardInsert[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const rewardRows = rows.flatMap((r) => rewardsOf(r.sample).map((w) => ({ ...w, sample: r.sample })));
  const client = (db as unknown as { $client: pg.Pool | PGlite }).$client;
  const binary = !isPGlite(client);
  const params: unknown[] = [];
  for (const r of rows)
    for (const [, cast, value] of ROLLOUT_COLUMNS) {
      const v = value(r);
      params.push(
        v === null || !(cast in BINARY_ARRAYS)
          ? v
          : binary
            ? binaryArray(v as number[], cast as keyof typeof BINARY_ARRAYS)
            : arrayLiteral(v as number[]),
      );
    }
  for (const w of rewardRows) for (const [, , value] of REWARD_COLUMNS) params.push(value(w));
  const { name, text } = statementFor(rows.length, rewardRows.length);
  const result = binary
    ? await (client as pg.Pool).query<{ n: number }>({ name, text, values: params })
    : await (client as PGlite).query<{ n: number }>(text, params);
  return Number(result.rows[0]!.n);
}

/** PGlite has `exec`; a `pg.Pool` has not. */
function isPGlite(client: pg.Pool | PGlite): client is PGlite {
  return typeof (client as PGlite).exec === 'function';
}
