/**
 * Migration 0005 (token ids, log-probs and masks from jsonb to int4[] / float8[] / int2[]) on both
 * drivers: a database migrated up to the migration before it gets rollouts written as the old schema
 * wrote them (JSON.stringify'd arrays in jsonb columns), then the remaining migrations run, and every
 * value reads back through drizzle exactly as the old code read it (JSON.parse), bit for bit; empty
 * arrays stay empty, an SQL NULL or a JSON null mask becomes NULL.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, migrationsFolder, openDatabase } from '../../db/client.js';
import { rowsOf } from '../../db/logs/aggregates.js';
import { rollouts } from '../../db/schema.js';
import { adminUrl } from '../helpers/postgres.js';

const MIGRATION = '0005_compact_token_arrays';

/** A copy of the migrations folder whose journal stops before MIGRATION. */
function foldersBefore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mg-migrations-'));
  cpSync(migrationsFolder, dir, { recursive: true });
  const path = join(dir, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(path, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === MIGRATION);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(path, JSON.stringify(journal));
  return dir;
}

const LOGPROBS = [
  -0,
  -1e-300,
  5e-324,
  -5e-324,
  -3.4028234663852886e38,
  0.1 + 0.2,
  Number.MIN_VALUE,
  -1e21,
  -123456789.123,
  -1 / 3,
  -Math.PI,
  -2.2250738585072014e-308,
  -2.225073858507201e-308,
];
const IDS = [0, 2 ** 31 - 1, 1, 151_643];

/** Old rows: [prompt ids, completion ids, log-probs, mask as SQL text or null]. */
const OLD: [number[], number[], number[], string | null][] = [
  [IDS, IDS.concat(IDS, IDS).slice(0, LOGPROBS.length), LOGPROBS, 'null'],
  [[], [], [], null],
  [[5], [6, 7], [-0.25, -1.5], '[1, 0]'],
  [IDS, Array.from({ length: 3000 }, (_, i) => i * 7), Array.from({ length: 3000 }, (_, i) => -i / 7), '[]'],
];

async function writeOldRows(db: Database) {
  await db.execute(sql`insert into runs (id, name, config) values ('old', 'old', '{}'::jsonb)`);
  for (const [sample, [p, c, l, mask]] of OLD.entries())
    await db.execute(sql`insert into rollouts (run_id, step, env, task_id, sample, status, policy_version, completion, turns,
        prompt_token_ids, completion_token_ids, logprobs, completion_mask, prompt_tokens, completion_tokens, finish_reason)
      values ('old', 1, 'math', 't', ${sample}, 'ok', 0, '', '[]'::jsonb, ${JSON.stringify(p)}::jsonb,
        ${JSON.stringify(c)}::jsonb, ${JSON.stringify(l)}::jsonb, ${mask}::jsonb, ${p.length}, ${c.length}, 'stop')`);
  // The old columns really were jsonb, and the JSON null mask is a jsonb null, not an SQL NULL.
  const [t] = rowsOf<{ t: string; nulls: number }>(
    await db.execute(
      sql`select pg_typeof(logprobs)::text as t, count(*) filter (where completion_mask = 'null'::jsonb)::int as nulls from rollouts group by 1`,
    ),
  );
  expect(t).toEqual({ t: 'jsonb', nulls: 1 });
}

/** Reads back through drizzle with the new schema; compares with what the old code read. */
async function expectConverted(db: Database) {
  const back = await db.select().from(rollouts).orderBy(asc(rollouts.sample));
  expect(back).toHaveLength(OLD.length);
  for (const [i, [p, c, l, mask]] of OLD.entries()) {
    const r = back[i]!;
    // What the old schema gave its readers: the JSON it stored, parsed (-0 was already 0 in JSON).
    const oldL = JSON.parse(JSON.stringify(l)) as number[];
    expect(r.promptTokenIds).toEqual(p);
    expect(r.completionTokenIds).toEqual(c);
    expect(r.logprobs.length).toBe(oldL.length);
    for (const [j, x] of oldL.entries())
      expect(Object.is(r.logprobs[j], x), `logprobs[${j}] ${x}`).toBe(true);
    const oldMask = mask === null ? null : (JSON.parse(mask) as number[] | null);
    expect(r.completionMask).toEqual(oldMask);
  }
  const types = rowsOf<{ c: string; t: string }>(
    await db.execute(
      sql`select column_name as c, udt_name as t from information_schema.columns where table_name = 'rollouts'
          and column_name in ('prompt_token_ids', 'completion_token_ids', 'logprobs', 'completion_mask') order by 1`,
    ),
  );
  expect(types).toEqual([
    { c: 'completion_mask', t: '_int2' },
    { c: 'completion_token_ids', t: '_int4' },
    { c: 'logprobs', t: '_float8' },
    { c: 'prompt_token_ids', t: '_int4' },
  ]);
}

const before = foldersBefore();
afterAll(() => rmSync(before, { recursive: true, force: true }));

describe(`migration ${MIGRATION}`, () => {
  it('converts jsonb token arrays exactly on PGlite', async () => {
    const h = await openDatabase({ pgliteDir: 'memory://', migrate: false });
    try {
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      await migrate(h.db as never, { migrationsFolder: before });
      await writeOldRows(h.db);
      await migrate(h.db as never, { migrationsFolder });
      await expectConverted(h.db);
    } finally {
      await h.close();
    }
  });

  it('converts jsonb token arrays exactly on PostgreSQL', async () => {
    const name = `mg_migr_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const h = await openDatabase({ url: url.toString(), migrate: false });
    try {
      const { migrate } = await import('drizzle-orm/node-postgres/migrator');
      await migrate(h.db as never, { migrationsFolder: before });
      await writeOldRows(h.db);
      await migrate(h.db as never, { migrationsFolder });
      await expectConverted(h.db);
    } finally {
      await h.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
