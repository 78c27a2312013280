/**
 * `multigym run` and `multigym logs` as a user sees them: subprocesses with their output going to a
 * file, against the real Temporal dev server, PostgreSQL, policy worker and orchestrator workers.
 * Plain progress lines and compact tables without escape codes; every failure prints its cause (never
 * only "Workflow execution failed") and the run's web UI link; a policy worker that does not answer is
 * shown while the run waits and then fails it; `stop` works while an activity is retrying; the `runs`
 * table follows each workflow's real end (failed, terminated).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, runs } from '../../db/schema.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { stopUpdate } from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { freePort } from '../e2e/ports.js';
import { ESC, runCli } from '../helpers/cli.js';
import { startHoldingProxy } from '../helpers/holdingProxy.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
let dir: string;
/** A port nothing listens on. */
let deadPort: number;
beforeAll(async () => {
  stack = await startStack({ envs: ['math', 'tool-use'] });
  dir = stack.blobDir;
  deadPort = await freePort();
});
afterAll(async () => {
  await stack?.stop();
});

const config = (over: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'failures',
  steps: 2,
  seed: 1,
  policy: { url: stack.policy.url },
  environments: [
    { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
  ],
  ...over,
});

/** `multigym run` of `cfg` under workflow id `id`, output to a file. */
async function run(id: string, cfg: RunConfigInput, timeoutMs = 180_000) {
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const result = await runCli(['run', file, '--id', id], {
    env: { TEMPORAL_ADDRESS: stack.temporal.address, TEMPORAL_UI_URL: 'http://ui.example:8233' },
    timeoutMs,
  });
  expect(result.output, 'escape codes in output written to a file').not.toContain(ESC);
  return result;
}

const runRow = async (id: string) => (await stack.database.db.select().from(runs).where(eq(runs.id, id)))[0];

