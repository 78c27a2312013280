/**
 * db/groupWrite.ts on both drivers (PGlite in memory, and real PostgreSQL where the write path sends
 * binary arrays through a named prepared statement): awkward token ids and log-probs read back
 * bit-exact through drizzle, empty arrays, a 200,000-token completion, a null mask; the write is
 * idempotent, a rollout already written keeps its own reward rows, and a failing group writes nothing.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../db/client.js';
import { binaryArray, insertGroup, type RewardInsert, type RolloutInsert } from '../../db/groupWrite.js';
import { rowsOf } from '../../db/logs/aggregates.js';
import { rewards, rollouts, runs } from '../../db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const AWKWARD_LOGPROBS = [
  -0,
  0,
  -1e-300,
  5e-324,
  -5e-324,
  -3.4028234663852886e38,
  0.1 + 0.2,
  Number.MIN_VALUE,
  -Number.MAX_VALUE,
  -Math.PI,
  -(2 ** -1074) * 3,
  -1 / 3,
];
const AWKWARD_IDS = [0, 2 ** 31 - 1, 1, 151_643, 2 ** 31 - 2];
const LONG = 200_000;

function rollout(
  runId: string,
  taskId: string,
  sample: number,
  over: Partial<RolloutInsert> = {},
): RolloutInsert {
  return {
    runId,
    step: 1,
    env: 'math',
    taskId,
    sample,
    status: 'ok',
    policyVersion: 0,
    completion: `sample ${sample}`,
    turns: [{ role: 'user', content: 'q' }],
    promptTokenIds: AWKWARD_IDS,
    completionTokenIds: AWKWARD_IDS.slice(0, AWKWARD_LOGPROBS.length),
    logprobs: AWKWARD_LOGPROBS.slice(0, AWKWARD_IDS.length),
    completionMask: null,
    promptTokens: AWKWARD_IDS.length,
    completionTokens: AWKWARD_IDS.length,
    finishReason: 'stop',
    reward: sample,
    ...over,
  };
}

const components =
  (tag: string) =>
  (sample: number): RewardInsert[] => [
    { checker: 'a', weight: 1, status: 'ok', value: sample, details: { tag } },
    { checker: 'b', weight: 0.5, value: null, status: 'checker_error', error: 'boom', details: {} },
  ];

/** Equal as doubles bit for bit (`toEqual` treats -0 and 0 alike). */
const sameBits = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

