/**
 * A shortened `multigym quickstart` end to end, as a user runs it: the CLI process starts its own
 * Temporal dev server, PGlite database, policy worker and orchestrator workers (temp MULTIGYM_HOME,
 * free ports), trains 2 steps on all four environments with real data (whole sets or excerpts), prints the tables
 * and writes the report. Then `--resume` reattaches to the finished run, and Ctrl-C during a fresh
 * start stops every process the CLI started. No threshold on learning.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDir } from '../helpers/data.js';
import { repoRoot } from '../helpers/paths.js';

const ENVS = ['code-sandbox', 'long-context', 'math', 'tool-use'];
const home = mkdtempSync(join(tmpdir(), 'multigym-quickstart-'));
const out = join(home, 'report-out');
const spawned: ChildProcess[] = [];

afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((r, j) => {
    const s = createServer();
    s.once('error', j);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => r(port));
    });
  });
}

/** The developer's environment without their data, database or Temporal settings, with the temp home. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MULTIGYM_HOME: home };
  for (const k of ['MULTIGYM_DATA', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'MULTIGYM_DATA_MIRROR'])
    delete env[k];
  return env;
}

/** Starts the CLI; `output()` is stdout+stderr so far, `exit` resolves with the exit code. */
async function quickstart(args: string[]) {
  const ports = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(repoRoot, 'cli/main.ts'),
      'quickstart',
      '--temporal-port',
      String(ports[0]),
      '--ui-port',
      String(ports[1]),
      '--policy-port',
      String(ports[2]),
      ...args,
    ],
    { cwd: repoRoot, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  spawned.push(child);
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, ports, output: () => stripVTControlCharacters(log), raw: () => log, exit };
}

/** Pids of live processes whose command line contains `needle` (this machine's /proc). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(needle) && !/\) Z /.test(stat)) pids.push(Number(d));
    } catch {}
  }
  return pids;
}

/** The real data (whole sets, or the committed excerpts) of all four environments, in one directory. */
const data = dataDir('gsm8k', 'math500', 'humaneval', 'bfcl', 'haystack_gutenberg');

describe('multigym quickstart (shortened)', () => {
  const shortArgs = ['--steps', '2', '--sft-steps', '2', '--prompts', '2', '--group-size', '2'];

  it('runs on the real data of all four environments and fills every table and the report', async () => {
    const run = await quickstart(['--data', data, '--out', out, ...shortArgs]);
    const code = await run.exit;
    const text = run.output();
    expect(code, text).toBe(0);
    // output to a pipe: no escape codes, plain progress lines, the web UI's address once (the run's link)
    expect(run.raw()).not.toContain('\u001b');
    expect(text).toMatch(
      /Temporal web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/quickstart-/,
    );
    expect(text.split(`http://127.0.0.1:${run.ports[1]}`).length - 1).toBe(1);
    expect(text).toMatch(/^warm start 2\/2 sft steps · loss \d+\.\d+ nats\/token/m);
    expect(text).toMatch(/^step 1\/2 · policy v\d+ · \d+ rollouts/m);
    expect(text).toContain('real data in');
    expect(text).toMatch(/gsm8k, math500, humaneval, bfcl, haystack/);
    expect(text).toMatch(/warm start done in \d+ s: loss \d+\.\d+ → \d+\.\d+/);
    expect(text).toContain('step 2/2');
    expect(text).toMatch(/run quickstart-\S+ completed/);
    for (const env of ENVS) {
      // one table row per environment: first and last step's reward, the change, both pass rates
      expect(text).toMatch(
        new RegExp(
          `│ ${env}\\s+│ -?\\d+\\.\\d{3} \\(step 1\\)\\s+│ -?\\d+\\.\\d{3} \\(step 2\\)\\s+│ [+-]\\d+\\.\\d{3}\\s+│ \\d+%\\s+│ \\d+%`,
        ),
      );
    }
    const runId = /run (quickstart-\S+) completed/.exec(text)![1]!;
    expect(text).toContain(`npx multigym logs ${runId}`);
    expect(statSync(join(out, 'reward-curves.png')).size).toBeGreaterThan(1000);
    expect(readFileSync(join(out, 'reward-curves.png')).subarray(1, 4).toString()).toBe('PNG');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const env of ENVS) expect(html).toContain(`<td>${env}</td>`);
    expect(html).toContain('<svg');
    expect(existsSync(join(home, 'quickstart/state.json'))).toBe(true);
  }, 1_200_000);

  it('--resume reattaches to the previous run instead of starting a new one', async () => {
    const before = JSON.parse(readFileSync(join(home, 'quickstart/state.json'), 'utf8')) as {
      workflowId: string;
    };
    const run = await quickstart(['--resume', '--out', out]);
    const code = await run.exit;
    const text = run.output();
    expect(code, text).toBe(0);
    expect(text).toContain(`reattached to run ${before.workflowId}`);
    expect(text).not.toContain('warm start');
    expect(text).toMatch(new RegExp(`run ${before.workflowId} completed`));
    expect(text).toMatch(/│ math\s+│ -?\d+\.\d{3} \(step 1\)/);
  }, 600_000);

  it('Ctrl-C stops every process it started (Temporal, policy worker) and exits', async () => {
    const run = await quickstart(['--data', data, ...shortArgs, '--sft-steps', '200']);
    const deadline = Date.now() + 300_000;
    while (!run.output().includes('warm start:') && Date.now() < deadline && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(run.output()).toContain('starting clean: removing the previous quickstart state');
    const [temporalPort, , policyPort] = run.ports;
    const temporal = processesWith(`--port ${temporalPort} `);
    const policy = processesWith(`--port ${policyPort} `);
    expect(temporal.length, run.output()).toBeGreaterThan(0);
    expect(policy.length, run.output()).toBeGreaterThan(0);
    // the policy worker needs this start's token (file 0600, never on a command line) and keeps its
    // checkpoints under the quickstart's directory
    const tokenFile = join(home, 'policy.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(processesWith(token)).toEqual([]);
    expect(processesWith(`--checkpoint-dir ${join(home, 'quickstart/checkpoints')}`)).toEqual(policy);
    const info = `http://127.0.0.1:${policyPort}/v1/info`;
    expect((await fetch(info)).status).toBe(401);
    expect((await fetch(info, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code).toBe(130);
    expect(run.output()).toContain('interrupted: stopping');
    expect(processesWith(`--port ${temporalPort} `)).toEqual([]);
    expect(processesWith(`--port ${policyPort} `)).toEqual([]);
    expect(processesWith(home).filter((p) => p !== run.child.pid)).toEqual([]);
  }, 600_000);
});
