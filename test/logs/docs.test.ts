/**
 * docs/reward-logs.md: its five example queries run as written (the psql variable `:'run'` bound as a
 * parameter) against a real PostgreSQL database holding the seeded log, with answers checked; and
 * every table and column of the schema carries a `COMMENT ON` from the migrations.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { SEED_RUN, seedRewardLog } from '../helpers/rewardLogSeed.js';

const doc = readFileSync(resolve(repoRoot, 'docs/reward-logs.md'), 'utf8');
const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);

let db: TestDatabase;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase('mg_docs');
  await seedRewardLog(db.db);
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

const run = async (sql: string) => (await client.query(sql.replaceAll(":'run'", '$1'), [SEED_RUN])).rows;

describe('docs/reward-logs.md', () => {
  it('has five example queries', () => {
    expect(queries).toHaveLength(5);
  });

  it('1: mean reward and pass rate per step and environment', async () => {
    const rows = await run(queries[0]!);
    expect(rows.map((r) => [r.step, r.env, Number(r.rollouts)])).toEqual([
      [1, 'math', 8],
      [1, 'tool-use', 4],
      [2, 'math', 8],
    ]);
    expect(Number(rows[2].mean_reward)).toBeCloseTo(2 / 7, 12);
    expect(Number(rows[0].pass_rate)).toBeCloseTo(0.625, 12);
    expect(Number(rows[1].not_scored)).toBe(1);
  });

  it('2: each checker’s mean value and failures', async () => {
    const rows = await run(queries[1]!);
    const math = rows.find((r) => r.checker === 'math-equivalence');
    expect(Number(math.mean_value)).toBeCloseTo(7 / 15, 12);
    expect(Number(math.checker_errors)).toBe(1);
    expect(rows.map((r) => r.checker)).toEqual([
      'math-equivalence',
      'invalid-call-penalty',
      'tool-call-match',
    ]);
  });

  it('3: failed samples with task, answer and reason', async () => {
    const rows = await run(queries[2]!);
    expect(rows.length).toBe(10); // 3 + 5 math zeros; tool-call-match's 0 and a penalty of 0
    const first = rows.find((r) => r.env === 'math');
    expect(first).toMatchObject({ step: 2, reference: '4', extracted: '7', reason: 'wrong answer 7' });
  });

  it('4: zero-variance groups', async () => {
    const rows = await run(queries[3]!);
    expect(rows.map((r) => [r.step, r.env, Number(r.groups), Number(r.zero_variance_groups)])).toEqual([
      [1, 'math', 2, 1],
      [1, 'tool-use', 1, 0],
      [2, 'math', 2, 1],
    ]);
  });

  it('5: train metrics beside the reward', async () => {
    const rows = await run(queries[4]!);
    expect(rows.map((r) => [r.step, Number(r.kl)])).toEqual([
      [1, 0.01],
      [2, 0.02],
    ]);
    expect(Number(rows[0].mean_reward)).toBeCloseTo((5 + 1.25) / 11, 12);
    expect(Number(rows[0].truncation_rate)).toBeCloseTo(3 / 12, 12);
  });

  it('every table and column has a comment', async () => {
    const missing = await client.query(`
      select c.relname as "table", a.attname as "column"
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relkind = 'r' and c.relname not like '__drizzle%'
        and col_description(c.oid, a.attnum) is null
      union all
      select c.relname, null from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      where c.relkind = 'r' and obj_description(c.oid, 'pg_class') is null`);
    expect(missing.rows).toEqual([]);
  });
});
