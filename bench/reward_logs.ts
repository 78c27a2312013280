/**
 * Reward logs, written and read, each beside a plain baseline measured in the same run:
 *
 * 1. Writes: groups of scored rollouts through the activities' write path (`db/groupWrite.ts`: one
 *    statement per group writing its rollouts and their reward rows, a named prepared statement with
 *    the token arrays in binary on PostgreSQL), on PostgreSQL and on PGlite, beside the plain baseline:
 *    the same rows written the plain way on a plain `pg` pool (PGlite: its own `query`) with the same
 *    concurrency — a transaction of four round trips (begin; a multi-row `INSERT … VALUES` of the
 *    rollouts returning their ids; one of their reward rows; commit), unnamed statements, every value
 *    a parameter as the driver formats it (token ids and log-probs as JS arrays, which `pg` sends as
 *    array literals; JSON columns stringified). Prints rollouts/s, reward rows/s and the ratio
 *    activity path ÷ baseline time (1.0 = as fast as the baseline, below 1 = faster). Then, on
 *    PostgreSQL, the ceiling with no client at all: the same rows copied inside the server by one
 *    statement on one backend, and split over two backends at once (`serverCeiling`).
 * 2. Reads: a run of `--rows` reward rows (default 1M; 4 components per rollout, 4 environments,
 *    64 tasks × 8 samples per step) generated in SQL, then the dashboard's queries (run detail,
 *    per-step aggregates, per-environment aggregates, per-checker stats, a filtered rollout page) timed
 *    as the API runs them (`db/logs/source.ts`), beside raw SQL computing only the plain means
 *    (`avg(reward)` per step and environment; `avg(value)` per step, environment and checker).
 *
 *   npx tsx bench/reward_logs.ts [--groups 1500] [--group-size 8] [--components 4] [--concurrency 8]
 *                                [--rows 1000000] [--reps 3] [--pglite-query] [--skip-writes] [--skip-reads]
 *                                [--no-summary-triggers]  (PostgreSQL writes without migration 0004's triggers)
 *
 * Needs PostgreSQL at TEST_DATABASE_URL (a fresh database is created and dropped). Medians of `--reps`
 * interleaved repetitions; the load average is printed at start and end (the machine is shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { insertGroup, type RewardInsert, type RolloutInsert } from '../db/groupWrite.js';
import { rowsOf } from '../db/logs/aggregates.js';
import { databaseSource } from '../db/logs/source.js';
import { runs } from '../db/schema.js';
import { createTestDatabase } from '../test/helpers/postgres.js';

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string', default: '1500' },
    'group-size': { type: 'string', default: '8' },
    components: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '8' },
    rows: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    'pglite-query': { type: 'boolean', default: false },
    'skip-writes': { type: 'boolean', default: false },
    'no-summary-triggers': { type: 'boolean', default: false },
    'skip-reads': { type: 'boolean', default: false },
  },
});
const GROUPS = Number(args.groups);
const G = Number(args['group-size']);
const K = Number(args.components);
const CONCURRENCY = Number(args.concurrency);
const REPS = Number(args.reps);

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`load average at start: ${load()} (1, 5, 15 min; ${cpus().length} CPUs)`);

// ── the rows: a realistic rollout (128 prompt + 256 completion tokens with log-probs) and K components
const promptIds = Array.from({ length: 128 }, (_, i) => (i * 7919) % 50000);
const completionIds = Array.from({ length: 256 }, (_, i) => (i * 104729) % 50000);
const logprobs = completionIds.map((_, i) => -Math.abs(Math.sin(i)) * 3);
const completion = 'The answer is 42 because six times seven is forty-two. '.repeat(18);
const CHECKERS = ['math-equivalence', 'format', 'length-penalty', 'budget', 'tool-call-match', 'exact-match'];

function groupRows(
  runId: string,
  g: number,
): { rows: RolloutInsert[]; rewardsOf: (sample: number) => RewardInsert[] } {
  const rows = Array.from({ length: G }, (_, sample) => ({
    runId,
    step: 1 + Math.floor(g / 64),
    env: ['math', 'code-sandbox', 'tool-use', 'long-context'][g % 4]!,
    taskId: `task-${g}`,
    sample,
    status: 'ok',
    phase: 'train',
    policyVersion: Math.floor(g / 64),
    completion,
    turns: [
      { role: 'user', content: 'What is 6 × 7?' },
      { role: 'assistant', content: completion, tokens: 256 },
    ],
    promptTokenIds: promptIds,
    completionTokenIds: completionIds,
    logprobs,
    completionMask: null,
    promptTokens: promptIds.length,
    completionTokens: completionIds.length,
    thinkingTokens: 0,
    finishReason: 'stop',
    reward: sample % 2,
    extra: null,
  }));
  const rewardsOf = (sample: number): RewardInsert[] =>
    CHECKERS.slice(0, K).map((checker, j) => ({
      checker,
      weight: 1,
      status: 'ok',
      value: (sample + j) % 2,
      error: null,
      details: { extracted: '42', reference: '42', rule: 'last_number' },
    }));
  return { rows, rewardsOf };
}

const ROLLOUT_COLUMNS = [
  ['run_id', 'runId'],
  ['step', 'step'],
  ['env', 'env'],
  ['task_id', 'taskId'],
  ['sample', 'sample'],
  ['status', 'status'],
  ['phase', 'phase'],
  ['policy_version', 'policyVersion'],
  ['completion', 'completion'],
  ['turns', 'turns'],
  ['prompt_token_ids', 'promptTokenIds'],
  ['completion_token_ids', 'completionTokenIds'],
  ['logprobs', 'logprobs'],
  ['completion_mask', 'completionMask'],
  ['prompt_tokens', 'promptTokens'],
  ['completion_tokens', 'completionTokens'],
  ['thinking_tokens', 'thinkingTokens'],
  ['finish_reason', 'finishReason'],
  ['reward', 'reward'],
  ['extra', 'extra'],
] as const;
const JSON_COLUMNS = new Set(['turns', 'extra', 'details']);
const REWARD_COLUMNS = [
  ['rollout_id', 'rolloutId'],
  ['checker', 'checker'],
  ['weight', 'weight'],
  ['status', 'status'],
  ['value', 'value'],
  ['error', 'error'],
  ['details', 'details'],
] as const;

/**
 * `INSERT … VALUES ($1, …), (…)` and its parameters: JSON columns stringified, number arrays as they
 * are (`pg` formats them as array literals).
 */
