/**
 * Checkpoint retention against the real PostgreSQL: after a checkpoint, the run keeps its newest N
 * checkpoints and the one of its best step; the others' directories are deleted and their paths
 * cleared; directories elsewhere (another host, or not written by this run) are left alone.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneCheckpoints } from '../../activities/checkpoints.js';
import { events, policyVersions, runs, stepMetrics } from '../../db/schema.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase;
const root = mkdtempSync(join(tmpdir(), 'multigym-ckpt-'));
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
  rmSync(root, { recursive: true, force: true });
});

/** A run with checkpoints at `steps` (directories on disk) and a mean reward per step. */
async function seed(runId: string, rewards: Record<number, [number, number]>) {
  const db = database.db;
  await db.insert(runs).values({ id: runId, name: runId, config: {} });
  for (const [s, [math, code]] of Object.entries(rewards)) {
    const step = Number(s);
    const path = join(root, runId, `step-${step}`);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'model.safetensors'), 'x');
    await db.insert(policyVersions).values({ runId, version: step, step, checkpointPath: path });
    await db.insert(stepMetrics).values({
      runId,
      step,
      policyVersion: step,
      train: {},
      envs: { math: { meanReward: math }, 'code-sandbox': { meanReward: code } },
    });
  }
}
const onDisk = (runId: string, steps: number[]) =>
  steps.map((s) => existsSync(join(root, runId, `step-${s}`)));

describe('checkpoint retention', () => {
  it('keeps the newest 2 and the best step (mean over environments); deletes and clears the rest', async () => {
    // mean rewards: 0.1, 0.6 (best), 0.2, 0.3, 0.25, 0.4
    await seed('r1', {
      1: [0.1, 0.1],
      2: [1, 0.2],
      3: [0.2, 0.2],
      4: [0.3, 0.3],
      5: [0.5, 0],
      6: [0.4, 0.4],
    });
    const r = await pruneCheckpoints(database.db, 'r1', 6, 2);
    expect(onDisk('r1', [1, 2, 3, 4, 5, 6])).toEqual([false, true, false, false, true, true]);
    expect(r.deleted.map((p) => p.split('/').pop()).sort()).toEqual(['step-1', 'step-3', 'step-4']);
    expect(r.elsewhere).toEqual([]);
    const paths = await database.db.select().from(policyVersions).where(eq(policyVersions.runId, 'r1'));
    expect(
      paths
        .filter((p) => p.checkpointPath)
        .map((p) => p.step)
        .sort(),
    ).toEqual([2, 5, 6]);
    const [event] = await database.db.select().from(events).where(eq(events.runId, 'r1'));
    expect(event).toMatchObject({ kind: 'checkpoint_pruned', step: 6, data: { keep: 2, bestStep: 2 } });
    // a second pass at the same point changes nothing
    expect((await pruneCheckpoints(database.db, 'r1', 6, 2)).deleted).toEqual([]);
  });

  it('keep 0 keeps all; the best is the later step on a tie; paths not on this host are left', async () => {
    await seed('r2', { 1: [0.5, 0.5], 2: [0.5, 0.5], 3: [0, 0], 4: [0, 0] });
    expect((await pruneCheckpoints(database.db, 'r2', 4, 0)).deleted).toEqual([]);
    rmSync(join(root, 'r2', 'step-3'), { recursive: true }); // as if written on the worker's own host
    const r = await pruneCheckpoints(database.db, 'r2', 4, 1);
    expect(onDisk('r2', [1, 2, 4])).toEqual([false, true, true]);
    expect(r.elsewhere).toEqual([join(root, 'r2', 'step-3')]);
  });
});
