/**
 * `sampleTasks` on a 5-task data set: a step that straddles an epoch boundary, or a dynamic-sampling
 * round after another, never draws a task twice; a step larger than the split is refused.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskActivities } from '../../activities/tasks.js';
import { runs } from '../../db/schema.js';
import { defineEnvironment } from '../../environments/api.js';
import { epochOrder } from '../../environments/epochOrder.js';
import { registerEnvironment } from '../../environments/registry.js';
import type { SampleTasksInput } from '../../workflows/contracts.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const SIZE = 5;
registerEnvironment(
  defineEnvironment({
    name: 'five-tasks',
    description: 'five fixed tasks in a seeded per-epoch order',
    configSchema: z.object({}),
    async *tasks(_config, ctx) {
      for (const i of epochOrder(SIZE, ctx.start, (epoch) => `five:${ctx.seed}:${epoch}`)) {
        yield { id: `t${i}`, data: { i } };
      }
    },
    async rollout() {
      return [];
    },
    parseTask: (_record, index) => ({ id: `t${index}`, data: { i: index } }),
    rewards: [],
  }),
);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.db.insert(runs).values({ id: 'r', name: 'r', config: {} });
});
afterAll(async () => {
  await db?.drop();
});

const sample = (over: Partial<SampleTasksInput>) =>
  taskActivities({ db: db.db, blobDir: '/nonexistent' }).sampleTasks({
    runId: 'r',
    env: 'five-tasks',
    phase: 'train',
    step: 1,
    seed: 7,
    split: 'train',
    start: 0,
    count: 3,
    config: {},
    plugins: [],
    ...over,
  });

/** The seeded order's first `n` positions (two epochs), as task ids. */
const order = (n: number) => {
  const ids: string[] = [];
  for (const i of epochOrder(SIZE, 0, (epoch) => `five:7:${epoch}`)) {
    if (ids.length === n) break;
    ids.push(`t${i}`);
  }
  return ids;
};

describe('sampleTasks', () => {
  it('passes over a task the step already drew when it straddles an epoch boundary', async () => {
    const positions = order(10);
    // Every start position of a 4-task step over two epochs: 4 distinct tasks, in order of first
    // appearance, and the cursor moves past the positions passed over.
    for (let start = 0; start < SIZE; start++) {
      const { taskIds, consumed } = await sample({ start, count: 4 });
      expect(new Set(taskIds).size).toBe(4);
      const window = positions.slice(start, start + consumed!);
      expect(taskIds).toEqual([...new Set(window)]);
      expect(consumed).toBeGreaterThanOrEqual(4);
    }
  });

  it('passes over the tasks of earlier rounds (`exclude`)', async () => {
    const first = await sample({ start: 0, count: 3 });
    const second = await sample({ start: 3, count: 2, exclude: first.taskIds });
    expect(second.taskIds.filter((id) => first.taskIds.includes(id))).toEqual([]);
    expect(new Set([...first.taskIds, ...second.taskIds]).size).toBe(5);
  });

  it('refuses a step with more prompts than the split has distinct tasks, naming the fix', async () => {
    const err = await sample({ start: 2, count: 6 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).message).toMatch(
      /found 5 distinct tasks for a step of 6 .*lower prompts_per_step/,
    );
  });
});
