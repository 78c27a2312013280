/**
 * The reconciler's mapping from a closed workflow to the run's status, on the real PostgreSQL with a
 * stand-in Temporal client (a timed-out run cannot be produced reliably on a loaded machine: an
 * activity's retries usually time out first and the run fails). test/cli/run.test.ts covers failed,
 * terminated and cancelled runs against the real server.
 */
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { RetryState, TimeoutFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileRuns } from '../../cli/reconcile.js';
import { events, runs, stepMetrics } from '../../db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** A client whose workflows have the given status and outcome. */
function fakeClient(
  workflows: Record<string, { status: string; result: () => Promise<unknown> } | 'missing'>,
) {
  return {
    workflow: {
      getHandle: (id: string) => {
        const w = workflows[id]!;
        return {
          describe: async () => {
            if (w === 'missing') throw new WorkflowNotFoundError('not found', id, undefined);
            return { status: { name: w.status } };
          },
          result: () => (w === 'missing' ? Promise.reject(new Error('missing')) : w.result()),
        };
      },
    },
  } as unknown as Client;
}

describe('reconcileRuns', () => {
  it('records timed_out, stopped and cancelled ends; leaves running and unknown workflows alone', async () => {
    const db = database.db;
    for (const id of ['t', 's', 'c', 'r', 'm', 'done'])
      await db
        .insert(runs)
        .values({ id, name: id, config: {}, status: id === 'done' ? 'completed' : 'running' });
    await db.insert(stepMetrics).values({ runId: 't', step: 4, policyVersion: 4, train: {}, envs: {} });
    const timeout = new WorkflowFailedError(
      'Workflow execution timed out',
      new TimeoutFailure('Workflow execution timed out', undefined, 'START_TO_CLOSE'),
      RetryState.TIMEOUT,
    );
    const client = fakeClient({
      t: { status: 'TIMED_OUT', result: () => Promise.reject(timeout) },
      s: { status: 'COMPLETED', result: async () => ({ status: 'stopped' }) },
      c: { status: 'CANCELLED', result: () => Promise.reject(new Error('Workflow cancelled')) },
      r: { status: 'RUNNING', result: () => new Promise(() => {}) },
      m: 'missing',
      done: { status: 'COMPLETED', result: async () => ({ status: 'completed' }) },
    });
    const changed = await reconcileRuns(db, client);
    expect(changed.map((c) => [c.id, c.status]).sort()).toEqual([
      ['c', 'cancelled'],
      ['s', 'stopped'],
      ['t', 'timed_out'],
    ]);
    const status = async (id: string) => (await db.select().from(runs).where(eq(runs.id, id)))[0]!.status;
    expect(await status('r')).toBe('running');
    expect(await status('m')).toBe('running');
    const [end] = await db.select().from(events).where(eq(events.runId, 't'));
    expect(end).toMatchObject({
      kind: 'run_end',
      step: 4,
      data: { status: 'timed_out', workflowStatus: 'TIMED_OUT', message: 'START_TO_CLOSE timeout expired' },
    });
    expect(await reconcileRuns(db, client)).toEqual([]); // nothing left to correct
  });
});
