/**
 * The per-group summary tables (`group_stats`, `group_checker_stats`, kept by triggers in migration
 * 0004) against the rollouts they summarise: a seeded random reward log is written in every statement
 * shape the code and a user's psql can produce (one group, several groups, one row, reward rows
 * apart), then re-scored, given advantages, partly deleted and one run dropped; after each change the
 * aggregates read through the summaries equal those read from the rollouts (a filter listing every
 * status forces that path), on PGlite and on PostgreSQL. Also: rows written before the migration are
 * summarised by it (the backfill).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, type DatabaseHandle, migrationsFolder, openDatabase } from '../../db/client.js';
import { checkerStats, rolloutStats, rowsOf } from '../../db/logs/aggregates.js';
import { keepsWholeGroups, type LogFilter, LogQuery, ROLLOUT_STATUSES } from '../../db/logs/filter.js';
import { runDetail } from '../../db/logs/runs.js';
import { groupCheckerStats, groupStats, rewards, rollouts, runs } from '../../db/schema.js';
import { keyedRng } from '../../environments/random.js';
import { createTestDatabase } from '../helpers/postgres.js';

const CHECKERS = ['math-equivalence', 'format', 'length-penalty'];
const REWARD_STATUSES = ['ok', 'ok', 'ok', 'not_applicable', 'checker_error', 'infra_error'];

type Row = typeof rollouts.$inferInsert;

/** Random groups of one run: phases train and eval:N, 3 envs, G in 1..5, every status. */
function randomGroups(runId: string, seed: string): Row[][] {
  const rnd = keyedRng(seed);
  const groups: Row[][] = [];
  for (let step = 1; step <= 4; step++)
    for (const phase of step % 2 === 0 ? ['train', `eval:${step}`] : ['train'])
      for (const env of ['math', 'code', 'tool-use'])
        for (let t = 0; t < 3; t++) {
          const g = 1 + Math.floor(rnd() * 5);
          groups.push(
            Array.from({ length: g }, (_, sample) => {
              const u = rnd();
              const status =
                u < 0.75 ? 'ok' : u < 0.85 ? 'checker_error' : u < 0.93 ? 'infra_error' : 'rejected';
              const reward =
                status === 'ok' ? [0, 1, 0.5, -0.25, 1.1, 0.999_999_5][Math.floor(rnd() * 6)]! : null;
              return {
                runId,
                step,
                env,
                taskId: `t${t}`,
                sample,
                status,
                phase,
                policyVersion: step - 1,
                completion: `c${sample}`,
                turns: [],
                promptTokenIds: [1, 2],
                completionTokenIds: [3],
                logprobs: [-0.5],
                promptTokens: 2,
                completionTokens: 1 + Math.floor(rnd() * 300),
                thinkingTokens: Math.floor(rnd() * 20),
                finishReason: rnd() < 0.2 ? 'length' : 'stop',
                reward,
              };
            }),
          );
        }
  return groups;
}

/** Reward rows of inserted rollouts: a random subset of the checkers, every component status. */
function rewardRows(inserted: { id: number; status: string }[], seed: string) {
  const rnd = keyedRng(seed);
  return inserted.flatMap(({ id, status }) =>
    status === 'rejected'
      ? []
      : CHECKERS.filter(() => rnd() < 0.8).map((checker) => {
          const s = REWARD_STATUSES[Math.floor(rnd() * REWARD_STATUSES.length)]!;
          return {
            rolloutId: id,
            checker,
            weight: 1,
            status: s,
            value:
              s === 'ok' ? [0, 1, 0.3, 1 - 1e-7][Math.floor(rnd() * 4)]! : s === 'not_applicable' ? 0 : null,
            details: {},
          };
        }),
  );
}

async function insertRun(db: Database, runId: string, seed: string) {
  await db
    .insert(runs)
    .values({ id: runId, name: runId, config: { name: runId, steps: 4, environments: [] } });
  const groups = randomGroups(runId, seed);
  let i = 0;
  for (let n = 0; i < groups.length; n++) {
    // Statement shapes, in turn: one group; three groups at once; a group row by row.
    const shape = n % 3;
    const batch = shape === 1 ? groups.slice(i, i + 3).flat() : groups[i]!;
    const statements = shape === 2 ? batch.map((r) => [r]) : [batch];
    i += shape === 1 ? 3 : 1;
    for (const rows of statements) {
      const inserted = await db
        .insert(rollouts)
        .values(rows)
        .returning({ id: rollouts.id, status: rollouts.status });
      const rw = rewardRows(inserted, `${seed}:${i}:${inserted[0]!.id}`);
      // Reward rows one statement per rollout, or all at once.
      if (shape === 0) for (const r of rw) await db.insert(rewards).values(r);
      else if (rw.length) await db.insert(rewards).values(rw);
    }
  }
}

