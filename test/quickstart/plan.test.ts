/**
 * The quickstart's run plan per `--model`: the pretrained SmolLM2 gets chat prompts, its own short
 * completions, a longer rollout heartbeat and a coalescing worker; tiny keeps its plain prompts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import { planRun, QUICKSTART_SIZES, SMOLLM2_SIZES, TINY_SIZES } from '../../cli/quickstart/plan.js';
import { RunConfig } from '../../workflows/config.js';

const dir = mkdtempSync(join(tmpdir(), 'multigym-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const plan = (sizes: typeof TINY_SIZES) =>
  planRun({
    name: 'q',
    stateDir: dir,
    blobDir: join(dir, 'blobs'),
    sets: [],
    sizes,
    policyUrl: 'http://127.0.0.1:1',
  });

describe('quickstart plan', () => {
  it('offers tiny, small and smollm2-135m-instruct', () => {
    expect(Object.keys(QUICKSTART_SIZES)).toEqual(['tiny', 'small', 'smollm2-135m-instruct']);
    expect(SMOLLM2_SIZES.sftSteps).toBe(0);
    expect(SMOLLM2_SIZES.workerArgs).toEqual(['--coalesce-generate']);
  });

  it('prompts SmolLM2 through its chat template, with its own token limits and heartbeat', async () => {
    const config = RunConfig.parse((await plan(SMOLLM2_SIZES)).config);
    const env = (name: string) => config.environments.find((e) => e.name === name)!;
    expect(env('math').config.prompt).toEqual({ template: 'chat' });
    expect(env('code-sandbox').config.prompt).toBe('chat');
    expect(config.environments.map((e) => [e.name, e.sampling.max_tokens, e.group_size])).toEqual([
      ['math', 48, 4],
      ['code-sandbox', 80, 4],
      ['tool-use', 64, 4],
      ['long-context', 24, 4],
    ]);
    expect(config.steps).toBe(4);
    expect(config.timeouts.rollout_heartbeat_s).toBe(1800);
    expect(config.algorithm.micro_batch_size).toBe(4);
  });

  it('keeps tiny on plain prompts and the default heartbeat', async () => {
    const config = RunConfig.parse((await plan(TINY_SIZES)).config);
    const math = config.environments.find((e) => e.name === 'math')!;
    expect(math.config.prompt).toBeUndefined();
    expect(math.sampling.max_tokens).toBe(12);
    expect(config.timeouts.rollout_heartbeat_s).toBe(120);
    expect(config.algorithm.micro_batch_size).toBe(32);
  });
});
