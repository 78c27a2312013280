/**
 * `multigym dev` killed and started again, as a user's machine does it (issue 14): the CLI process
 * (Temporal dev server with its SQLite history in MULTIGYM_HOME, CPU policy worker, orchestrator
 * workers; PostgreSQL for the database) runs a paused run, is SIGKILLed — every process it started
 * must end with it, the Temporal dev server included — and is started again with the same flags: the
 * ports are free, the new policy worker gets the run's weights back (its newest checkpoint plus the
 * step after it) before anything asks for them, and the run goes on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { and, eq, max } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, stepMetrics } from '../../db/schema.js';
import { PolicyClient } from '../../policy/client.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { pauseUpdate, progressQuery, resumeUpdate, stopUpdate } from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { repoRoot } from '../helpers/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from './ports.js';

const home = mkdtempSync(join(tmpdir(), 'multigym-dev-restart-'));
// One policy-worker token for both starts of `multigym dev` (it uses this one instead of a fresh one),
// sent by this process's policy clients too.
const token = 'dev-restart-test-token';
const previousToken = process.env.MULTIGYM_POLICY_TOKEN;
const spawned: ChildProcess[] = [];
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  process.env.MULTIGYM_POLICY_TOKEN = token;
});
afterAll(async () => {
  if (previousToken === undefined) delete process.env.MULTIGYM_POLICY_TOKEN;
  else process.env.MULTIGYM_POLICY_TOKEN = previousToken;
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await database?.drop();
  rmSync(home, { recursive: true, force: true });
});

/** Starts `multigym dev` (one node process, no launcher between) and waits for its `ready.` line. */
async function startDev(ports: number[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, MULTIGYM_HOME: home, DATABASE_URL: database.url };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), 'dev'].concat(
      ['--temporal-port', '--ui-port', '--policy-port'].flatMap((flag, i) => [flag, String(ports[i])]),
    ),
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  spawned.push(child);
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const output = () => stripVTControlCharacters(log);
  await waitFor(
    'multigym dev to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`multigym dev exited:\n${output()}`);
      return output().includes('ready.') ? true : undefined;
    },
    300_000,
    200,
  );
  return { child, output };
}

/** Live (not zombie) processes descending from `pid`, with their command names. */
function descendants(pid: number): { pid: number; name: string }[] {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (state === 'Z') continue;
      parent.set(Number(d), Number(ppid));
      name.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
    } catch {}
  }
  const out: { pid: number; name: string }[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push({ pid: child, name: name.get(child)! });
        queue.push(child);
      }
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('multigym dev killed and started again', () => {
  it('takes every child down with it, and the new worker gets the paused run its weights back', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const first = await startDev(ports);
    const children = descendants(first.child.pid!);
    expect(children.map((c) => c.name)).toEqual(expect.arrayContaining(['temporal', 'python']));

    const connection = await Connection.connect({ address: `127.0.0.1:${ports[0]}` });
    const client = new Client({ connection });
    const policyUrl = `http://127.0.0.1:${ports[2]}`;
    const config: RunConfigInput = {
      name: 'dev-restart',
      seed: 2,
      steps: 30,
      policy: { url: policyUrl },
      environments: [
        { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
      ],
      algorithm: { learning_rate: 1e-3 },
      checkpoint_every: 2,
      checkpoint_dir: join(home, 'checkpoints'),
      timeouts: { rollout_heartbeat_s: 10, main_heartbeat_s: 20 },
    };
    const runId = 'dev-restart';
    const handle = await client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: runId,
      args: [{ config }],
    });
    const db = database.db;
    const lastStep = async () =>
      Number(
        (
          await db
            .select({ s: max(stepMetrics.step) })
            .from(stepMetrics)
            .where(eq(stepMetrics.runId, runId))
        )[0]?.s ?? 0,
      );
    await waitFor('step 3 to be trained', async () => ((await lastStep()) >= 3 ? true : undefined));
    await handle.executeUpdate(pauseUpdate, { args: [{}] });
    // The step in flight when the pause came finishes first; then nothing moves.
    let step = 0;
    await waitFor('the run to stand still', async () => {
      const before = await lastStep();
      await new Promise((r) => setTimeout(r, 3000));
      const p = await handle.query(progressQuery);
      step = p.step;
      return before === (await lastStep()) && p.step === before ? true : undefined;
    });
    const policy = new PolicyClient({ url: policyUrl });
    expect(await policy.info()).toMatchObject({ run_id: runId, policy_version: step });
    await connection.close();

    first.child.kill('SIGKILL');
    await waitFor(
      "multigym dev's children to end with it",
      async () => (children.some((c) => alive(c.pid)) ? undefined : true),
      20_000,
    );

    const second = await startDev(ports);
    expect(second.output()).toContain(
      `policy worker holds run ${runId} again (step ${step}, policy v${step})`,
    );
    expect(await policy.info()).toMatchObject({ run_id: runId, policy_version: step });
    const [restore] = await db
      .select()
      .from(events)
      .where(and(eq(events.runId, runId), eq(events.kind, 'policy_restore')));
    const newest = step - (step % 2);
    expect(restore!.data).toMatchObject({
      reason: expect.stringContaining('a new policy worker was started'),
      worker_before: { run_id: null, policy_version: 0 },
      restored_from: join(home, 'checkpoints', runId, `step-${newest}`),
      restored_version: newest,
    });

    const connection2 = await Connection.connect({ address: `127.0.0.1:${ports[0]}` });
    const handle2 = new Client({ connection: connection2 }).workflow.getHandle(runId);
    await handle2.executeUpdate(resumeUpdate, { args: [{}] });
    await waitFor('one more step', async () => ((await lastStep()) > step ? true : undefined));
    await handle2.executeUpdate(stopUpdate, { args: [{}] });
    const result = (await handle2.result()) as RlRunResult;
    expect(result.status).toBe('stopped');
    expect(result.policyVersion).toBe(result.steps);
    const versions = await db
      .select({ step: stepMetrics.step, v: stepMetrics.policyVersion })
      .from(stepMetrics)
      .where(eq(stepMetrics.runId, runId));
    expect(versions.map((r) => r.v).sort((a, b) => a - b)).toEqual(
      versions.map((r) => r.step).sort((a, b) => a - b),
    );
    await connection2.close();

    const kids = descendants(second.child.pid!);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    await waitFor(
      'every child stopped',
      async () => (kids.some((c) => alive(c.pid)) ? undefined : true),
      20_000,
    );
  }, 900_000);
});