const filter = (over: Partial<Record<string, string>> = {}): LogFilter => LogQuery.parse(over);
/** The same filter, forced to read the rollouts (a status list naming every status keeps every row). */
const viaRollouts = (f: LogFilter): LogFilter => ({ ...f, status: [...ROLLOUT_STATUSES] });
const viaRewards = (f: LogFilter): LogFilter => ({ ...f, policy_version: { from: 0 } });

/** Deep equality, numbers within 1e-9 relative: the two paths sum in different orders. */
function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-9 * Math.max(1, Math.abs(expected)))
      expect(actual, path).toBe(expected);
    return;
  }
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    expect(Object.keys(actual).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected))
      expectClose((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  expect(actual, path).toEqual(expected);
}

async function expectSummariesExact(db: Database, runId: string) {
  for (const f of [
    filter(),
    filter({ phase: 'all' }),
    filter({ phase: 'eval' }),
    filter({ env: 'math,tool-use', step: '2..3' }),
  ]) {
    for (const by of ['step', 'env'] as const) {
      const fast = await rolloutStats(db, runId, f, { by });
      expect(fast.length).toBeGreaterThan(0);
      expectClose(fast, await rolloutStats(db, runId, viaRollouts(f), { by }));
      const k2 = await rolloutStats(db, runId, f, { by, k: 2 });
      expectClose(k2, await rolloutStats(db, runId, viaRollouts(f), { by, k: 2 }));
    }
    for (const g of [f, { ...f, checker: ['format', 'length-penalty'] }]) {
      const fast = await checkerStats(db, runId, g);
      expect(fast.length).toBeGreaterThan(0);
      expectClose(fast, await checkerStats(db, runId, viaRewards(g)));
    }
  }
  // Every group has its row, with the least and greatest ok reward and the counts of its rollouts.
  const mismatched = rowsOf(
    await db.execute(sql`select * from (
        select run_id, phase, step, env, task_id, count(*)::int as n,
          min(reward) filter (where status = 'ok') as mn, max(reward) filter (where status = 'ok') as mx
        from rollouts where run_id = ${runId} group by 1, 2, 3, 4, 5) r
      full join (select * from group_stats where run_id = ${runId}) g using (run_id, phase, step, env, task_id)
      where g.n is distinct from r.n or g.min_reward is distinct from r.mn or g.max_reward is distinct from r.mx`),
  );
  expect(mismatched).toEqual([]);
  // The run detail's environments and components, from the summaries, against the rollouts.
  const detail = await runDetail(db, runId);
  const direct = await db
    .select({ env: rollouts.env, rollouts: sql<number>`count(*)::int` })
    .from(rollouts)
    .where(and(eq(rollouts.runId, runId), eq(rollouts.phase, 'train')))
    .groupBy(rollouts.env)
    .orderBy(rollouts.env);
  expect(detail.rolloutEnvs.map((e) => ({ env: e.env, rollouts: e.rollouts }))).toEqual(
    direct.map((d) => ({ ...d, rollouts: Number(d.rollouts) })),
  );
}

/** Every change after the writes: re-score, advantages, deletions, a dropped run. */
async function changeAndCheck(db: Database) {
  await expectSummariesExact(db, 'run-a');
  await expectSummariesExact(db, 'run-b');

  // A re-score: infra_error rollouts and their infra_error components become ok (as scoring.ts does).
  const infra = await db
    .select({ id: rollouts.id })
    .from(rollouts)
    .where(and(eq(rollouts.runId, 'run-a'), eq(rollouts.status, 'infra_error')));
  expect(infra.length).toBeGreaterThan(0);
  const ids = infra.map((r) => r.id);
  await db
    .update(rewards)
    .set({ status: 'ok', value: 1 })
    .where(and(inArray(rewards.rolloutId, ids), eq(rewards.status, 'infra_error')));
  await expectSummariesExact(db, 'run-a');
  await db.update(rollouts).set({ status: 'ok', reward: 1 }).where(inArray(rollouts.id, ids));
  await expectSummariesExact(db, 'run-a');

  // Advantages of a step (one statement over many groups, as train.ts writes them).
  await db
    .update(rollouts)
    .set({ advantage: 0.5 })
    .where(and(eq(rollouts.runId, 'run-a'), eq(rollouts.step, 2)));
  await expectSummariesExact(db, 'run-a');

  // Deleting some rollouts (their reward rows cascade) and some reward rows alone.
  await db
    .delete(rollouts)
    .where(and(eq(rollouts.runId, 'run-a'), eq(rollouts.sample, 0), eq(rollouts.env, 'code')));
  await db.delete(rewards).where(eq(rewards.checker, 'length-penalty'));
  await expectSummariesExact(db, 'run-a');
  await expectSummariesExact(db, 'run-b');

  // A whole group gone leaves no summary row.
  const before = await db.select().from(groupStats).where(eq(groupStats.runId, 'run-a'));
  await db
    .delete(rollouts)
    .where(
      and(
        eq(rollouts.runId, 'run-a'),
        eq(rollouts.step, 1),
        eq(rollouts.env, 'math'),
        eq(rollouts.taskId, 't0'),
      ),
    );
  const after = await db.select().from(groupStats).where(eq(groupStats.runId, 'run-a'));
  expect(after).toHaveLength(before.length - 1);
  expect(
    after.some((g) => g.step === 1 && g.env === 'math' && g.taskId === 't0' && g.phase === 'train'),
  ).toBe(false);

  // Dropping a run leaves none of its summaries; the other run's stay exact.
  await db.delete(runs).where(eq(runs.id, 'run-a'));
  expect(await db.select().from(groupStats).where(eq(groupStats.runId, 'run-a'))).toEqual([]);
  expect(await db.select().from(groupCheckerStats).where(eq(groupCheckerStats.runId, 'run-a'))).toEqual([]);
  await expectSummariesExact(db, 'run-b');
}

describe('which filters the summaries answer', () => {
  it('phase, env, step and k (and checker, for checker stats); nothing else', () => {
    const steps = LogQuery.extend({ k: LogQuery.shape.step }).parse({
      phase: 'eval',
      env: 'math',
      step: '2..3',
    });
    expect(keepsWholeGroups(steps)).toBe(true);
    expect(keepsWholeGroups({ ...steps, k: 2 } as LogFilter)).toBe(true);
    expect(keepsWholeGroups(filter({ checker: 'format' }))).toBe(false);
    expect(keepsWholeGroups(filter({ checker: 'format' }), { checkerStats: true })).toBe(true);
    for (const [field, value] of <[string, string][]>[
      ['status', 'ok'],
      ['min_reward', '0'],
      ['max_reward', '1'],
      ['policy_version', '1..2'],
      ['grep', 'x'],
    ])
      expect(keepsWholeGroups(filter({ [field]: value }), { checkerStats: true }), field).toBe(false);
    // A field the list does not know (one added later) sends the query to the rollouts.
    expect(keepsWholeGroups({ ...filter(), future: 'x' } as LogFilter)).toBe(false);
  });
});

describe('group summaries on PGlite', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openDatabase({ pgliteDir: 'memory://' });
    await insertRun(handle.db, 'run-a', 'a');
    await insertRun(handle.db, 'run-b', 'b');
  });
  afterAll(() => handle?.close());
  it(
    'equal the aggregates over the rollouts after every kind of write',
    () => changeAndCheck(handle.db),
    120_000,
  );
});