function suite(name: string, open: () => Promise<DatabaseHandle & { drop?: () => Promise<void> }>) {
  describe(`insertGroup on ${name}`, () => {
    let h: DatabaseHandle & { drop?: () => Promise<void> };
    beforeAll(async () => {
      h = await open();
      await h.db.insert(runs).values({ id: 'r', name: 'r', config: {} });
    });
    afterAll(async () => {
      if (h?.drop) await h.drop();
      else await h?.close();
    });

    const read = (taskId: string) =>
      h.db.select().from(rollouts).where(eq(rollouts.taskId, taskId)).orderBy(asc(rollouts.sample));

    it('round-trips awkward ids and log-probs exactly, empty arrays, a null mask and a long completion', async () => {
      const long = Array.from({ length: LONG }, (_, i) => (i * 7919) % 2 ** 31);
      const longLp = Array.from(
        { length: LONG },
        (_, i) => -Math.abs(Math.sin(i + 0.5)) * 10 ** ((i % 40) - 20),
      );
      const rows = [
        rollout('r', 'awkward', 0, { completionMask: [1, 0, 1, 0, 1] }),
        rollout('r', 'awkward', 1, {
          promptTokenIds: [],
          completionTokenIds: [],
          logprobs: [],
          completionMask: [],
        }),
        rollout('r', 'awkward', 2, {
          completionTokenIds: long,
          logprobs: longLp,
          completionMask: null,
          completionTokens: LONG,
        }),
        rollout('r', 'awkward', 3, {
          logprobs: AWKWARD_LOGPROBS,
          completionTokenIds: AWKWARD_LOGPROBS.map(() => 7),
        }),
      ];
      expect(await insertGroup(h.db, rows, components('first'))).toBe(4);
      const back = await read('awkward');
      expect(back.map((r) => r.sample)).toEqual([0, 1, 2, 3]);
      for (const [i, r] of back.entries()) {
        expect(r.promptTokenIds).toEqual(rows[i]!.promptTokenIds);
        expect(r.completionTokenIds).toEqual(rows[i]!.completionTokenIds);
        expect(sameBits(r.logprobs, rows[i]!.logprobs)).toBe(true);
        expect(r.completionMask).toEqual(rows[i]!.completionMask);
      }
      expect(Object.is(back[3]!.logprobs[0], -0)).toBe(true);
      expect(back[2]!.completionMask).toBeNull();
      expect(back[1]!.completionMask).toEqual([]);
      expect(back[0]!.promptTokenIds).toContain(2 ** 31 - 1);
      // The columns really are arrays of those types, not JSON.
      const [types] = rowsOf<{ p: string; l: string; m: string; n: number }>(
        await h.db.execute(
          sql`select pg_typeof(prompt_token_ids)::text as p, pg_typeof(logprobs)::text as l, pg_typeof(completion_mask)::text as m,
                  cardinality(logprobs) as n from rollouts where task_id = 'awkward' and sample = 2`,
        ),
      );
      expect(types).toEqual({ p: 'integer[]', l: 'double precision[]', m: 'smallint[]', n: LONG });
    });

    it('writes a group once: a second write inserts nothing and leaves the reward rows as they were', async () => {
      const rows = [0, 1, 2].map((s) => rollout('r', 'twice', s));
      expect(await insertGroup(h.db, rows, components('first'))).toBe(3);
      const rewardsOf = async () =>
        (
          await h.db
            .select({
              rolloutId: rewards.rolloutId,
              checker: rewards.checker,
              value: rewards.value,
              details: rewards.details,
            })
            .from(rewards)
            .innerJoin(rollouts, eq(rollouts.id, rewards.rolloutId))
            .where(eq(rollouts.taskId, 'twice'))
        ).sort((a, b) => a.rolloutId - b.rolloutId || a.checker.localeCompare(b.checker));
      const before = await rewardsOf();
      expect(before).toHaveLength(6);
      expect(before.filter((r) => r.checker === 'a').map((r) => r.value)).toEqual([0, 1, 2]);
      expect(before[0]!.details).toEqual({ tag: 'first' });
      const rolloutsBefore = await read('twice');

      expect(await insertGroup(h.db, rows, components('second'))).toBe(0);
      expect(await rewardsOf()).toEqual(before);
      expect(await read('twice')).toEqual(rolloutsBefore);

      // A group partly written: only the new rollout is inserted, and only it gets reward rows.
      const more = [...rows, rollout('r', 'twice', 3)];
      expect(await insertGroup(h.db, more, components('third'))).toBe(1);
      const after = await rewardsOf();
      expect(after.slice(0, 6)).toEqual(before);
      expect(after.slice(6).map((r) => [r.checker, r.value, r.details])).toEqual([
        ['a', 3, { tag: 'third' }],
        ['b', null, {}],
      ]);
    });

    it('writes rollouts without reward rows, and shapes of every size', async () => {
      expect(await insertGroup(h.db, [rollout('r', 'bare', 0, { status: 'infra_error' })], () => [])).toBe(1);
      expect(await insertGroup(h.db, [], components('x'))).toBe(0);
      // Many shapes one after another (each a statement of its own) on the same connections.
      for (let n = 1; n <= 6; n++)
        expect(
          await insertGroup(
            h.db,
            Array.from({ length: n }, (_, s) => rollout('r', `shape-${n}`, s)),
            (s) => components('s')(s).slice(0, s % 3),
          ),
        ).toBe(n);
      const [counted] = rowsOf<{ n: number }>(
        await h.db.execute(
          sql`select count(*)::int as n from rewards w join rollouts o on o.id = w.rollout_id where o.task_id like 'shape-%'`,
        ),
      );
      // sample s gets s % 3 components: n = 1..6 → 0, 1, 3, 3, 4, 6
      expect(counted!.n).toBe(17);
    });

    it('keeps the per-group summaries in step (their triggers see the CTE’s rollouts and rewards)', async () => {
      const summary = rowsOf<{ task_id: string; checker: string | null; n: number }>(
        await h.db.execute(sql`select task_id, null as checker, n from group_stats where run_id = 'r'
          union all select task_id, checker, n + checker_errors + infra_errors from group_checker_stats where run_id = 'r'
          order by 1, 2 nulls first`),
      );
      const direct = rowsOf<{ task_id: string; checker: string | null; n: number }>(
        await h.db.execute(sql`select task_id, null as checker, count(*)::int as n from rollouts where run_id = 'r' group by 1
          union all select o.task_id, w.checker, count(*)::int from rewards w join rollouts o on o.id = w.rollout_id
            where o.run_id = 'r' group by 1, 2
          order by 1, 2 nulls first`),
      );
      expect(direct.length).toBeGreaterThan(10);
      expect(summary.map((r) => ({ ...r, n: Number(r.n) }))).toEqual(direct);
    });

    it('writes nothing of a group whose rows are invalid (one statement, atomic)', async () => {
      const bad = [rollout('r', 'bad', 0), rollout('r', 'bad', 1, { completionTokenIds: [1.5] })];
      await expect(insertGroup(h.db, bad, components('x'))).rejects.toThrow();
      const badReward = [rollout('r', 'bad2', 0), rollout('r', 'bad2', 1)];
      await expect(
        insertGroup(h.db, badReward, (s) => [
          { checker: 'a', weight: 1, value: s, details: {} },
          { checker: 'b', weight: null as unknown as number, value: s, details: {} },
        ]),
      ).rejects.toThrow();
      expect(await read('bad')).toEqual([]);
      expect(await read('bad2')).toEqual([]);
    });
  });
}

suite('PGlite', () => openDatabase({ pgliteDir: 'memory://' }));
suite('PostgreSQL', (): Promise<TestDatabase> => createTestDatabase('mg_groupwrite'));

describe('binaryArray', () => {
  it('writes PostgreSQL’s array_recv layout', () => {
    const b = binaryArray([1, -2], 'int4[]');
    expect([...b]).toEqual([
      ...[0, 0, 0, 1], // ndim
      ...[0, 0, 0, 0], // no NULLs
      ...[0, 0, 0, 23], // int4
      ...[0, 0, 0, 2], // length
      ...[0, 0, 0, 1], // lower bound
      ...[0, 0, 0, 4, 0, 0, 0, 1],
      ...[0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe],
    ]);
    expect([...binaryArray([1], 'int2[]')].slice(8, 12)).toEqual([0, 0, 0, 21]);
    expect([...binaryArray([-0], 'float8[]')].slice(20)).toEqual([0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses what the column cannot hold', () => {
    expect(() => binaryArray([2 ** 31], 'int4[]')).toThrow(RangeError);
    expect(() => binaryArray([0.5], 'int4[]')).toThrow(RangeError);
    expect(() => binaryArray([40000], 'int2[]')).toThrow(RangeError);
  });
});
