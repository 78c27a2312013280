/**
 * The plugin contract test (sdk/contract.ts) against the real CPU policy worker: every built-in
 * environment passes it, and a plugin that breaks the contract fails the check that names the
 * breach (tasks that differ between reads, data that is not JSON, a reward outside its range).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import { environmentNames, getEnvironment } from '../../environments/registry.js';
import { PolicyClient } from '../../policy/client.js';
import {
  type ContractOptions,
  checkEnvironmentContract,
  checkPluginContract,
  nonJsonPath,
} from '../../sdk/testing.js';
import { repoRoot } from '../helpers/paths.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';

let worker: RunningPolicyWorker;
let opts: ContractOptions;
beforeAll(async () => {
  worker = await startPolicyWorker();
  opts = {
    policy: new PolicyClient({ url: worker.url }),
    blobDir: mkdtempSync(join(tmpdir(), 'multigym-contract-')),
    dataDir: join(repoRoot, 'test/fixtures/data'),
    tasks: 4,
    rollouts: 1,
    maxTokens: 16,
  };
});
afterAll(async () => {
  await worker?.stop();
});

const failed = (checks: { ok: boolean; check: string; detail: string }[]) =>
  checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`);

describe('contract test', () => {
  it('every built-in environment passes it', async () => {
    const names = environmentNames();
    expect(names).toEqual(expect.arrayContaining(['code-sandbox', 'long-context', 'math', 'tool-use']));
    for (const name of names) {
      const checks = await checkEnvironmentContract(getEnvironment(name), opts);
      expect(failed(checks), name).toEqual([]);
      expect(checks.map((c) => c.check)).toEqual(
        expect.arrayContaining([
          'deterministic tasks',
          'JSON-only task data',
          'config schema as JSON Schema',
        ]),
      );
      expect(checks.filter((c) => c.check.startsWith('rollout of'))).toHaveLength(1);
    }
  });

  it('the countdown example plugin passes it', async () => {
    const checks = await checkPluginContract(join(repoRoot, 'examples/countdown'), opts);
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => `${c.subject}: ${c.check}`)).toEqual(
      expect.arrayContaining([
        'environment countdown: rollout of countdown/train/0',
        'environment countdown: rewards of countdown/train/0',
        'environment countdown: demonstration scores',
        'checker countdown-expression: declared range',
      ]),
    );
    expect(checks.find((c) => c.check === 'demonstration scores')?.detail).toMatch(/scores 1\.000$/);
  });

  it('a plugin breaking the contract fails the checks that name the breach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multigym-bad-plugin-'));
    const file = join(dir, 'bad.ts');
    // A plugin is an ES module: its package.json says so (without one, .ts loads as CommonJS).
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(repoRoot, 'node_modules/zod'), join(dir, 'node_modules/zod'));
    writeFileSync(
      file,
      `import { z } from 'zod';
import { defineEnvironment, defineReward, singleTurnRollout } from '${join(repoRoot, 'sdk/index.ts')}';
let calls = 0;
const over = defineReward({
  name: 'contract-over', description: 'always 2', configSchema: z.object({}), range: [0, 1],
  score: () => ({ value: 2 }),
});
const drifting = defineEnvironment({
  name: 'contract-drifting', description: 'a different task each read', configSchema: z.object({}),
  async *tasks(_c, ctx) { calls++; for (let i = ctx.start; ; i++) yield { id: 'd/' + i, data: { n: i * calls } }; },
  rollout: (t, p, ctx) => singleTurnRollout({ text: 'hi' }, p, ctx),
  rewards: [{ checker: 'contract-over', weight: 1 }], parseTask: (r, i) => ({ id: String(i), data: {} }),
});
const dated = defineEnvironment({
  name: 'contract-dated', description: 'a Date in the data', configSchema: z.object({}),
  async *tasks(_c, ctx) { for (let i = ctx.start; ; i++) yield { id: 'x/' + i, data: { when: new Date(0) } as never }; },
  rollout: (t, p, ctx) => singleTurnRollout({ text: 'hi' }, p, ctx),
  rewards: [{ checker: 'contract-over', weight: 1 }], parseTask: (r, i) => ({ id: String(i), data: {} }),
});
export default [over, drifting, dated];
`,
    );
    const checks = await checkPluginContract(file, opts);
    const bad = (subject: string) => failed(checks.filter((c) => c.subject === subject));
    expect(bad('environment contract-drifting')).toEqual([
      'deterministic tasks: two reads of seed 1, split train differ',
    ]);
    expect(bad('environment contract-dated')).toEqual([
      'JSON-only task data: x/0: data.when is a Date, not a plain object',
      'rewards of x/0: trajectory 0: contract-over: value 2 outside the declared range [0, 1]',
    ]);
    expect(nonJsonPath({ a: [1, Number.NaN] })).toBe('[1] is NaN'.replace('[1]', '.a[1]'));
  });
});
