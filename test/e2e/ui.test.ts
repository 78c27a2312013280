/**
 * End to end from the Temporal web UI (issue 8): headless Chromium (Debian `chromium`, driven by
 * playwright-core) fills the UI's Start Workflow form like a user — workflow id, task queue
 * `multigym`, workflow type `rlRun`, one pasted JSON value `{ "config": … }` — against the real stack:
 * `temporal server start-dev` with its web UI, a fresh PostgreSQL database, the Python policy worker
 * on CPU and multigym's workers. The run must reach step 2 (read through the `progress` query, from the
 * client and in the UI's Queries tab); More Actions → Send an Update must pause, resume and stop a run
 * and show a rejected `setMixture`; a config with a bad field must fail at once with the zod issue in
 * the failure message. The steps are those of docs/temporal-ui.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer } from '../../cli/services.js';
import { installQuietRuntime, type RunningWorkers, startWorkers } from '../../cli/workers.js';
import type { Progress } from '../../workflows/messages.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { chromiumPath, launchChromium } from './browser.js';
import { freePort } from './ports.js';

installQuietRuntime('ERROR');

let temporal: Awaited<ReturnType<typeof startTemporalDevServer>>;
let database: TestDatabase;
let policy: RunningPolicyWorker;
let workers: RunningWorkers;
let connection: Connection;
let client: Client;
let browser: Browser;
let blobDir: string;

beforeAll(async () => {
  const [port, uiPort] = [await freePort(), await freePort()];
  [temporal, database, policy] = await Promise.all([
    startTemporalDevServer({ port, uiPort }),
    createTestDatabase(),
    startPolicyWorker(),
  ]);
  blobDir = mkdtempSync(join(tmpdir(), 'multigym-e2e-blobs-'));
  workers = await startWorkers({
    address: temporal.address,
    deps: { db: database.db, blobDir },
    envs: ['math'],
  });
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await workers?.shutdown();
  await connection?.close();
  await Promise.allSettled([policy?.stop(), database?.drop()]);
  await temporal?.stop();
  if (blobDir) rmSync(blobDir, { recursive: true, force: true });
});

/** The run config of the walkthrough (docs/temporal-ui.md): generated arithmetic, tiny groups. */
const smallConfig = (policyUrl: string, overrides: Record<string, unknown> = {}) => ({
  config: {
    name: 'ui-e2e',
    steps: 3,
    seed: 7,
    policy: { url: policyUrl },
    environments: [
      {
        name: 'math',
        prompts_per_step: 4,
        group_size: 4,
        sampling: { max_tokens: 16 },
        config: {},
        ...overrides,
      },
    ],
  },
});

/** Fills and submits the UI's Start Workflow form, as a user would. */
async function startFromUi(page: Page, workflowId: string, input: unknown): Promise<void> {
  await page.goto(`${temporal.uiUrl}/namespaces/default/workflows/start-workflow`);
  await page.locator('#workflowId').fill(workflowId);
  await page.locator('#taskQueue').fill('multigym');
  await page.locator('#workflowType').fill('rlRun');
  // The input is a CodeMirror editor; insertText pastes without its auto-closing brackets.
  await page.getByRole('textbox', { name: 'Data' }).click();
  await page.keyboard.insertText(JSON.stringify(input, null, 2));
  // Leave the editor before submitting, as a user clicking elsewhere does: the form takes the value on blur.
  await page.getByRole('heading', { name: 'Start Workflow' }).click();
  await page.getByRole('button', { name: 'Start Workflow' }).click();
  await expect
    .poll(() => page.getByText('Workflow started successfully').count(), { timeout: 60_000 })
    .toBeGreaterThan(0);
}

/** The workflow's page in the UI (a tab of the execution, by run id). */
async function openExecution(page: Page, workflowId: string, tab: 'query' | 'history' | 'search-attributes') {
  const { runId } = await client.workflow.getHandle(workflowId).describe();
  await page.goto(`${temporal.uiUrl}/namespaces/default/workflows/${workflowId}/${runId}/${tab}`);
}

/** More Actions → Send an Update on the execution's page: picks the update, pastes its input, submits. */
async function sendUpdateFromUi(page: Page, workflowId: string, name: string, input: unknown): Promise<void> {
  await openExecution(page, workflowId, 'query');
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: /Select an Update/ }).click();
  await page.getByRole('option', { name, exact: true }).click();
  await dialog.locator('.cm-content').click();
  await page.keyboard.insertText(JSON.stringify(input, null, 2));
  // Leave the editor first: the dialog takes the editor's value on blur.
  await dialog.getByText('Send an Update').click();
  await dialog.getByRole('button', { name: 'Submit' }).click();
}

