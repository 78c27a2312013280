import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { RunConfig } from '../../workflows/config.js';
import { configChanges, configMismatchMessage } from '../../workflows/configIdentity.js';
import { isPolicyMismatch, settleAll, withRunWeights } from '../../workflows/policyGuard.js';

const base = RunConfig.parse({
  steps: 2,
  policy: { url: 'http://127.0.0.1:8765' },
  environments: [{ name: 'math', prompts_per_step: 4, group_size: 4 }],
});
const parse = (over: Record<string, unknown>) => RunConfig.parse({ ...base, ...over });
/** What the database gives back: jsonb keeps values, not key order (here: every object's keys reversed). */
const reorder = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(reorder)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reorder(x)]),
        )
      : v;
const viaJsonb = (c: RunConfig) => reorder(JSON.parse(JSON.stringify(c))) as RunConfig;

describe('configChanges: is this config the run stored under the id?', () => {
  it('the same config, explicit defaults, and the resumable fields are the same run', () => {
    expect(configChanges(viaJsonb(base), base)).toEqual([]);
    expect(configChanges(base, parse({ algorithm: { clip_low: 0.2 } }))).toEqual([]);
    const operational = parse({
      steps: 40,
      name: 'longer',
      policy: { url: 'http://10.0.0.2:9000' },
      timeouts: { main_heartbeat_s: 30 },
      continue_as_new_every: 3,
      checkpoint_every: 5,
      checkpoint_dir: '/ckpt',
      checkpoint_keep: 0,
    });
    expect(configChanges(base, operational)).toEqual([]);
  });

  it('names every field that makes it another run, with old and new values', () => {
    const other = parse({
      seed: 1,
      algorithm: { learning_rate: 1e-4 },
      environments: [{ name: 'math', prompts_per_step: 8, group_size: 4 }],
      policy: { url: base.policy.url, init: { checkpoint: '/warm' } },
    });
    expect(configChanges(base, other)).toEqual([
      'algorithm.learning_rate: 0.00001 → 0.0001',
      'environments.0.prompts_per_step: 4 → 8',
      'policy.init: "base" → {"checkpoint":"/warm"}',
      'seed: 0 → 1',
    ]);
    const twoEnvs = parse({
      environments: [
        { name: 'math', prompts_per_step: 4, group_size: 4 },
        { name: 'tool-use', prompts_per_step: 2, group_size: 4 },
      ],
    });
    expect(configChanges(base, twoEnvs)).toEqual([
      expect.stringMatching(/^environments: \[\{"name":"math".*\.\.\. → \[\{"name":"math"/),
    ]);
    expect(configChanges(base, parse({ plugins: ['./my-env.js'] }))).toEqual([
      'plugins: [] → ["./my-env.js"]',
    ]);
    expect(configChanges(base, parse({ data_dir: '/data' }))).toEqual(['data_dir: (absent) → "/data"']);
  });

  it('the refusal says what to do', () => {
    const msg = configMismatchMessage('r1', ['seed: 0 → 1']);
    expect(msg).toContain('run r1 already exists with another config (seed: 0 → 1)');
    expect(msg).toContain('multigym run --id NEW');
    expect(msg).toContain('steps, name, policy.url');
  });
});

const mismatch = () =>
  Object.assign(new Error('activity failed'), {
    cause: ApplicationFailure.nonRetryable('expects run a at 3; holds run none at 0', 'policy_mismatch'),
  });

describe('policy guard (workflow side)', () => {
  it('recognises a refused precondition through a chain of causes', () => {
    expect(isPolicyMismatch(mismatch())).toBe(true);
    expect(isPolicyMismatch({ cause: mismatch() })).toBe(true);
    expect(isPolicyMismatch(ApplicationFailure.nonRetryable('bad', 'validation'))).toBe(false);
    expect(isPolicyMismatch(new Error('x'))).toBe(false);
  });

  it('settleAll waits for every promise and prefers a failure a restore cannot cure', async () => {
    let slowDone = false;
    const slow = new Promise((r) =>
      setTimeout(() => {
        slowDone = true;
        r(1);
      }, 20),
    );
    const other = new Error('sandbox broke');
    await expect(settleAll([Promise.reject(mismatch()), slow, Promise.reject(other)])).rejects.toBe(other);
    expect(slowDone).toBe(true);
    await expect(settleAll([Promise.resolve(1), Promise.resolve(2)])).resolves.toEqual([1, 2]);
  });

  it('withRunWeights restores then redoes the work, and gives up after three restores', async () => {
    const reasons: string[] = [];
    const sync = async (r: string) => {
      reasons.push(r);
    };
    let calls = 0;
    const flaky = async () => {
      if (++calls === 1) throw mismatch();
      return 'done';
    };
    await expect(withRunWeights('step 2', sync, flaky)).resolves.toBe('done');
    expect(reasons).toEqual(['step 2: expects run a at 3; holds run none at 0']);
    const never = async () => {
      throw mismatch();
    };
    await expect(withRunWeights('step 3', sync, never)).rejects.toMatchObject({
      type: 'PolicyWorkerUnstable',
      message: expect.stringContaining('changed under the run 3 times during step 3'),
    });
    expect(reasons).toHaveLength(4);
    const broken = new Error('disk full');
    await expect(
      withRunWeights('x', sync, async () => {
        throw broken;
      }),
    ).rejects.toBe(broken);
    expect(reasons).toHaveLength(4);
  });
});