describe('multigym run explains failures', () => {
  it('without a Temporal server: names the address and suggests `multigym dev`', async () => {
    const port = await freePort();
    const file = join(dir, 'no-server.json');
    writeFileSync(file, JSON.stringify(config()));
    const r = await runCli(['run', file], { env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`no Temporal server answers at 127.0.0.1:${port}`);
    expect(r.output).toContain('npx multigym dev');
    expect(r.output).not.toContain('Failed to connect before the deadline\n');
  });

  it('a plain run prints one line per step, no escape codes; logs print one compact table', async () => {
    const twoEnvs = config({
      environments: [
        { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
        { name: 'tool-use', prompts_per_step: 1, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
      ],
    });
    const r = await run('fail-ok', twoEnvs);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(
      'started run fail-ok; Temporal web UI: http://ui.example:8233/namespaces/default/workflows/fail-ok',
    );
    expect(r.output).toMatch(/^step 1\/2 · policy v1 · \d+ rollouts · .*reward math /m);
    expect(r.output).toMatch(/^step 2\/2 · policy v2 /m);
    expect(r.output).toContain('run fail-ok completed after 2 steps');

    const env = { DATABASE_URL: stack.database.url, TEMPORAL_ADDRESS: stack.temporal.address };
    const logs = await runCli(['logs', 'fail-ok'], { env });
    expect(logs.code, logs.output).toBe(0);
    expect(logs.output).not.toContain(ESC);
    const lines = logs.output.trim().split('\n');
    expect(lines[1]).toMatch(
      /^│ step │ env +│ rollouts │ reward +│ pass │ tokens │ checker err │ infra err │ rejected │ loss +│ kl +│$/,
    );
    expect(lines.filter((l) => l.startsWith('├'))).toHaveLength(1); // under the header only
    // one row per step and environment; step, loss and KL on the step's first row only
    const rows = lines
      .filter((l) => /^│ .*(math|tool-use)/.test(l))
      .map((l) => l.split('│').map((c) => c.trim()));
    expect(rows.map((c) => [c[1], c[2]])).toEqual([
      ['1', 'math'],
      ['', 'tool-use'],
      ['2', 'math'],
      ['', 'tool-use'],
    ]);
    for (const [i, c] of rows.entries()) {
      if (i % 2 === 0) expect(c[10]).toMatch(/^-?\d+\.\d{4}$/);
      else expect([c[10], c[11]]).toEqual(['', '']);
      expect(c.slice(7, 10)).toEqual(['0', '0', '0']); // no checker or infrastructure errors, none rejected
    }
    const help = await runCli(['logs', '--help']);
    for (const column of [
      'step',
      'env',
      'rollouts',
      'reward',
      'pass',
      'tokens',
      'checker err',
      'infra err',
      'rejected',
      'loss',
      'kl',
    ])
      expect(help.output).toMatch(new RegExp(`^  ${column} +\\S`, 'm'));
    const samples = await runCli(['logs', 'fail-ok', '--samples', '1', '--limit', '3'], { env });
    expect(samples.output).toContain(
      '── showed 3 of 6 rollouts of step 1: --limit 6 shows all, --env NAME one environment',
    );
    const all = await runCli(['logs', 'fail-ok', '--samples', '1', '--limit', '6'], { env });
    expect(all.output).not.toContain('showed');
  });

  it('an unknown environment: the cause, the chain and the UI link, exit 1', async () => {
    const r = await run(
      'fail-env',
      config({ environments: [{ name: 'nope', prompts_per_step: 1, group_size: 2, config: {} }] }),
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain(
      'run fail-env failed: invalid run config: environments.0.name: unknown environment "nope"',
    );
    expect(r.output).toContain('← InvalidRunConfig: invalid run config: environments.0.name');
    expect(r.output).toContain('Temporal UI: http://ui.example:8233/namespaces/default/workflows/fail-env');
    expect(await runRow('fail-env')).toBeUndefined(); // refused before anything was written
  });

  it('a missing data set: the path and the error; the run is recorded as failed', async () => {
    const missing = join(dir, 'no-such', 'gsm8k.jsonl');
    const r = await run(
      'fail-data',
      config({
        environments: [
          {
            name: 'math',
            prompts_per_step: 2,
            group_size: 2,
            config: { dataset: { path: missing, format: 'gsm8k' } },
          },
        ],
      }),
    );
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/run fail-data failed: math tasks: .*no-such\/gsm8k\.jsonl.*ENOENT/);
    expect(r.output).toContain('← activity sampleTasks: failed (not retryable)');
    const row = await waitFor(
      'the run row to say failed',
      async () => ((await runRow('fail-data'))?.status === 'failed' ? true : undefined),
      30_000,
    );
    expect(row).toBe(true);
    const [end] = await stack.database.db
      .select()
      .from(events)
      .where(and(eq(events.runId, 'fail-data'), eq(events.kind, 'run_end')));
    expect(end).toMatchObject({ kind: 'run_end', data: { status: 'failed', workflowStatus: 'FAILED' } });
    expect(String((end!.data as { message: string }).message)).toContain('ENOENT');
  });

  it('a plugin that cannot load: names the plugin and why', async () => {
    const r = await run('fail-plugin', config({ plugins: ['./no/such-plugin.js'] }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/run fail-plugin failed: invalid run config: plugins: .*no\/such-plugin\.js/);
  });

  it('an environment no worker serves: fails at start naming the queue and the command, no running row', async () => {
    // long-context is registered in this process but this stack serves only math and tool-use.
    const r = await run(
      'fail-unserved',
      config({
        environments: [
          { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
          { name: 'long-context', prompts_per_step: 1, group_size: 2, config: {} },
        ],
      }),
      60_000,
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain(
      'run fail-unserved failed: no worker serves this environment: environment "long-context": no worker polls task queue multigym-env-long-context; serve it with `multigym worker --env long-context --no-main`',
    );
    expect(r.output).not.toContain('step 1/');
    // Failed before anything was written: no run row left `running`.
    expect((await runRow('fail-unserved'))?.status ?? 'none').not.toBe('running');
  });

  it('a policy worker that does not answer: shown while waiting, then the run fails with it', async () => {
    const url = `http://127.0.0.1:${deadPort}`;
    const r = await run('fail-policy', config({ policy: { url }, timeouts: { policy_unreachable_s: 10 } }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      new RegExp(`^waiting for the policy worker at ${url}: ECONNREFUSED \\(attempt [2-9]\\)$`, 'm'),
    );
    expect(r.output).toMatch(
      new RegExp(
        `run fail-policy failed: gave up waiting for the policy worker at ${url}: ECONNREFUSED, unanswered for 1\\d s over \\d attempts`,
      ),
    );
    expect(r.output).toContain('timeouts.policy_unreachable_s');
    // The worker is claimed before the run's row is written: nothing was.
    expect(await runRow('fail-policy')).toBeUndefined();
  });
});

describe('runs that cannot go on', () => {
  /** A long run on the real policy worker, once its row is written (the worker claimed). */
  const start = async (id: string, over: Partial<RunConfigInput> = {}) => {
    const handle = await stack.temporal.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: id,
      args: [{ config: config({ steps: 50, ...over }) }],
    });
    await waitFor('the run row', async () => ((await runRow(id)) ? true : undefined), 120_000);
    return handle;
  };
  const status = (id: string, want: string) =>
    waitFor(
      `the run row to say ${want}`,
      async () => ((await runRow(id))?.status === want ? true : undefined),
      60_000,
    );
  const retrying = async (id: string) => {
    const d = await stack.temporal.client.workflow.getHandle(id).describe();
    return (d.raw.pendingActivities ?? []).some((a) => (a.attempt ?? 1) >= 2) ? true : undefined;
  };

  it('stop works while an activity is retrying: the step is abandoned after stop_grace_s', async () => {
    // The worker behind a proxy that goes away once the run has started: its rollouts then retry.
    const proxy = await startHoldingProxy(stack.policy.url);
    const handle = await start('stop-retrying', {
      policy: { url: proxy.url },
      timeouts: { stop_grace_s: 2 },
    });
    // Close the proxy while the step's rollouts are in flight: a generate request the worker has
    // answered is held from the caller. (Training is never cancelled, so closing it during a train
    // step or a checkpoint would leave stop waiting for the worker: not what this test is about.)
    try {
      await proxy.hold((path) => path === '/v1/generate');
      await proxy.close();
      await waitFor('a retried activity', () => retrying('stop-retrying'), 120_000);
      await handle.executeUpdate(stopUpdate, { args: [{}] });
      const result = await handle.result();
      expect(result.status).toBe('stopped');
      expect(result.steps).toBeLessThan(50);
      expect((await runRow('stop-retrying'))?.status).toBe('stopped');
      const kinds = await stack.database.db.select().from(events).where(eq(events.runId, 'stop-retrying'));
      expect(kinds.map((e) => e.kind)).toContain('stop');
    } finally {
      // A failure here must not leave the run holding the worker for the tests after it.
      await handle.terminate('test cleanup').catch(() => undefined);
    }
  });

  it('a terminated run is recorded as terminated, with the reason', async () => {
    const handle = await start('terminated');
    await handle.terminate('operator pulled the plug');
    await status('terminated', 'terminated');
    const [end] = await stack.database.db
      .select()
      .from(events)
      .where(and(eq(events.runId, 'terminated'), eq(events.kind, 'run_end')));
    expect(end?.data).toMatchObject({ status: 'terminated', message: 'operator pulled the plug' });
  });

  it('a cancelled run is recorded as cancelled', async () => {
    const cancelled = await start('cancelled');
    await cancelled.cancel();
    await status('cancelled', 'cancelled');
    const [end] = await stack.database.db
      .select()
      .from(events)
      .where(and(eq(events.runId, 'cancelled'), eq(events.kind, 'run_end')));
    expect(end?.data).toMatchObject({ status: 'cancelled', workflowStatus: 'CANCELLED' });
  });
});