describe(`Temporal web UI (${chromiumPath})`, () => {
  it('starts a small math run from the Start Workflow form, which reaches step 2 and shows up in the UI', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const workflowId = `ui-e2e-${Date.now().toString(36)}`;
    await startFromUi(page, workflowId, smallConfig(policy.url));

    const handle = client.workflow.getHandle(workflowId);
    // The query fails until the first workflow task has run; keep asking.
    const step = async () => (await handle.query<Progress>('progress').catch(() => undefined))?.step ?? 0;
    await expect.poll(step, { timeout: 240_000, interval: 1000 }).toBeGreaterThanOrEqual(2);

    // The same query from the UI's Queries tab.
    await openExecution(page, workflowId, 'query');
    await page.getByRole('button', { name: 'Run Query' }).click();
    await expect
      .poll(
        async () =>
          /"name": "ui-e2e"[\s\S]*"step": [2-3],/.test((await page.locator('main').textContent()) ?? ''),
        {
          timeout: 60_000,
        },
      )
      .toBe(true);

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', steps: 3, policyVersion: expect.any(Number) });

    // The list shows the run; its search attributes carry the run name and the step.
    await page.goto(`${temporal.uiUrl}/namespaces/default/workflows`);
    await expect
      .poll(() => page.getByRole('link', { name: workflowId }).count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    await openExecution(page, workflowId, 'search-attributes');
    await expect
      .poll(
        async () => {
          const text = (await page.locator('main').textContent()) ?? '';
          return /"MultigymRunName": "ui-e2e"/.test(text) && /"MultigymStep": 3/.test(text);
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    await page.close();
  }, 400_000);

  it('pauses, resumes and stops a run, and shows a rejected setMixture, through Send an Update', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const workflowId = `ui-e2e-control-${Date.now().toString(36)}`;
    const input = smallConfig(policy.url);
    // Long enough to be controlled while it runs; one execution (no continue-as-new to chase).
    Object.assign(input.config, { steps: 200, continue_as_new_every: 1000 });
    await startFromUi(page, workflowId, input);
    const handle = client.workflow.getHandle(workflowId);
    const progress = () => handle.query<Progress>('progress').catch(() => undefined);
    await expect
      .poll(async () => (await progress())?.step ?? 0, { timeout: 240_000 })
      .toBeGreaterThanOrEqual(1);

    await sendUpdateFromUi(page, workflowId, 'pause', {});
    await expect
      .poll(() => page.getByText('Update successful').count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    expect((await progress())?.status).toBe('paused');
    // The step in flight finishes, then the run waits: nothing pending (no activity, no workflow task)
    // and the step no longer moves.
    const idle = async () => {
      const { raw } = await handle.describe();
      return (raw.pendingActivities?.length ?? 0) === 0 && !raw.pendingWorkflowTask;
    };
    await expect.poll(idle, { timeout: 240_000 }).toBe(true);
    const paused = (await progress())!;
    await new Promise((r) => setTimeout(r, 3000));
    expect(await idle()).toBe(true);
    expect((await progress())?.step).toBe(paused.step);

    await sendUpdateFromUi(page, workflowId, 'setMixture', { environments: [] });
    await expect
      .poll(
        () =>
          page
            .getByRole('dialog')
            .getByText(/invalid mixture: environments/)
            .count(),
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);

    await sendUpdateFromUi(page, workflowId, 'resume', {});
    await expect
      .poll(async () => (await progress())?.step ?? 0, { timeout: 240_000 })
      .toBeGreaterThan(paused.step);

    await sendUpdateFromUi(page, workflowId, 'stop', {});
    const result = await handle.result();
    expect(result.status).toBe('stopped');
    expect(result.steps).toBeLessThan(200);
    await page.close();
  }, 600_000);

  it('fails a run started with a wrong field at once, naming the field, in the client and in the UI', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const workflowId = `ui-e2e-bad-${Date.now().toString(36)}`;
    await startFromUi(page, workflowId, smallConfig(policy.url, { group_size: 1 }));

    const err = await client.workflow
      .getHandle(workflowId)
      .result()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = String((err as WorkflowFailedError).cause?.message);
    expect(message).toMatch(/^invalid run config: .*environments\.0\.group_size: Too small/);

    await openExecution(page, workflowId, 'history');
    await expect
      .poll(
        async () => ((await page.locator('main').textContent()) ?? '').includes('environments.0.group_size'),
        {
          timeout: 60_000,
        },
      )
      .toBe(true);
    await page.close();
  }, 300_000);
});
