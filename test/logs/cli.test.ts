/**
 * `multigym logs` as a user runs it, over a seeded log (test/helpers/rewardLogSeed.ts): filters in the
 * tables, --json and --csv alike; unknown run/env/step and bad values exit 1 naming what exists or the
 * flag; --samples shows the task and each checker's reason; piping into `head` ends quietly; --follow
 * prints steps as they are trained; and with the embedded database held by another process, the same
 * answers come through that process's read API.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { followLogs } from '../../cli/commands/logsFollow.js';
import { type DatabaseHandle, openDatabase } from '../../db/client.js';
import { databaseSource } from '../../db/logs/source.js';
import { rollouts, runs, stepMetrics } from '../../db/schema.js';
import { startLogServer } from '../../server/serve.js';
import { ESC, runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { SEED_RUN, seedRewardLog } from '../helpers/rewardLogSeed.js';

let pg: TestDatabase;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  pg = await createTestDatabase('mg_logscli');
  await seedRewardLog(pg.db);
  env = { DATABASE_URL: pg.url, TEMPORAL_ADDRESS: '127.0.0.1:1' };
});
afterAll(async () => {
  await pg?.drop();
});

const logs = (args: string[], extra: NodeJS.ProcessEnv = env) => runCli(['logs', ...args], { env: extra });
/** Table rows as trimmed cells, borders dropped. */
const cells = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) =>
      l
        .split('│')
        .slice(1, -1)
        .map((c) => c.trim()),
    );

describe('multigym logs on PostgreSQL', () => {
  it('filters the table, --json and --csv alike', async () => {
    const table = await logs([SEED_RUN, '--env', 'tool-use', '--checkers']);
    expect(table.code, table.output).toBe(0);
    expect(table.output).not.toContain(ESC);
    const rows = cells(table.output);
    expect(rows.filter((c) => c[1] === 'math')).toEqual([]);
    expect(rows.find((c) => c[1] === 'tool-use' && c.length === 11)).toEqual([
      '1',
      'tool-use',
      '4',
      '0.417',
      '33%',
      '20.0',
      '0',
      '1',
      '0',
      '0.1000',
      '0.0100',
    ]);

    const json = await logs([SEED_RUN, '--json', '--checkers', '--env', 'tool-use']);
    expect(json.code, json.output).toBe(0);
    const body = JSON.parse(json.output);
    expect(body.steps.map((r: { env: string }) => r.env)).toEqual(['tool-use']);
    expect(new Set(body.checkers.map((r: { env: string }) => r.env))).toEqual(new Set(['tool-use']));
    expect(body.steps[0]).toMatchObject({ rollouts: 4, infraErrors: 1, zeroVarianceGroups: 0, passAtK: 1 });

    const csv = await logs([SEED_RUN, '--csv', '--env', 'math', '--step', '2']);
    expect(csv.code, csv.output).toBe(0);
    const [head, ...lines] = csv.output.trim().split('\n');
    expect(head).toMatch(
      /^step,env,rollouts,scored,meanReward,.*,truncationRate,checkerErrors,infraErrors,rejected,loss,kl,/,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^2,math,8,7,0\.2857142857\d*,/);

    const checkerCsv = await logs([SEED_RUN, '--csv', '--checkers', '--checker', 'tool-call-match']);
    expect(checkerCsv.output.trim().split('\n')).toEqual([
      'step,env,checker,mean,passRate,n,notApplicable,checkerErrors,infraErrors',
      '1,tool-use,tool-call-match,0.5,0.3333333333333333,3,0,0,0',
    ]);
  });

  it('lists runs with their environments, steps and latest rewards', async () => {
    const r = await logs([]);
    expect(r.code, r.output).toBe(0);
    expect(cells(r.output)[1]).toEqual([
      SEED_RUN,
      'seed',
      'running',
      '2/4',
      'math 0.286, tool-use -',
      expect.any(String),
    ]);
  });

  it('exits 1 on an unknown run, environment or step, or a bad value, naming what exists or the flag', async () => {
    const cases: [string[], string][] = [
      [['nope'], `multigym: no run "nope"; recent runs: ${SEED_RUN}`],
      [
        [SEED_RUN, '--env', 'nosuchenv'],
        `multigym: run "${SEED_RUN}" has no environment "nosuchenv"; it has: math, tool-use`,
      ],
      [[SEED_RUN, '--step', '9'], 'has train rollouts at steps 1..2 (steps are 1-based)'],
      [[SEED_RUN, '--min-reward', 'lots'], 'multigym: --min-reward: expected a number, got "lots"'],
    ];
    for (const [args, message] of cases) {
      const r = await logs(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.output, args.join(' ')).toContain(message);
      expect(r.output).not.toMatch(/^\s+at /m); // no stack trace
    }
  });

  it('--samples shows the task and every checker’s value and reason', async () => {
    const r = await logs([
      SEED_RUN,
      '--samples',
      '1',
      '--checker',
      'math-equivalence',
      '--max-reward',
      '0',
      '--limit',
      '2',
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('── step 1 math t1 #1  reward 0.000');
    expect(r.output).toContain('task: {"answer":"4","question":"What is 2+2?"}');
    expect(r.output).toContain('math-equivalence ×1: 0.000  wrong answer 7');
    expect(r.output).toContain('── showed 2 of 3 rollouts of step 1: --limit 3 shows all');
    const errors = await logs([SEED_RUN, '--samples', '--status', 'checker_error']);
    expect(errors.output).toContain('checker_error: math-equivalence: boom');
    expect(errors.output).toContain('math-equivalence ×1: checker_error  boom: parser crashed');
    const csv = await logs([SEED_RUN, '--samples', '--env', 'tool-use', '--csv', '--grep', 'bad json']);
    const parsed = csv.output.trim().split('\n');
    expect(parsed[0]).toBe(
      'id,step,env,task_id,sample,status,reward,advantage,finish_reason,completion_tokens,policy_version,error,completion,invalid-call-penalty,invalid-call-penalty.reason,tool-call-match,tool-call-match.reason',
    );
    expect(parsed[1]).toMatch(
      /^\d+,1,tool-use,u1,1,ok,-0\.25,,stop,20,0,,<tool_call>\{bad json<\/tool_call>,-0\.25,unparseable call,0,no valid call$/,
    );
  });

  it('stops quietly when piped into head (EPIPE)', async () => {
    // Enough output to outlast the pipe's buffer once head has gone.
    const big = 'seed-big';
    await seedRewardLog(pg.db, big);
    await pg.db
      .update(rollouts)
      .set({ completion: 'x'.repeat(5000) })
      .where(eq(rollouts.runId, big));
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" --import tsx cli/main.ts logs ${big} --samples --limit 1000 --phase all | head -2; echo "exit \${PIPESTATUS[0]}"`,
      ],
      { cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stdout).toMatch(/exit 0\s*$/);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('--follow prints each step once it is trained, until the run ends', async () => {
    const id = 'seed-follow';
    await seedRewardLog(pg.db, id);
    await pg.db.delete(stepMetrics).where(eq(stepMetrics.runId, id));
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void printed.push(String(s)));
    try {
      const following = followLogs(databaseSource(pg.db), id, { json: true, followMs: 50 });
      await new Promise((r) => setTimeout(r, 300));
      expect(printed).toEqual([]); // nothing trained yet
      const train = {
        loss: 0.5,
        kl: 0.001,
        entropy: 1,
        clip_frac_low: 0,
        clip_frac_high: 0,
        grad_norm: 1,
        tokens: 1,
        seconds: 1,
        learning_rate: 1,
      };
      await pg.db.insert(stepMetrics).values({ runId: id, step: 1, policyVersion: 1, train, envs: {} });
      await vi.waitFor(() => expect(printed).toHaveLength(2), { timeout: 10_000 });
      await pg.db.insert(stepMetrics).values({ runId: id, step: 2, policyVersion: 2, train, envs: {} });
      await pg.db.update(runs).set({ status: 'completed' }).where(eq(runs.id, id));
      await following;
    } finally {
      spy.mockRestore();
    }
    const rows = printed.map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.step, r.env])).toEqual([
      [1, 'math'],
      [1, 'tool-use'],
      [2, 'math'],
    ]);
    expect(rows[0].train.loss).toBe(0.5);
  });
});