function multiRow(
  table: string,
  columns: readonly (readonly [string, string])[],
  rows: Record<string, unknown>[],
  tail: string,
) {
  const params: unknown[] = [];
  const tuples = rows.map(
    (r) =>
      `(${columns
        .map(([, key]) => {
          const v = r[key] ?? null;
          params.push(JSON_COLUMNS.has(key) && v !== null ? JSON.stringify(v) : v);
          return `$${params.length}`;
        })
        .join(', ')})`,
  );
  return {
    text: `insert into ${table} (${columns.map(([c]) => c).join(', ')}) values ${tuples.join(', ')} ${tail}`,
    params,
  };
}

type Query = (text: string, params: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** The baseline: the same transaction by hand on a plain client. */
async function rawGroup(query: Query, g: ReturnType<typeof groupRows>) {
  const ins = multiRow('rollouts', ROLLOUT_COLUMNS, g.rows, 'on conflict do nothing returning id, sample');
  const inserted = (await query(ins.text, ins.params)).rows;
  const rewardRows = inserted.flatMap((r) =>
    g.rewardsOf(Number(r.sample)).map((w) => ({ ...w, rolloutId: Number(r.id) })),
  );
  const rw = multiRow('rewards', REWARD_COLUMNS, rewardRows, 'on conflict do nothing');
  await query(rw.text, rw.params);
}

/** Runs `groups` group writes, `concurrency` at a time; returns seconds. */
async function timeWrites(write: (g: number) => Promise<void>, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < GROUPS) await write(next++);
    }),
  );
  return ms(t0) / 1000;
}