describe('group summaries on PostgreSQL', () => {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    handle = await createTestDatabase('mg_groupstats');
    await insertRun(handle.db, 'run-a', 'a');
    await insertRun(handle.db, 'run-b', 'b');
  });
  afterAll(() => handle?.drop());
  it(
    'equal the aggregates over the rollouts after every kind of write',
    () => changeAndCheck(handle.db),
    120_000,
  );
});

describe('migration 0004', () => {
  it('summarises the rows written before it', async () => {
    // A migrations folder that stops before 0004, then the full one.
    const dir = mkdtempSync(join(tmpdir(), 'multigym-migrations-'));
    try {
      cpSync(migrationsFolder, dir, { recursive: true });
      const journalPath = join(dir, 'meta/_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8'));
      const at = journal.entries.findIndex((e: { tag: string }) => e.tag === '0004_group_stats');
      expect(at).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, at);
      writeFileSync(journalPath, JSON.stringify(journal));
      const pgliteDir = join(dir, 'db');
      const old = await openDatabase({ pgliteDir, migrate: false });
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      await migrate(old.db as never, { migrationsFolder: dir });
      expect(rowsOf(await old.db.execute(sql`select to_regclass('group_stats')::text as t`))).toEqual([
        { t: null },
      ]);
      // The rows go through today's drizzle schema, whose token columns are arrays (0005): the columns
      // take those types while they are written, then go back to the jsonb they were before 0005.
      const tokenColumns = (to: 'arrays' | 'jsonb') =>
        sql.raw(
          `alter table rollouts ${Object.entries({
            prompt_token_ids: 'int4[]',
            completion_token_ids: 'int4[]',
            logprobs: 'float8[]',
            completion_mask: 'int2[]',
          })
            .map(([c, t]) =>
              to === 'jsonb'
                ? `alter column ${c} type jsonb using to_jsonb(${c})`
                : `alter column ${c} type ${t} using translate(${c}::text, '[]', '{}')::${t}`,
            )
            .join(', ')}`,
        );
      await old.db.execute(tokenColumns('arrays'));
      await insertRun(old.db, 'run-a', 'a');
      await old.db.execute(tokenColumns('jsonb'));
      await old.close();

      const now = await openDatabase({ pgliteDir });
      try {
        await expectSummariesExact(now.db, 'run-a');
      } finally {
        await now.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
