/**
 * The long-context environment in a real run: Temporal dev server, PostgreSQL, the policy worker on
 * CPU (tiny model, 4096-token window). Contexts of 768 tokens roll out; contexts of 4200 tokens are
 * logged as `rejected` and left out; no context text reaches the workflow history or the task rows.
 */
import { readFileSync, rmSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewards, rollouts, runs, tasks } from '../../db/schema.js';
import { blobPath } from '../../environments/long-context/blobs.js';
import { LongContextConfig } from '../../environments/long-context/config.js';
import { taskSpec } from '../../environments/long-context/generate.js';
import type { LongContextTaskData } from '../../environments/long-context/taskData.js';
import type { RunConfigInput } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { gutenberg } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ envs: ['long-context'] });
});
afterAll(async () => {
  await stack?.stop();
  if (stack) rmSync(stack.blobDir, { recursive: true, force: true });
});

const envConfig = (url: string) => ({
  corpus: gutenberg,
  lengths: [768, 4200],
  mixture: { 'niah-single': 1, 'variable-tracking': 1, qa: 1 },
  tokenizer: { url },
});

/**
 * A run seed whose first two steps (tasks 0–3 and 4–7 of split `train`) each hold a context under the
 * window, and that holds at least one over it. (A step whose rollouts are all rejected has nothing to
 * train on; how the run handles that is the run loop's business, not this test's.)
 */
function pickSeed(): number {
  const cfg = LongContextConfig.parse(envConfig('http://127.0.0.1:1'));
  for (let seed = 1; ; seed++) {
    const lengths = Array.from({ length: 8 }, (_, i) => taskSpec(cfg, seed, 'train', i).targetTokens);
    const ok = (xs: number[]) => xs.includes(768);
    if (ok(lengths.slice(0, 4)) && ok(lengths.slice(4)) && lengths.includes(4200)) return seed;
  }
}

const runConfig = (url: string): RunConfigInput => ({
  name: 'long-context-run',
  seed: pickSeed(),
  steps: 2,
  policy: { url },
  environments: [
    {
      name: 'long-context',
      prompts_per_step: 4,
      group_size: 2,
      sampling: { max_tokens: 16, temperature: 1 },
      config: envConfig(url),
    },
  ],
  algorithm: { learning_rate: 1e-4, micro_batch_size: 8 },
});

describe('rlRun on long-context', () => {
  it('trains on contexts under the window, rejects longer ones, and keeps contexts out of payloads', async () => {
    const { client } = stack.temporal;
    const workflowId = 'long-context-run';
    const result = await client.workflow.execute('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId,
      args: [{ config: runConfig(stack.policy.url) }],
    });
    expect(result.status).toBe('completed');
    const db = stack.database.db;
    const [run] = await db.select().from(runs).where(eq(runs.id, workflowId));
    expect(run!.status).toBe('completed');

    const taskRows = await db.select().from(tasks).where(eq(tasks.runId, workflowId));
    expect(taskRows.length).toBeGreaterThanOrEqual(8);
    const snippets: string[] = [];
    for (const row of taskRows) {
      const data = row.data as LongContextTaskData;
      expect(JSON.stringify(data).length).toBeLessThan(4000);
      const prompt = readFileSync(blobPath(stack.blobDir, data.blob!), 'utf8');
      snippets.push(prompt.slice(data.body!.start + 300, data.body!.start + 380));
    }

    const rows = await db.select().from(rollouts).where(eq(rollouts.runId, workflowId));
    const byStatus = (s: string) => rows.filter((r) => r.status === s);
    expect(byStatus('ok').length).toBeGreaterThan(0);
    expect(byStatus('rejected').length).toBeGreaterThan(0);
    expect(byStatus('infra_error')).toHaveLength(0);
    for (const r of byStatus('rejected')) {
      expect(r.error).toMatch(/context_too_long/);
      expect(r.promptTokens).toBe(0);
    }
    for (const r of byStatus('ok')) {
      const user = (r.turns as { role: string; content: string }[]).find((t) => t.role === 'user')!;
      expect(user.content.length).toBeLessThan(200);
      expect(r.promptTokens).toBeGreaterThan(700);
    }
    const rewarded = await db.selectDistinct({ id: rewards.rolloutId }).from(rewards);
    const ids = new Set(rewarded.map((x) => x.id));
    expect(byStatus('ok').every((r) => ids.has(r.id))).toBe(true);

    const history = JSON.stringify(await client.workflow.getHandle(workflowId).fetchHistory());
    for (const s of snippets) expect(history).not.toContain(s);
    console.log(`workflow history: ${history.length} characters for ${rows.length} rollouts`);
  }, 900_000);
});
