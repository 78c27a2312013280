/**
 * The reward-log read API over a seeded log with hand-computed answers (test/helpers/rewardLogSeed.ts),
 * on the real PostgreSQL and on PGlite: aggregates (mean, pass rate, pass@k, zero-variance groups,
 * lengths, truncation, error counts), per-checker stats, every filter, paging, and the errors — a bad
 * parameter is a 400 naming the field, an unknown run/env/step/checker a 404 listing what exists —
 * and values that look like SQL stay values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../db/client.js';
import { databaseSource } from '../../db/logs/source.js';
import { createLogApp } from '../../server/app.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { SEED_RUN, seedRewardLog } from '../helpers/rewardLogSeed.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test, read field by field
type Json = any;

const drivers: [string, () => Promise<DatabaseHandle & { drop?: () => Promise<void> }>][] = [
  ['PostgreSQL', () => createTestDatabase('mg_logs')],
  ['PGlite', () => openDatabase({ pgliteDir: 'memory://' })],
];

describe.each(drivers)('reward-log API on %s', (_name, open) => {
  let handle: DatabaseHandle & { drop?: () => Promise<void> };
  let app: ReturnType<typeof createLogApp>;
  const get = async (path: string) => {
    const res = await app.request(`http://127.0.0.1${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const ok = async (path: string) => {
    const r = await get(path);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const run = `/api/runs/${SEED_RUN}`;

  beforeAll(async () => {
    handle = await open();
    await seedRewardLog(handle.db);
    app = createLogApp(databaseSource(handle.db), { database: handle.kind });
  });
  afterAll(async () => {
    if (handle?.drop) await handle.drop();
    else await handle?.close();
  });

  it('lists runs with environments, finished steps and latest rewards', async () => {
    const [r] = await ok('/api/runs');
    expect(r).toMatchObject({
      id: SEED_RUN,
      status: 'running',
      envs: ['math', 'tool-use'],
      steps: 4,
      finishedSteps: 2,
      policyVersion: 2,
    });
    expect(r.latest.math).toEqual({
      meanReward: 2 / 7,
      passRate: 2 / 7,
      rollouts: 7,
      checkerErrors: 1,
      infraErrors: 0,
    });
    const detail = await ok(run);
    expect(detail.phases).toEqual(['eval:2', 'train']);
    expect(detail.rolloutEnvs).toEqual([
      { env: 'math', firstStep: 1, lastStep: 2, rollouts: 16 },
      { env: 'tool-use', firstStep: 1, lastStep: 1, rollouts: 4 },
    ]);
    expect(detail.checkers).toEqual([
      { env: 'math', checker: 'math-equivalence' },
      { env: 'tool-use', checker: 'invalid-call-penalty' },
      { env: 'tool-use', checker: 'tool-call-match' },
    ]);
  });

  it('aggregates per step and environment', async () => {
    const rows = await ok(`${run}/steps`);
    expect(rows.map((r: Json) => [r.step, r.env])).toEqual([
      [1, 'math'],
      [1, 'tool-use'],
      [2, 'math'],
    ]);
    const [m1, u1, m2] = rows;
    expect(m1).toMatchObject({
      rollouts: 8,
      scored: 8,
      groups: 2,
      zeroVarianceGroups: 1,
      smallGroups: 0,
      checkerErrors: 0,
    });
    expect(m1.meanReward).toBeCloseTo(0.625, 12);
    expect(m1.passRate).toBeCloseTo(0.625, 12);
    expect(m1.passAtK).toBeCloseTo(1, 12); // each group has a pass
    expect(m1.truncationRate).toBeCloseTo(3 / 8, 12); // the three 0s stop at the length limit
    expect(m1.meanCompletionTokens).toBeCloseTo((5 * 10 + 3 * 30) / 8, 12);
    expect(m1.maxCompletionTokens).toBe(30);
    // std of [1,0,0,0,1,1,1,1]: mean 0.625, var 0.625 − 0.390625
    expect(m1.stdReward).toBeCloseTo(Math.sqrt(0.625 - 0.625 ** 2), 12);
    expect(m2).toMatchObject({
      rollouts: 8,
      scored: 7,
      groups: 2,
      zeroVarianceGroups: 1,
      checkerErrors: 1,
      infraErrors: 0,
    });
    expect(m2.meanReward).toBeCloseTo(2 / 7, 12);
    expect(m2.passAtK).toBeCloseTo(0.5, 12); // t1 (3 ok, 2 pass) → 1, t2 → 0
    expect(u1).toMatchObject({ rollouts: 4, scored: 3, groups: 1, zeroVarianceGroups: 0, infraErrors: 1 });
    expect(u1.meanReward).toBeCloseTo(1.25 / 3, 12);
    expect(u1.passRate).toBeCloseTo(1 / 3, 12);
  });

  it('computes pass@k with the unbiased estimator for a given k', async () => {
    const [k1] = await ok(`${run}/steps?env=math&step=1&k=1`);
    expect(k1.passAtK).toBeCloseTo((0.25 + 1) / 2, 12);
    const [k2] = await ok(`${run}/steps?env=math&step=1&k=2`);
    expect(k2.passAtK).toBeCloseTo((1 - 3 / 6 + 1) / 2, 12); // t1: 1 − C(3,2)/C(4,2)
    expect(k2.k).toBe(2);
    // Step 2's t1 has only 3 ok samples: left out of pass@4.
    const [k4] = await ok(`${run}/steps?env=math&step=2&k=4`);
    expect(k4.passAtK).toBe(0);
  });

  it('aggregates per environment over a step range', async () => {
    const rows = await ok(`${run}/envs`);
    const math = rows.find((r: Json) => r.env === 'math');
    expect(math).toMatchObject({
      rollouts: 16,
      scored: 15,
      groups: 4,
      zeroVarianceGroups: 2,
      checkerErrors: 1,
    });
    expect(math.step).toBeUndefined();
    expect(math.meanReward).toBeCloseTo(7 / 15, 12);
    const only2 = await ok(`${run}/envs?step=2..`);
    expect(only2).toHaveLength(1);
    expect(only2[0].meanReward).toBeCloseTo(2 / 7, 12);
  });

  it('gives each checker its mean, pass rate and error counts', async () => {
    const rows = await ok(`${run}/checkers`);
    const at = (step: number, checker: string) =>
      rows.find((r: Json) => r.step === step && r.checker === checker);
    expect(at(2, 'math-equivalence')).toMatchObject({ env: 'math', n: 7, checkerErrors: 1, infraErrors: 0 });
    expect(at(2, 'math-equivalence').mean).toBeCloseTo(2 / 7, 12);
    expect(at(1, 'tool-call-match').mean).toBeCloseTo(0.5, 12);
    expect(at(1, 'tool-call-match').passRate).toBeCloseTo(1 / 3, 12);
    expect(at(1, 'invalid-call-penalty')).toMatchObject({ n: 3, notApplicable: 1 });
    expect(at(1, 'invalid-call-penalty').mean).toBeCloseTo(-0.25 / 3, 12);
    const one = await ok(`${run}/checkers?checker=tool-call-match`);
    expect(one.map((r: Json) => r.checker)).toEqual(['tool-call-match']);
  });

  it('serves train metrics per step', async () => {
    const rows = await ok(`${run}/train?step=2`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      step: 2,
      policyVersion: 2,
      train: { kl: 0.02, clip_frac_high: 0.02, entropy: 1.5 },
    });
  });

  it('filters rollouts by checker and that checker’s value, with task and every component’s details', async () => {
    const page = await ok(`${run}/rollouts?checker=math-equivalence&max_reward=0&limit=3`);
    expect(page.total).toBe(8); // 3 at step 1, 1 + 4 at step 2 (the errored one has no value)
    expect(page.rows).toHaveLength(3);
    const r = page.rows[0];
    expect(r).toMatchObject({ step: 1, env: 'math', taskId: 't1', sample: 1, reward: 0, status: 'ok' });
    expect(r.task).toEqual({ question: 'What is 2+2?', answer: '4' });
    expect(r.turns).toHaveLength(2);
    expect(r.rewards).toEqual([
      {
        checker: 'math-equivalence',
        weight: 1,
        status: 'ok',
        value: 0,
        error: null,
        details: { extracted: '7', reference: '4', reason: 'wrong answer 7' },
        reason: 'wrong answer 7',
      },
    ]);
    const next = await ok(`${run}/rollouts?checker=math-equivalence&max_reward=0&limit=3&offset=6`);
    expect(next.rows).toHaveLength(2);
    expect(next.offset).toBe(6);
  });

  it('applies every other filter', async () => {
    const total = async (q: string) => (await ok(`${run}/rollouts?${q}`)).total;
    expect(await total('')).toBe(20);
    expect(await total('env=tool-use')).toBe(4);
    expect(await total('env=math,tool-use&step=1')).toBe(12);
    expect(await total('step=2..2')).toBe(8);
    expect(await total('status=checker_error')).toBe(1);
    expect(await total('status=checker_error,infra_error')).toBe(2);
    expect(await total('min_reward=1')).toBe(8);
    expect(await total('min_reward=0.1&max_reward=0.9')).toBe(1);
    expect(await total('grep=ANSWER%20IS%207')).toBe(8);
    expect(await total('grep=parser')).toBe(0);
    expect(await total('grep=boom')).toBe(1); // the error text
    expect(await total('policy_version=1')).toBe(8);
    expect(await total('phase=eval:2')).toBe(2);
    expect(await total('phase=all')).toBe(22);
    const byReward = await ok(`${run}/rollouts?env=tool-use&order=-reward`);
    expect(byReward.rows.map((r: Json) => r.reward)).toEqual([1, 0.5, -0.25, null]);
    // The step table honours the same filters.
    const steps = await ok(`${run}/steps?checker=tool-call-match&min_reward=0.5`);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ env: 'tool-use', rollouts: 2 });
  });

  it('refuses a bad parameter with a 400 naming the field', async () => {
    const bad = async (q: string, field: string, message: RegExp) => {
      const r = await get(`${run}/rollouts?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.field, q).toBe(field);
      expect(r.body.error, q).toMatch(message);
    };
    await bad('step=abc', 'step', /^step: expected a step range as A\.\.B/);
    await bad('step=5..2', 'step', /A ≤ B/);
    await bad('min_reward=high', 'min_reward', /^min_reward: expected a number/);
    await bad('limit=0', 'limit', /^limit:/);
    await bad('limit=5000', 'limit', /^limit:/);
    await bad('status=great', 'status', /^status: expected ok, checker_error/);
    await bad('phase=test', 'phase', /^phase: expected train, eval, eval:N or all/);
    await bad('order=random', 'order', /^order:/);
    await bad('colour=red', 'colour', /unknown parameter colour/);
    await bad('env=', 'env', /^env:/);
    expect((await get(`${run}/steps?k=0`)).body.field).toBe('k');
    expect((await get(`${run}/rollouts/abc`)).body.field).toBe('id');
  });

  it('answers an unknown run, environment, step or checker with a 404 listing what exists', async () => {
    const missing = async (path: string, field: string, message: RegExp) => {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body.field, path).toBe(field);
      expect(r.body.error, path).toMatch(message);
      return r.body;
    };
    const noRun = await missing('/api/runs/nope/steps', 'run', /no run "nope"; recent runs: seed-run/);
    expect(noRun.available).toEqual([SEED_RUN]);
    await missing(`${run}/steps?env=chess`, 'env', /no environment "chess"; it has: math, tool-use/);
    await missing(
      `${run}/checkers?checker=vibes`,
      'checker',
      /no reward checker "vibes"; it has: math-equivalence, invalid-call-penalty, tool-call-match/,
    );
    await missing(`${run}/steps?step=9`, 'step', /has train rollouts at steps 1\.\.2 \(steps are 1-based\)/);
    await missing(`${run}/steps?step=0`, 'step', /steps 1\.\.2/);
    await missing(`${run}/rollouts/999999`, 'id', /no rollout 999999/);
    await missing(`${run}/train?step=7`, 'step', /steps 1\.\.2/);
  });

  it('keeps values that look like SQL as values', async () => {
    const r = await get(`${run}/steps?env=${encodeURIComponent("math' or '1'='1")}`);
    expect(r.status).toBe(404);
    expect(r.body.field).toBe('env');
    expect((await ok(`${run}/rollouts?grep=${encodeURIComponent("%' or 1=1 --")}`)).total).toBe(0);
    expect((await ok(`${run}/rollouts?grep=${encodeURIComponent('%')}`)).total).toBe(0);
    const odd = await get(`/api/runs/${encodeURIComponent("x'; drop table runs; --")}`);
    expect(odd.status).toBe(404);
    expect((await ok('/api/runs')).length).toBe(1);
  });

  it('serves the dashboard and its vendored chart library, and only to loopback host names', async () => {
    const page = await app.request('http://127.0.0.1/runs/seed-run');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/vendor/vega-embed.min.js');
    const vega = await app.request('http://127.0.0.1/vendor/vega-lite.min.js');
    expect(vega.status).toBe(200);
    expect((await vega.text()).length).toBeGreaterThan(100_000);
    const rebound = await app.request('http://evil.example/api/runs');
    expect(rebound.status).toBe(403);
  });
});