async function newRun(db: DatabaseHandle['db'], id: string) {
  await db.insert(runs).values({ id, name: id, config: { name: id, steps: 1, environments: [] } });
}

async function writeBench(
  name: string,
  handle: DatabaseHandle,
  rawTx: (fn: (q: Query) => Promise<void>) => Promise<void>,
  concurrency: number,
) {
  const drizzleS: number[] = [];
  const rawS: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const a = `bench-w-drizzle-${rep}`;
    const b = `bench-w-raw-${rep}`;
    await newRun(handle.db, a);
    await newRun(handle.db, b);
    // Interleaved, baseline first on odd repetitions, so drifting load hits both alike.
    const order = rep % 2 === 0 ? ['drizzle', 'raw'] : ['raw', 'drizzle'];
    for (const which of order) {
      if (which === 'drizzle')
        drizzleS.push(
          await timeWrites(
            async (g) => void (await insertGroup(handle.db, ...spread(groupRows(a, g)))),
            concurrency,
          ),
        );
      else rawS.push(await timeWrites((g) => rawTx((q) => rawGroup(q, groupRows(b, g))), concurrency));
    }
  }
  const rolloutsN = GROUPS * G;
  const rewardsN = rolloutsN * K;
  const d = median(drizzleS);
  const r = median(rawS);
  console.log(
    `${name} writes (${GROUPS} groups × ${G} rollouts × ${K} components, ${concurrency} concurrent, median of ${REPS}):\n` +
      `  activity path:           ${(rolloutsN / d).toFixed(0)} rollouts/s, ${(rewardsN / d).toFixed(0)} reward rows/s (${d.toFixed(2)} s; reps ${drizzleS.map((x) => x.toFixed(2)).join(', ')})\n` +
      `  plain baseline:          ${(rolloutsN / r).toFixed(0)} rollouts/s, ${(rewardsN / r).toFixed(0)} reward rows/s (${r.toFixed(2)} s; reps ${rawS.map((x) => x.toFixed(2)).join(', ')})\n` +
      `  activity path ÷ baseline time: ${(d / r).toFixed(2)}×`,
  );
}

/**
 * PostgreSQL's own cost of the same rows with no client: the rollouts (and reward rows) the activity
 * path wrote for run `from` copied into a new run by one statement per backend, `backends` backends at
 * once, triggers and indexes included. No client formats, sends or parses anything, so this bounds
 * what any client can write on this machine. Returns seconds.
 */
