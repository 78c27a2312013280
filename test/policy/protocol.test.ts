/**
 * The protocol's checks that JSON Schema cannot express, and the client's use of them: log-probs are
 * finite and ≤ 0, a sample's token ids, log-probs and mask have equal lengths, and a generate answer
 * has one result per prompt with `n` samples each. The client is tested against a small HTTP server
 * standing in for the worker (this file is about the client as one unit).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyClient, PolicyWorkerError, policyTokenFromEnv } from '../../policy/client.js';
import { ErrorTypes, GenerateResponse, Sample, TrainSample } from '../../policy/protocol.js';

const good = {
  prompt_token_ids: [0, 5],
  completion_token_ids: [7, 8, 9],
  old_logprobs: [-1, -0.5, 0],
  advantage: 1,
  completion_mask: [1, 0, 1] as (0 | 1)[],
};

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('TrainSample', () => {
  it('accepts a consistent sample', () => {
    expect(TrainSample.safeParse(good).success).toBe(true);
  });
  it.each([
    [{ old_logprobs: [-1, -0.5] }, 'old_logprobs: has 2 entries for 3 completion tokens'],
    [{ old_logprobs: [-1, -0.5, -1, -2] }, 'old_logprobs: has 4 entries for 3 completion tokens'],
    [{ completion_mask: [1, 1] }, 'completion_mask: has 2 entries for 3 completion tokens'],
    [{ completion_mask: [1, 1, 1, 0] }, 'completion_mask: has 4 entries for 3 completion tokens'],
  ])('refuses unequal lengths %j', (over, message) => {
    expect(issues(TrainSample.safeParse({ ...good, ...over }))).toEqual([message]);
  });
  it.each([
    [0.5, 'old_logprobs.1'],
    [1e308, 'old_logprobs.1'],
    [Number.POSITIVE_INFINITY, 'old_logprobs.1'],
    [Number.NEGATIVE_INFINITY, 'old_logprobs.1'],
    [Number.NaN, 'old_logprobs.1'],
  ])('refuses the log-prob %d', (bad, path) => {
    const res = TrainSample.safeParse({ ...good, old_logprobs: [-1, bad, -1] });
    expect(res.success).toBe(false);
    expect(issues(res)[0]).toMatch(new RegExp(`^${path.replace('.', '\\.')}:`));
  });
  it('refuses a non-finite advantage', () => {
    expect(TrainSample.safeParse({ ...good, advantage: Number.NaN }).success).toBe(false);
    expect(TrainSample.safeParse({ ...good, advantage: Number.POSITIVE_INFINITY }).success).toBe(false);
  });
});

describe('Sample (a generate answer)', () => {
  const sample = {
    text: 'x',
    token_ids: [1, 2],
    logprobs: [-0.1, -2],
    finish_reason: 'length',
    thinking_tokens: 0,
    answer_tokens: 2,
  };
  it('checks token ids against log-probs', () => {
    expect(Sample.safeParse(sample).success).toBe(true);
    expect(issues(Sample.safeParse({ ...sample, logprobs: [-0.1] }))).toEqual([
      'logprobs: has 1 entries for 2 token ids',
    ]);
    expect(Sample.safeParse({ ...sample, logprobs: [-0.1, 0.2] }).success).toBe(false);
  });
});

describe('ErrorTypes', () => {
  it('marks the worker-state errors as 4xx (never retried as is)', () => {
    expect(ErrorTypes.non_finite).toBe(422);
    expect(ErrorTypes.policy_mismatch).toBe(409);
    expect(ErrorTypes.path_outside_root).toBe(400);
    expect(ErrorTypes.unauthorized).toBe(401);
  });
});

/** A stand-in worker: answers `/v1/generate` with `answer` and records what it received. */
let server: Server;
let url: string;
let answer: unknown;
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const s = (n: number) => ({
  text: 'x',
  token_ids: Array(n).fill(1),
  logprobs: Array(n).fill(-1),
  finish_reason: 'length',
  thinking_tokens: 0,
  answer_tokens: n,
});
const generate = (results: unknown[]) => ({ policy_version: 0, results });

describe('PolicyClient', () => {
  it('sends the bearer token and JSON', async () => {
    answer = generate([{ prompt_token_ids: [0], samples: [s(1), s(2)] }]);
    received.length = 0;
    await new PolicyClient({ url, token: 'tok-123' }).generate({ prompts: ['a'], n: 2 });
    expect(received[0]!.headers.authorization).toBe('Bearer tok-123');
    expect(received[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ prompts: ['a'], n: 2, max_tokens: 128 });
  });

  it('reads the token from the environment, never from a request', async () => {
    expect(policyTokenFromEnv({ MULTIGYM_POLICY_TOKEN: 'from-env' })).toBe('from-env');
    expect(policyTokenFromEnv({})).toBeUndefined();
    answer = generate([{ prompt_token_ids: [0], samples: [s(1)] }]);
    received.length = 0;
    const saved = process.env.MULTIGYM_POLICY_TOKEN;
    process.env.MULTIGYM_POLICY_TOKEN = 'env-token';
    try {
      await new PolicyClient({ url }).generate({ prompts: ['a'] });
    } finally {
      if (saved === undefined) delete process.env.MULTIGYM_POLICY_TOKEN;
      else process.env.MULTIGYM_POLICY_TOKEN = saved;
    }
    expect(received[0]!.headers.authorization).toBe('Bearer env-token');
  });

  it.each([
    [[{ prompt_token_ids: [0], samples: [s(1)] }], 'results.0 has 1 samples, n is 2'],
    [[{ prompt_token_ids: [0], samples: [s(1), s(1), s(1)] }], 'results.0 has 3 samples, n is 2'],
    [[], '0 results for 1 prompts'],
    [
      [
        { prompt_token_ids: [0], samples: [s(1), s(1)] },
        { prompt_token_ids: [0], samples: [s(1), s(1)] },
      ],
      '2 results for 1 prompts',
    ],
  ])('refuses a generate answer without n samples per prompt (%#)', async (results, why) => {
    answer = generate(results);
    const err = await new PolicyClient({ url, token: 't' })
      .generate({ prompts: ['a'], n: 2 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(PolicyWorkerError);
    expect(err.errorType).toBe('protocol');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(why);
  });

  it('refuses a generate answer whose log-probs and token ids differ in length, or hold a positive log-prob', async () => {
    for (const bad of [
      { ...s(2), logprobs: [-1] },
      { ...s(2), logprobs: [-1, 0.5] },
    ]) {
      answer = generate([{ prompt_token_ids: [0], samples: [bad] }]);
      const err = await new PolicyClient({ url, token: 't' }).generate({ prompts: ['a'] }).catch((e) => e);
      expect(err).toBeInstanceOf(PolicyWorkerError);
      expect(err.errorType).toBe('protocol');
    }
    expect(GenerateResponse.safeParse(generate([{ prompt_token_ids: [0], samples: [s(2)] }])).success).toBe(
      true,
    );
  });

  it('refuses to send an inconsistent train step, naming the field', async () => {
    received.length = 0;
    const err = await new PolicyClient({ url, token: 't' })
      .trainStep({ idempotency_key: 'k', samples: [{ ...good, old_logprobs: [-1] }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(PolicyWorkerError);
    expect(err.errorType).toBe('validation');
    expect(err.retryable).toBe(false);
    expect(err.field).toBe('samples.0.old_logprobs');
    expect(received).toEqual([]); // nothing was sent
  });
});
