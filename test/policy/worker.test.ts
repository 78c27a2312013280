/**
 * The client against the real policy worker (CPU, tiny model) started with a token and a checkpoint
 * root, as `multigym dev` starts it: the token is required, checkpoints stay under the root, a
 * non-finite step and a stale policy version come back as non-retryable errors the orchestrator can
 * record, and `/v1/info` reports the lineage.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyClient, PolicyWorkerError } from '../../policy/client.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';

const token = randomBytes(24).toString('base64url');
const dir = mkdtempSync(join(tmpdir(), 'multigym-policy-access-'));
const root = join(dir, 'checkpoints');
let worker: RunningPolicyWorker | undefined;
let policy: PolicyClient;

beforeAll(async () => {
  worker = await startPolicyWorker({ token, checkpointDir: root });
  policy = new PolicyClient({ url: worker.url, token });
});
afterAll(async () => {
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PolicyWorkerError,
  );

const samples = (advantage: number) => [
  { prompt_token_ids: [0, 11, 12], completion_token_ids: [13, 14, 1], old_logprobs: [-8, -8, -8], advantage },
  { prompt_token_ids: [0, 11, 12], completion_token_ids: [20, 1], old_logprobs: [-8, -8], advantage: -1 },
];

describe('policy worker access', () => {
  it('refuses a client without the token (401, not retried) and never leaks it in the error', async () => {
    const err = await failure(new PolicyClient({ url: worker!.url }).info());
    expect(err).toBeInstanceOf(PolicyWorkerError);
    expect(err!.status).toBe(401);
    expect(err!.errorType).toBe('unauthorized');
    expect(err!.retryable).toBe(false);
    expect(err!.message).not.toContain(token);
    const wrong = await failure(
      new PolicyClient({ url: worker!.url, token: 'nope' }).generate({ prompts: ['a'] }),
    );
    expect(wrong!.errorType).toBe('unauthorized');
    expect(await new PolicyClient({ url: worker!.url }).health()).toBe(true); // liveness stays open
  });

  it('reports the lineage in /v1/info', async () => {
    const info = await policy.info();
    expect(info).toMatchObject({
      policy_version: 0,
      base_model: 'builtin:tiny@seed=0',
      run_id: null,
      last_idempotency_key: null,
      loaded_from: null,
    });
    expect(info.checkpoint_dir).toMatch(/checkpoints$/);
  });

  it('keeps checkpoints under the root', async () => {
    const err = await failure(policy.checkpoint({ path: join(dir, 'elsewhere') }));
    expect(err!.status).toBe(400);
    expect(err!.errorType).toBe('path_outside_root');
    expect(err!.retryable).toBe(false);
    expect(err!.field).toBe('path');
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
    expect((await failure(policy.load({ path: '../elsewhere' })))!.errorType).toBe('path_outside_root');
    const saved = await policy.checkpoint({ path: 'run-a/step-0' });
    expect(saved.path).toBe(join((await policy.info()).checkpoint_dir, 'run-a', 'step-0'));
    expect(await policy.load({ path: saved.path })).toMatchObject({
      policy_version: 0,
      last_idempotency_key: null,
    });
  });

  it('answers a non-finite step with a non-retryable non_finite error and changes nothing', async () => {
    await policy.reset({ run_id: 'run-a' });
    const err = await failure(policy.trainStep({ idempotency_key: 'run-a:0', samples: samples(1e308) }));
    expect(err!.status).toBe(422);
    expect(err!.errorType).toBe('non_finite');
    expect(err!.retryable).toBe(false);
    expect((await policy.info()).policy_version).toBe(0);
    const expectV0 = { run_id: 'run-a', policy_version: 0 };
    const ok = await policy.trainStep({ idempotency_key: 'run-a:0', samples: samples(1), expect: expectV0 });
    expect(ok).toMatchObject({ policy_version: 1, replayed: false });
    expect(await policy.info()).toMatchObject({
      run_id: 'run-a',
      last_idempotency_key: 'run-a:0',
      policy_version: 1,
    });
  });

  it('refuses a step computed for another policy version (409, not retried)', async () => {
    const stale = await failure(
      policy.trainStep({
        idempotency_key: 'run-a:1',
        samples: samples(1),
        expect: { run_id: 'run-a', policy_version: 0 },
      }),
    );
    expect(stale).toMatchObject({ status: 409, errorType: 'policy_mismatch', retryable: false });
    const gen = await policy.generate({
      prompts: ['a'],
      n: 2,
      max_tokens: 3,
      expect: { run_id: 'run-a', policy_version: 1 },
    });
    expect(gen.results[0]!.samples).toHaveLength(2);
  });
});
