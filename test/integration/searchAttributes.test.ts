/**
 * A Temporal cluster without multigym's search attributes (issue 14): `rlRun` would stay RUNNING
 * while its workflow task fails forever (BadSearchAttributes). Against a real dev server started
 * without them: `multigym run`'s client-side check refuses before starting anything, `rlRun` itself
 * fails at once (non-retryable) without writing a row, both print the commands that register the
 * attributes, and running exactly those commands makes the cluster usable.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributesProblem } from '../../activities/searchAttributes.js';
import { startAndWatch } from '../../cli/commands/run.js';
import { type RunningWorkers, startWorkers } from '../../cli/workers.js';
import { runs } from '../../db/schema.js';
import { RunConfig } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { missingSearchAttributes, searchAttributesMessage } from '../../workflows/searchAttributes.js';
import { temporalBin } from '../helpers/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import '../helpers/stack.js'; // quiet runtime

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
beforeAll(async () => {
  [env, database] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalBin },
        extraArgs: ['--log-level', 'error'],
      },
    }),
    createTestDatabase(),
  ]);
  workers = await startWorkers({
    connection: env.nativeConnection,
    address: env.address,
    deps: { db: database.db, blobDir: '/tmp' },
    envs: ['math'],
  });
});
afterAll(async () => {
  await workers?.shutdown();
  await database?.drop();
  await env?.teardown();
});

const config = RunConfig.parse({
  steps: 1,
  policy: { url: 'http://127.0.0.1:9' },
  environments: [{ name: 'math', prompts_per_step: 1, group_size: 2 }],
});

const commandsOf = (message: string) =>
  message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('temporal operator'));

describe('a cluster without multigym search attributes', () => {
  it('multigym run refuses before starting a workflow and prints the commands', async () => {
    const err = await startAndWatch(env.client, config, {
      workflowId: 'sa-client',
      quiet: true,
      address: env.address,
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain("the Temporal namespace default lacks multigym's search attributes");
    expect(message).toContain('BadSearchAttributes');
    expect(commandsOf(message)).toEqual([
      `temporal operator search-attribute create --address ${env.address} --namespace default --name MultigymRunName --type Keyword`,
      `temporal operator search-attribute create --address ${env.address} --namespace default --name MultigymStep --type Int`,
      `temporal operator search-attribute create --address ${env.address} --namespace default --name MultigymMeanReward --type Double`,
    ]);
    await expect(env.client.workflow.getHandle('sa-client').describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  });

  it('rlRun fails at once, non-retryable, writes nothing, and names the commands', async () => {
    const handle = await env.client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId: 'sa-workflow',
      args: [{ config }],
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as { type?: string; message: string };
    expect(cause.type).toBe('MissingSearchAttributes');
    expect(commandsOf(cause.message)).toHaveLength(3);
    expect(cause.message).toContain(
      `--address ${env.address} --namespace default --name MultigymStep --type Int`,
    );
    expect((await handle.describe()).status.name).toBe('FAILED');
    expect(await database.db.select().from(runs).where(eq(runs.id, 'sa-workflow'))).toHaveLength(0);
  });

  it('the printed commands register them', async () => {
    const message = (await searchAttributesProblem(env.client.connection, 'default', env.address))!;
    for (const command of commandsOf(message)) {
      const [, ...args] = command.split(' ');
      await promisify(execFile)(temporalBin, args);
    }
    // Registration is eventually consistent on the dev server: poll briefly.
    for (let i = 0; i < 50; i++) {
      if ((await searchAttributesProblem(env.client.connection, 'default')) === undefined) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await searchAttributesProblem(env.client.connection, 'default')).toBeUndefined();
  });
});

describe('search attribute messages', () => {
  it('an attribute of the wrong type is removed and created again', () => {
    const registered = { MultigymRunName: 'Keyword', MultigymStep: 'Keyword', MultigymMeanReward: 'Double' };
    const missing = missingSearchAttributes(registered);
    expect(missing).toEqual([{ name: 'MultigymStep', type: 'Int' }]);
    const message = searchAttributesMessage('prod', missing, registered);
    expect(commandsOf(message)).toEqual([
      'temporal operator search-attribute remove --namespace prod --name MultigymStep --yes',
      'temporal operator search-attribute create --namespace prod --name MultigymStep --type Int',
    ]);
    expect(message).toContain('# MultigymStep is registered as Keyword, not Int:');
  });
});