describe('multigym logs while another process holds the embedded database', () => {
  let home: string;
  let pglite: DatabaseHandle;
  let server: Awaited<ReturnType<typeof startLogServer>>;
  let homeEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'multigym-logs-home-'));
    pglite = await openDatabase({ pgliteDir: resolve(home, 'pglite') });
    await seedRewardLog(pglite.db);
    // This test process is "multigym dev": it holds the lock and serves the API.
    writeFileSync(join(home, 'pglite.lock'), String(process.pid));
    server = await startLogServer({ db: pglite.db, database: 'pglite', port: 0, home });
    homeEnv = { MULTIGYM_HOME: home, DATABASE_URL: '', TEMPORAL_ADDRESS: '127.0.0.1:1' };
  });
  afterAll(async () => {
    await server?.stop();
    await pglite?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('reads through the owner’s API: same tables, same errors', async () => {
    const direct = await logs([SEED_RUN, '--checkers'], env);
    const viaApi = await logs([SEED_RUN, '--checkers'], homeEnv);
    expect(viaApi.code, viaApi.output).toBe(0);
    expect(cells(viaApi.output)).toEqual(cells(direct.output));
    expect(cells(viaApi.output).length).toBeGreaterThan(6);
    const missing = await logs([SEED_RUN, '--env', 'chess'], homeEnv);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain(
      `multigym: run "${SEED_RUN}" has no environment "chess"; it has: math, tool-use`,
    );
    const bad = await logs([SEED_RUN, '--max-reward', 'x'], homeEnv);
    expect(bad.output).toContain('multigym: --max-reward: expected a number');
  }, 300_000); // four CLI processes: each starts tsx, which takes tens of seconds on a loaded 2-core machine

  it('says what to do when the owner serves no API', async () => {
    await server.stop();
    const r = await logs([SEED_RUN], homeEnv);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`is in use by process ${process.pid}`);
    expect(r.output).toContain('serves no reward-log API');
  });
});