async function serverCeiling(url: string, from: string, backends: number): Promise<number> {
  const cols =
    'step, env, task_id, sample, status, error, phase, policy_version, completion, turns, prompt_token_ids, ' +
    'completion_token_ids, logprobs, completion_mask, prompt_tokens, completion_tokens, thinking_tokens, ' +
    'finish_reason, reasoning_budget, reward, advantage, extra';
  const clients = await Promise.all(
    Array.from({ length: backends }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  try {
    const to = `bench-ceiling-${backends}`;
    await clients[0]!.query(`insert into runs (id, name, config) values ($1, $1, '{}'::jsonb)`, [to]);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      clients.map((c, i) =>
        c.query(
          // New ids drawn up front, so the reward rows follow their rollout by an index lookup.
          `with src as materialized (select r.*, nextval('rollouts_id_seq') as new_id from rollouts r
                                      where run_id = $1 and mod(abs(hashtext(task_id)), $3) = $4),
             ins as (insert into rollouts (id, run_id, ${cols}) select new_id, $2, ${cols} from src)
           insert into rewards (rollout_id, checker, weight, status, value, error, details)
           select src.new_id, w.checker, w.weight, w.status, w.value, w.error, w.details
             from src join rewards w on w.rollout_id = src.id`,
          [from, to, backends, i],
        ),
      ),
    );
    return ms(t0) / 1000;
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const spread = (g: ReturnType<typeof groupRows>) => [g.rows, g.rewardsOf] as const;

// ── 1. writes ────────────────────────────────────────────────────────────────────────────────────
const pgDb = await createTestDatabase('mgbench_logs');
// What the per-group summaries (migration 0004) cost the writes: the same run without their triggers.
if (args['no-summary-triggers'])
  await pgDb.db.execute(
    sql`alter table rollouts disable trigger user; alter table rewards disable trigger user`,
  );
try {
  if (!args['skip-writes']) {
    const pool = new pg.Pool({ connectionString: pgDb.url, max: 10 });
    await writeBench(
      'PostgreSQL',
      pgDb,
      async (fn) => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          await fn((text, params) => client.query(text, params));
          await client.query('commit');
        } catch (err) {
          await client.query('rollback');
          throw err;
        } finally {
          client.release();
        }
      },
      CONCURRENCY,
    );
    await pool.end();
    const rewardsN = GROUPS * G * K;
    for (const backends of [1, 2]) {
      const t = await serverCeiling(pgDb.url, 'bench-w-drizzle-0', backends);
      console.log(
        `  PostgreSQL alone (no client: the rows copied by ${backends} statement(s) on ${backends} backend(s)): ${(rewardsN / t).toFixed(0)} reward rows/s (${t.toFixed(2)} s)`,
      );
    }

    const dir = mkdtempSync(join(tmpdir(), 'multigym-bench-pglite-'));
    const lite = await openDatabase({ pgliteDir: dir });
    const client = (lite.db as unknown as { $client: import('@electric-sql/pglite').PGlite }).$client;
    await writeBench(
      'PGlite',
      lite,
      (fn) => client.transaction(async (tx) => fn((text, params) => tx.query(text, params))),
      CONCURRENCY,
    );
    await lite.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // ── 2. reads at --rows reward rows ─────────────────────────────────────────────────────────────
  if (!args['skip-reads']) await queryBench('PostgreSQL', pgDb);
  if (args['pglite-query']) {
    const dir = mkdtempSync(join(tmpdir(), 'multigym-bench-pglite-'));
    const lite = await openDatabase({ pgliteDir: dir });
    await queryBench('PGlite', lite);
    await lite.close();
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await pgDb.drop();
}
console.log(`load average at end: ${load()}`);

/** Generates the big run in SQL (4 environments × steps × 64 tasks × 8 samples, K components each). */
async function generate(db: DatabaseHandle['db'], runId: string, rewardRows: number) {
  const perStep = 4 * 64 * 8;
  const steps = Math.ceil(rewardRows / K / perStep);
  await db.execute(
    sql`insert into runs (id, name, config) values (${runId}, ${runId}, ${JSON.stringify({ name: runId, steps, environments: [{ name: 'math' }, { name: 'code-sandbox' }, { name: 'tool-use' }, { name: 'long-context' }] })}::jsonb)`,
  );
  const t0 = process.hrtime.bigint();
  await db.execute(sql`insert into rollouts (run_id, step, env, task_id, sample, status, phase, policy_version, completion, turns,
      prompt_token_ids, completion_token_ids, logprobs, prompt_tokens, completion_tokens, finish_reason, reward)
    select ${runId}, s, (array['math','code-sandbox','tool-use','long-context'])[e], 't' || t, x,
      case when (s * 31 + t * 7 + x) % 97 = 0 then 'checker_error' else 'ok' end, 'train', s - 1,
      repeat('answer ', 40), '[]'::jsonb, ${`{${promptIds.slice(0, 64).join(',')}}`}::int4[], ${`{${completionIds.slice(0, 64).join(',')}}`}::int4[],
      ${`{${logprobs.slice(0, 64).join(',')}}`}::float8[], 64, 20 + (s * 13 + t * 5 + x) % 200,
      case when (t + x) % 11 = 0 then 'length' else 'stop' end,
      case when (s * 31 + t * 7 + x) % 97 = 0 then null else ((s + t + x) % 3) / 2.0 end
    from generate_series(1, ${steps}) s, generate_series(1, 4) e, generate_series(1, 64) t, generate_series(0, 7) x`);
  await db.execute(sql`insert into rewards (rollout_id, checker, weight, status, value, details)
    select o.id, c.name, 1, case when o.status = 'ok' then 'ok' else 'checker_error' end,
      case when o.status = 'ok' then ((o.id + c.i) % 2)::float8 else null end, '{"reason":"bench"}'::jsonb
    from rollouts o, (select i, (${sql.raw(
      // constant checker names of this file, not input
      `array[${CHECKERS.slice(0, K)
        .map((c) => `'${c}'`)
        .join(',')}]`,
    )})[i] as name from generate_series(1, ${K}) i) c
    where o.run_id = ${runId}`);
  await db.execute(sql`vacuum analyze rollouts`);
  await db.execute(sql`vacuum analyze rewards`);
  const [count] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from rewards r join rollouts o on o.id = r.rollout_id where o.run_id = ${runId}`,
    ),
  );
  return { steps, rewardRows: Number(count!.n), seconds: ms(t0) / 1000 };
}

async function queryBench(name: string, handle: DatabaseHandle) {
  const runId = 'bench-big';
  const g = await generate(handle.db, runId, Number(args.rows));
  console.log(
    `\n${name} reads: run of ${g.rewardRows} reward rows, ${g.rewardRows / K} rollouts, ${g.steps} steps (generated in ${g.seconds.toFixed(1)} s)`,
  );
  const source = databaseSource(handle.db);
  const time = async (label: string, fn: () => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      xs.push(ms(t0));
    }
    return { label, ms: median(xs), all: xs };
  };
  const rawStep = await time('raw SQL: avg(reward) per step and env', () =>
    handle.db.execute(
      sql`select step, env, avg(reward), count(*) from rollouts where run_id = ${runId} and phase = 'train' group by step, env`,
    ),
  );
  const rawChecker = await time('raw SQL: avg(value) per step, env, checker', () =>
    handle.db.execute(
      sql`select o.step, o.env, r.checker, avg(r.value), count(*) from rewards r join rollouts o on o.id = r.rollout_id where o.run_id = ${runId} and o.phase = 'train' group by 1, 2, 3`,
    ),
  );
  const results = [
    await time('run detail (GET /api/runs/:run)', () => source.run(runId)),
    await time('step aggregates (GET …/steps)', () => source.steps(runId)),
    await time('env aggregates (GET …/envs)', () => source.envs(runId)),
    await time('checker stats (GET …/checkers)', () => source.checkers(runId)),
    await time('rollout page, checker filter (GET …/rollouts?checker=format&max_reward=0)', () =>
      source.rollouts(runId, { checker: 'format', max_reward: '0', limit: '25' }),
    ),
  ];
  const row = (r: { label: string; ms: number; all: number[] }, base?: number) =>
    `  ${r.label.padEnd(78)} ${r.ms.toFixed(0).padStart(6)} ms${base ? `  (${(r.ms / base).toFixed(2)}× the raw SQL)` : ''}  [${r.all.map((x) => x.toFixed(0)).join(', ')}]`;
  console.log(row(rawStep));
  console.log(row(rawChecker));
  console.log(row(results[0]!));
  console.log(row(results[1]!, rawStep.ms));
  console.log(row(results[2]!, rawStep.ms));
  console.log(row(results[3]!, rawChecker.ms));
  console.log(row(results[4]!));
  const page = results.reduce((a, r) => a + r.ms, 0);
  console.log(`  a run page's first load (all of the above): ${page.toFixed(0)} ms`);
}
