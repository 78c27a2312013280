/**
 * How a group of scored rollouts is written (the `rolloutGroups` activity's write path, and what
 * bench/reward_logs.ts measures): one transaction, one insert of the group's rollouts and one of their
 * reward components. Each insert sends its rows as ONE bound JSON parameter expanded by PostgreSQL's
 * `jsonb_to_recordset`: building a multi-row `VALUES` list of a few hundred parameters cost drizzle
 * more CPU than the database spent on the insert. Idempotent: a rollout already written (its business
 * key exists) is skipped and keeps its own reward rows.
 */
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './client.js';
import { rowsOf } from './logs/aggregates.js';
import { rewards, rollouts } from './schema.js';

/** A rollout row to insert. */
export type RolloutInsert = typeof rollouts.$inferInsert;
/** A reward row to insert. */
export type RewardInsert = typeof rewards.$inferInsert;

/**
 * `insert into T (cols) select cols from jsonb_to_recordset($1) as x(col type, …)` for the columns
 * the rows give (the first row's keys; every row must give the same ones, absent means NULL, not the
 * column default). Column names and types come from the drizzle schema; the values are one parameter.
 */
function recordsetInsert(table: PgTable, rows: Record<string, unknown>[], tail: SQL): SQL {
  const columns = Object.entries(getTableColumns(table)).filter(([key]) => rows[0]![key] !== undefined);
  const names = sql.join(
    columns.map(([, c]) => sql.identifier(c.name)),
    sql`, `,
  );
  // Types are the schema's own (constants), never input.
  const defs = sql.join(
    columns.map(([, c]) => sql`${sql.identifier(c.name)} ${sql.raw(c.getSQLType())}`),
    sql`, `,
  );
  const records = rows.map((r) => Object.fromEntries(columns.map(([key, c]) => [c.name, r[key] ?? null])));
  return sql`insert into ${table} (${names}) select ${names} from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as x(${defs}) ${tail}`;
}

/**
 * Inserts `rows` and, for each rollout inserted now, the reward rows `rewardsOf(rolloutId, sample)`
 * gives, in one transaction. Returns how many rollouts were inserted (0 when all existed).
 */
export async function insertGroup(
  db: Database,
  rows: RolloutInsert[],
  rewardsOf: (rolloutId: number, sample: number) => RewardInsert[],
): Promise<number> {
  if (rows.length === 0) return 0;
  return db.transaction(async (tx) => {
    const inserted = rowsOf<{ id: number | string; sample: number }>(
      await tx.execute(recordsetInsert(rollouts, rows, sql`on conflict do nothing returning id, sample`)),
    );
    const values = inserted.flatMap(({ id, sample }) => rewardsOf(Number(id), Number(sample)));
    if (values.length > 0) await tx.execute(recordsetInsert(rewards, values, sql`on conflict do nothing`));
    return inserted.length;
  });
}
