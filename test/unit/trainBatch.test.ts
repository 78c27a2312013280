/**
 * A step's batch: DAPO's soft overlong punishment, the KL penalty in the reward, truncated
 * completions left out of the loss, dynamic sampling's filter and env weights, checked against values
 * computed by hand.
 */
import { describe, expect, it } from 'vitest';
import { buildTrainBatch, type ScoredRollout } from '../../activities/trainBatch.js';
import { modelTurnLength, overlongPenalty } from '../../policy/rewardShaping.js';
import { AlgorithmConfig } from '../../workflows/algorithm.js';

interface Row extends ScoredRollout {
  id: string;
}

const row = (
  id: string,
  reward: number,
  length: number,
  finish = 'stop',
  mask?: (0 | 1)[],
  env = 'math',
): Row => ({
  id,
  env,
  reward,
  completionTokenIds: Array.from({ length }, (_, i) => i + 1),
  completionMask: mask ?? null,
  finishReason: finish,
});

const alg = (over: Record<string, unknown>) => AlgorithmConfig.parse(over);
const ids = (xs: { row: Row }[]) => xs.map((x) => x.row.id);

describe('overlongPenalty (DAPO eq. 13)', () => {
  it('is 0 up to L_max − L_cache, linear inside the buffer, −factor at and past the limit', () => {
    // L_max = 10, L_cache = 4: free up to 6 tokens
    expect([0, 6, 7, 8, 10, 12].map((n) => overlongPenalty(n, 10, 4, 1))).toEqual([
      0, 0, -0.25, -0.5, -1, -1,
    ]);
    expect(overlongPenalty(9, 10, 4, 0.5)).toBe(-0.375);
    expect(() => overlongPenalty(5, 10, 10, 1)).toThrow(/inside/);
  });

  it('judges a multi-turn rollout by its longest model turn', () => {
    expect(modelTurnLength(9, [1, 1, 1, 0, 0, 1, 1, 1, 1])).toBe(4);
    expect(modelTurnLength(5)).toBe(5);
  });
});

describe('buildTrainBatch', () => {
  const groups = (): Row[][] => [
    [row('a0', 1, 4), row('a1', 0, 8), row('a2', 0, 10, 'length'), row('a3', 1, 9, 'stop')],
    [row('b0', 1, 3), row('b1', 1, 3), row('b2', 1, 3)],
    [row('c0', 0, 2, 'stop', [1, 0]), row('c1', 1, 10, 'length', [1, 1, 1, 1, 0, 0, 1, 1, 1, 1])],
  ];
  const base = {
    zeroVariance: [false, true, false],
    envWeights: { math: 1 },
    envMaxTokens: { math: 10 },
    dropZeroVariance: false,
  };

  it('adds the overlong penalty to the rewards before Dr. GRPO advantages', async () => {
    const b = await buildTrainBatch({
      ...base,
      groups: groups(),
      algorithm: alg({ scale_rewards: 'none', overlong_buffer: { len: 4, penalty_factor: 1 } }),
    });
    // shaped a: [1, 0 − 0.5, 0 − 1, 1 − 0.75] (lengths 4, 8, 10, 9) → mean −0.0625
    const a = [1, -0.5, -1, 0.25];
    const b0 = [1, 1, 1];
    // c1's longest turn is 4 tokens: no penalty; c0 has 1 model token
    const c = [0, 1];
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const want = [a, b0, c].flatMap((g) => g.map((x) => x - mean(g)));
    b.advantages.forEach((x, i) => {
      expect(x.advantage).toBeCloseTo(want[i]!, 12);
    });
    expect(b.metrics.overlong_penalized).toBe(3);
    expect(b.metrics.overlong_penalty_mean).toBeCloseTo(-(0.5 + 1 + 0.75) / 9, 12);
    expect(b.metrics.truncated).toBe(2);
    expect(b.samples).toHaveLength(9);
  });

  it('leaves truncated completions out of the loss but in their group (mask_truncated_completions)', async () => {
    const b = await buildTrainBatch({
      ...base,
      groups: groups(),
      algorithm: alg({ mask_truncated_completions: true }),
    });
    expect(ids(b.samples)).toEqual(['a0', 'a1', 'a3', 'b0', 'b1', 'b2', 'c0']);
    expect(b.metrics.masked_truncated).toBe(2);
    // a2 still counts in its group's baseline: a0 = (1 − 0.5) / (std([1, 0, 0, 1]) + ε)
    expect(b.samples[0]!.advantage).toBeCloseTo(0.5 / (1 / Math.sqrt(3) + 1e-6), 9);
  });

  it('subtracts kl_coef · Σ KL from each reward when use_kl_in_reward', async () => {
    const seen: string[] = [];
    const kl = { a0: 2, a1: 0, a2: 0, a3: 0, b0: 0.5, b1: 0, b2: 0, c0: 0, c1: 1 } as Record<string, number>;
    const b = await buildTrainBatch({
      ...base,
      groups: groups(),
      algorithm: alg({ use_kl_in_reward: true, kl_coef: 0.1, scale_rewards: 'none' }),
      referenceKl: async (rows) => {
        seen.push(...rows.map((r) => r.id));
        return rows.map((r) => kl[r.id]!);
      },
    });
    expect(seen).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'c0', 'c1']);
    // a: [0.8, 0, 0, 1] → mean 0.45; b: [0.95, 1, 1] → mean 2.95 / 3 (no longer zero-variance)
    const adv = Object.fromEntries(b.advantages.map((x) => [x.row.id, x.advantage]));
    expect(adv.a0).toBeCloseTo(0.35, 12);
    expect(adv.b0).toBeCloseTo(0.95 - 2.95 / 3, 12);
    expect(adv.c1).toBeCloseTo(0.9 - 0.45, 12);
    expect(b.metrics.kl_in_reward_mean).toBeCloseTo(0.35 / 9, 12);
  });

  it('drops zero-variance groups for dynamic sampling and scales by env weight', async () => {
    const g = groups();
    g[2] = g[2]!.map((r) => ({ ...r, env: 'code' }));
    const b = await buildTrainBatch({
      ...base,
      groups: g,
      dropZeroVariance: true,
      envWeights: { math: 1, code: 0.5 },
      algorithm: alg({ scale_rewards: 'none' }),
    });
    expect(ids(b.advantages)).toEqual(['a0', 'a1', 'a2', 'a3', 'c0', 'c1']);
    expect(b.advantages.at(-1)!.advantage).toBeCloseTo(0.5 * 0.5, 12);
    const zeroWeight = await buildTrainBatch({
      ...base,
      groups: g,
      envWeights: { math: 1, code: 0 },
      algorithm: alg({}),
    });
    expect(ids(zeroWeight.samples)).not.toContain('c0');
  });

  it('needs the KL function and each environment’s max_tokens when they are used', async () => {
    await expect(
      buildTrainBatch({
        ...base,
        groups: groups(),
        algorithm: alg({ use_kl_in_reward: true, kl_coef: 0.1 }),
      }),
    ).rejects.toThrow(/reference KL/);
    await expect(
      buildTrainBatch({
        ...base,
        envMaxTokens: {},
        groups: groups(),
        algorithm: alg({ overlong_buffer: { len: 4 } }),
      }),
    ).rejects.toThrow(/max_tokens for environment "math"/);
  });
});
