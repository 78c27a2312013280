/**
 * The reward-log dashboard end to end, on the embedded default: `multigym dev` (Temporal dev server,
 * policy worker on CPU, workers, PGlite in a fresh MULTIGYM_HOME, the dashboard on a free port) runs
 * in a child process; `multigym run --no-wait` starts a small math run whose Temporal memo links its
 * dashboard page. While it trains, headless Chromium (Debian's chromium through playwright-core) opens
 * the page, sees the reward curve gain a step without reloading, filters the rollout browser to samples
 * that math-equivalence failed and reads the checker's reason; and `multigym logs RUN --checkers` from
 * another process answers through the dashboard's API (the embedded database is held by `dev`). A
 * screenshot is saved under test-artifacts/ (gitignored).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { chromiumPath, launchChromium } from './browser.js';
import { type DevProcess, startDev } from './devProcess.js';
import { freePort } from './ports.js';

const RUN = `dash-e2e-${Date.now().toString(36)}`;
const artifacts = resolve(repoRoot, 'test-artifacts');
let home: string;
let dev: DevProcess;
let dashboard: string;
let temporalAddress: string;
let browser: Browser;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'multigym-dash-e2e-'));
  const [temporalPort, uiPort, policyPort] = [await freePort(), await freePort(), await freePort()];
  temporalAddress = `127.0.0.1:${temporalPort}`;
  env = { ...process.env, MULTIGYM_HOME: home, TEMPORAL_ADDRESS: temporalAddress };
  delete env.DATABASE_URL;
  delete env.MULTIGYM_POLICY_TOKEN;
  dev = startDev(
    [
      ...['--temporal-port', String(temporalPort), '--ui-port', String(uiPort)],
      ...['--policy-port', String(policyPort), '--dashboard-port', '0'],
    ],
    { cwd: repoRoot, env },
  );
  dashboard = (
    await dev.waitForLog(/reward-log dashboard and API: (http:\/\/127\.0\.0\.1:\d+)/, 300_000)
  )[1]!;
  await dev.waitForLog(/^ready\./m, 300_000);
  const policyUrl = (await dev.waitForLog(/policy worker \(tiny, cpu\) on (http:\/\/[\d.:]+)/, 1000))[1]!;
  const config = join(home, 'run.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'dash-e2e',
      steps: 60, // terminated once checked: long enough to be training throughout
      seed: 3,
      policy: { url: policyUrl },
      environments: [
        { name: 'math', prompts_per_step: 3, group_size: 4, sampling: { max_tokens: 24 }, config: {} },
      ],
    }),
  );
  const started = await runCli(['run', config, '--no-wait', '--id', RUN], { env });
  expect(started.code, started.output).toBe(0);
  expect(started.output).toContain(`dashboard: ${dashboard}/runs/${RUN}`);
  browser = await launchChromium();
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

const runStatus = async () =>
  (await (await fetch(`${dashboard}/api/runs/${RUN}`)).json()) as { status: string; finishedSteps: number };

describe(`dashboard while a run trains on the embedded database (${chromiumPath})`, () => {
  it('links the run from Temporal, shows curves that gain a step, finds a failed sample and its reason; logs work from another process', async () => {
    // The Temporal UI's run carries the page's address in its memo.
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const description = await new Client({ connection }).workflow.getHandle(RUN).describe();
      expect(description.memo?.dashboard).toBe(`${dashboard}/runs/${RUN}`);
    } finally {
      await connection.close();
    }

    const page = await browser.newPage({ viewport: { width: 1400, height: 1700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await expect
      .poll(async () => (await runStatus()).finishedSteps, { timeout: 300_000, interval: 1000 })
      .toBeGreaterThanOrEqual(1);
    await page.goto(`${dashboard}/runs/${RUN}`);
    const points = page.locator('#chart-reward [aria-roledescription="point"]');
    await expect.poll(() => points.count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    const stepsShown = Number(await page.locator('#chart-reward').getAttribute('data-steps'));
    const pointsShown = await points.count();
    expect((await runStatus()).status).toBe('running');

    // In the same moment, from a second process: the embedded database is dev's, the API answers.
    const logs = await runCli(['logs', RUN, '--checkers'], { env: { ...env, DATABASE_URL: '' } });
    expect(logs.code, logs.output).toBe(0);
    expect(logs.output).toMatch(/│ 1 +│ math +│ 12 +│/);
    expect(logs.output).toMatch(/│ math +│ math-equivalence │/);
    expect((await runStatus()).status).toBe('running');

    // Live: the curve gains a step without a reload.
    await expect
      .poll(async () => Number(await page.locator('#chart-reward').getAttribute('data-steps')), {
        timeout: 300_000,
        interval: 1000,
      })
      .toBeGreaterThan(stepsShown);
    await expect.poll(() => points.count(), { timeout: 30_000 }).toBeGreaterThan(pointsShown);
    const label = await points.last().getAttribute('aria-label');
    expect(label).toMatch(/^step: \d+; mean reward: -?[\d.]+; environment: math/);

    // The rollout browser: samples math-equivalence scored 0, and why.
    const form = page.getByRole('form', { name: 'rollout filters' });
    await form.getByLabel('checker', { exact: true }).selectOption('math-equivalence');
    await form.getByLabel('max reward').fill('0');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 30_000 })
      .toMatch(/^\d+ rollouts match$/);
    await page.locator('tr.rollout').first().click();
    const checkerRow = page.locator('#rollout-detail tr[data-checker="math-equivalence"]');
    await expect.poll(() => checkerRow.locator('td').nth(3).textContent(), { timeout: 10_000 }).toBe('0.000');
    const reason = (await checkerRow.locator('td.reason').textContent()) ?? '';
    expect(reason).toMatch(/no answer found|no final answer|extracted .*reference|answer/);
    expect(await page.locator('#rollout-detail pre.task').textContent()).toMatch(/"answer"/);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();

    const connection2 = await Connection.connect({ address: temporalAddress });
    await new Client({ connection: connection2 }).workflow
      .getHandle(RUN)
      .terminate('e2e done')
      .catch(() => undefined);
    await connection2.close();
  }, 900_000);
});
