/**
 * Against the real policy worker (tiny model, CPU, window cut to 3000 tokens): context lengths within
 * ±2% of the target on the worker's own tokenizer, rollouts, and rejection of contexts over the window.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutContext, Task } from '../../environments/api.js';
import { makeTask } from '../../environments/long-context/generate.js';
import { buildEnv, longContext } from '../../environments/long-context/index.js';
import { TASK_KINDS } from '../../environments/long-context/kinds/types.js';
import type { LongContextTaskData } from '../../environments/long-context/taskData.js';
import { PolicyClient } from '../../policy/client.js';
import { needleRecall } from '../../rewards/builtin/needle-recall.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';
import { config, gutenberg, promptOf, tempBlobDir } from './helpers.js';

const WINDOW = 3000;
let worker: RunningPolicyWorker;
let policy: PolicyClient;
const blobs = tempBlobDir();

beforeAll(async () => {
  worker = await startPolicyWorker({ extraArgs: ['--max-context', String(WINDOW)] });
  policy = new PolicyClient({ url: worker.url });
});
afterAll(async () => {
  await worker?.stop();
  blobs.remove();
});

const data = (t: Task) => t.data as unknown as LongContextTaskData;
const count = async (text: string) => (await policy.tokenize({ texts: [text] })).counts[0]!;
const rolloutCtx = (n: number): RolloutContext => ({
  n,
  sampling: { max_tokens: 8, temperature: 1, top_p: 1, seed: 1 },
  blobDir: blobs.dir,
});

describe('long-context with the real policy worker', () => {
  const cfg = () => config({ corpus: gutenberg, tokenizer: { url: worker.url } });

  it('every kind lands within ±2% of the target length on the worker tokenizer', async () => {
    const env = await buildEnv(cfg(), blobs.dir);
    expect(env.tokenizerId).toBe((await policy.info()).tokenizer);
    expect(env.charsPerToken).toBeGreaterThan(1);
    const errors: string[] = [];
    for (const kind of TASK_KINDS) {
      for (const targetTokens of [1024, 4096]) {
        const t = await makeTask(
          { seed: 3, split: 'test', index: 1, kind, targetTokens, depth: 0.5 },
          cfg(),
          env,
        );
        const actual = await count(promptOf(t, blobs.dir));
        expect(data(t)).toMatchObject({ exactTokens: true, tokens: actual });
        const error = (actual - targetTokens) / targetTokens;
        errors.push(`${kind}@${targetTokens}: ${actual} (${(100 * error).toFixed(2)}%)`);
        expect(Math.abs(error)).toBeLessThanOrEqual(0.02);
      }
    }
    console.log(`lengths on ${env.tokenizerId}: ${errors.join(', ')}`);
  });

  it('a 32K-token context is counted in chunks and still matches the whole-text count', async () => {
    const env = await buildEnv(cfg(), blobs.dir);
    const t = await makeTask(
      { seed: 3, split: 'test', index: 2, kind: 'niah-multikey', targetTokens: 32_768, depth: 0.25 },
      cfg(),
      env,
    );
    const actual = await count(promptOf(t, blobs.dir));
    expect(Math.abs(actual - 32_768) / 32_768).toBeLessThanOrEqual(0.02);
    expect(Math.abs(data(t).tokens! - actual)).toBeLessThanOrEqual(2);
  });

  it('rolls out a context under the window; the logged turn refers to the blob', async () => {
    const env = await buildEnv(cfg(), blobs.dir);
    const t = await makeTask(
      { seed: 5, split: 'test', index: 0, kind: 'niah-single', targetTokens: 1024, depth: 0.5 },
      cfg(),
      env,
    );
    const trajectories = await longContext.rollout(t, policy, rolloutCtx(2), cfg());
    expect(trajectories).toHaveLength(2);
    for (const tr of trajectories) {
      expect(tr.status).toBe('ok');
      expect(tr.promptTokenIds).toHaveLength(data(t).tokens!);
      expect(tr.completionTokenIds.length).toBeGreaterThan(0);
      const user = tr.turns.find((x) => x.role === 'user')!;
      expect(user.content).toContain(data(t).blob!);
      expect(user.content.length).toBeLessThan(200);
    }
  });

  it('a context over the window gives rejected trajectories, from the recorded count or the worker 400', async () => {
    const env = await buildEnv(cfg(), blobs.dir);
    const t = await makeTask(
      { seed: 5, split: 'test', index: 1, kind: 'qa', targetTokens: 4096, depth: 0.5 },
      cfg(),
      env,
    );
    const local = await longContext.rollout(t, policy, rolloutCtx(3), cfg());
    expect(local.map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(local[0]!.error).toMatch(/context_too_long/);
    // Same prompt through a record without a token count: the worker itself refuses it.
    const record = longContext.parseTask({ answers: data(t).answers, contextPath: data(t).blobFile }, 0);
    const remote = await longContext.rollout(record, policy, rolloutCtx(2), cfg());
    expect(remote.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(remote[0]!.error).toMatch(/4\d{3} tokens/);
  });

  it('the demonstration is the full prompt and the needles, which score recall 1', async () => {
    const env = await buildEnv(cfg(), blobs.dir);
    const t = await makeTask(
      { seed: 6, split: 'test', index: 0, kind: 'niah-multivalue', targetTokens: 1024, depth: 0.1 },
      cfg(),
      env,
    );
    const demo = await longContext.demonstration!(t, cfg());
    expect(demo!.prompt).toBe(readFileSync(data(t).blobFile!, 'utf8'));
    const r = await needleRecall.score(
      { completion: demo!.completion, completionTokens: 0 },
      t,
      needleRecall.configSchema.parse({}),
    );
    expect(r.value).toBe(1);
  });
});
