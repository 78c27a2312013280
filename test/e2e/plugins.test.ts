/**
 * A plugin as a user adds one (issue 17): `multigym plugin new` scaffolds a package outside the repo,
 * its contract test passes, `multigym dev --plugin DIR` serves its queue, and a 2-step run of the
 * scaffolded environment and `math` (the config naming the plugin by a path relative to itself)
 * trains; `multigym logs` shows its rewards under its name. A config whose plugin no worker was
 * started with fails at once, naming the queue and the command that serves it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type DevProcess, startDev } from './devProcess.js';
import { freePort } from './ports.js';

let home: string;
let work: string;
let dev: DevProcess;
let env: NodeJS.ProcessEnv;
let policyUrl: string;
const token = 'plugins-e2e-token';

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'multigym-plugins-e2e-'));
  work = join(home, 'project');
  mkdirSync(work);
  const [temporalPort, uiPort, policyPort] = [await freePort(), await freePort(), await freePort()];
  env = {
    ...process.env,
    MULTIGYM_HOME: join(home, 'home'),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    MULTIGYM_POLICY_TOKEN: token,
  };
  delete env.DATABASE_URL;
  delete env.MULTIGYM_PLUGINS;
  const made = await runCli(['plugin', 'new', 'word-sum'], { env, cwd: work });
  expect(made.code, made.output).toBe(0);
  dev = startDev(
    [
      ...['--temporal-port', String(temporalPort), '--ui-port', String(uiPort)],
      ...['--policy-port', String(policyPort), '--dashboard-port', '0'],
      ...['--plugin', './word-sum'],
    ],
    { cwd: work, env },
  );
  await dev.waitForLog(/^ready\./m, 300_000);
  policyUrl = (await dev.waitForLog(/policy worker \(tiny, cpu\) on (http:\/\/[\d.:]+)/, 1000))[1]!;
}, 420_000);

afterAll(async () => {
  await dev?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

/** Writes a run config into `dir` and returns its path. */
function writeConfig(dir: string, name: string, config: object): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('a plugin from `multigym plugin new`, end to end', () => {
  it('passes its contract test, and trains beside math under `multigym dev --plugin`', async () => {
    expect(dev.log()).toMatch(
      new RegExp(`^plugin ${join(work, 'word-sum')}: word-sum, word-sum-answer$`, 'm'),
    );
    expect(dev.log()).toContain('multigym-env-word-sum');
    const contract = await runCli(['plugin', 'test', './word-sum', '--policy-url', policyUrl], {
      env,
      cwd: work,
    });
    expect(contract.code, contract.output).toBe(0);
    expect(contract.output).toMatch(/^all \d+ checks passed$/m);
    expect(contract.output).toContain('ok   environment word-sum: deterministic tasks');
    expect(contract.output).toMatch(/ok {3}environment word-sum: rewards of word-sum\/train\/0: totals/);

    // The config lives in its own folder and names the plugin relative to itself.
    const config = writeConfig(join(work, 'configs'), 'mixed', {
      name: 'plugin-mix',
      steps: 2,
      seed: 1,
      policy: { url: policyUrl },
      plugins: ['../word-sum'],
      environments: [
        { name: 'word-sum', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
        { name: 'math', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
      ],
    });
    const run = await runCli(['run', config, '--id', 'plugin-mix'], { env, cwd: home, timeoutMs: 300_000 });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('run plugin-mix completed after 2 steps');

    const logs = await runCli(['logs', 'plugin-mix', '--checkers'], { env, cwd: work });
    expect(logs.code, logs.output).toBe(0);
    // Per step: math, then word-sum under its own name, 4 scored rollouts each.
    expect(logs.output.match(/^│ +│ word-sum +│ 4 +│ \d\.\d{3} +│/gm)).toHaveLength(2);
    for (const step of [1, 2]) {
      expect(logs.output).toMatch(new RegExp(`^│ ${step} +│ math +│ 4 +│`, 'm'));
      expect(logs.output).toMatch(
        new RegExp(`^│ ${step} +│ word-sum +│ word-sum-answer +│ \\d\\.\\d{3} │ 4 │ 0 +│ 0 +│`, 'm'),
      );
    }
  }, 600_000);

  it('a config whose plugin environment no worker serves fails at start, naming the queue and the command', async () => {
    const other = await runCli(['plugin', 'new', 'unserved-sum'], { env, cwd: work });
    expect(other.code, other.output).toBe(0);
    const config = writeConfig(work, 'unserved', {
      name: 'unserved',
      steps: 2,
      policy: { url: policyUrl },
      plugins: ['./unserved-sum'],
      environments: [
        { name: 'unserved-sum', prompts_per_step: 2, group_size: 2, sampling: { max_tokens: 8 }, config: {} },
      ],
    });
    const run = await runCli(['run', config, '--id', 'unserved'], { env, cwd: home, timeoutMs: 60_000 });
    expect(run.code, run.output).toBe(1);
    const file = join(work, 'unserved-sum', 'index.ts');
    expect(run.output).toContain(
      `run unserved failed: no worker serves this environment: environment "unserved-sum": no worker polls task queue multigym-env-unserved-sum; serve it with \`multigym worker --env unserved-sum --no-main --plugin ${file}\` (or restart \`multigym dev --plugin ${file}\`)`,
    );
  }, 120_000);
});
