/**
 * Every advantage estimator against a reference written here with plain loops (float64), on a batch
 * with groups of different sizes (a sample lost to a checker failure), a zero-variance group and
 * per-sample token weights.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdvantageOptions,
  batchAdvantages,
  DEFAULT_ADVANTAGE_OPTIONS,
  groupAdvantages,
} from '../../policy/advantages.js';

const GROUPS = [
  [1, 0, 0, 1],
  [0.5, 0.5, 0.5, 0.5], // zero variance
  [2, 0, 1], // one sample lost to a checker failure
  [0.25, 1, 0.75, 0],
];
const TOKENS = [
  [3, 5, 2, 4],
  [1, 1, 6, 2],
  [7, 3, 3],
  [2, 2, 4, 8],
];

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
function std(xs: number[], unbiased: boolean): number {
  const m = sum(xs) / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (unbiased ? xs.length - 1 : xs.length));
}

/** The reference: each estimator written out on its own. */
function reference(o: AdvantageOptions): number[][] {
  const unbiased = o.std_estimator === 'unbiased';
  const eps = o.adv_epsilon;
  const allRewards = GROUPS.flat();
  const centred = GROUPS.map((g) =>
    g.map((r, i) => {
      if (o.adv_estimator === 'reinforce_plus_plus') return r;
      if (o.adv_estimator === 'rloo') {
        const others = g.filter((_, j) => j !== i);
        return r - sum(others) / others.length;
      }
      return r - sum(g) / g.length;
    }),
  );
  const scaled = centred.map((g, k) =>
    g.map((a) => {
      const flat = GROUPS[k]!.every((r) => r === GROUPS[k]![0]);
      if (flat && o.adv_estimator !== 'reinforce_plus_plus') return 0;
      if (o.scale_rewards === 'group') return a / (std(GROUPS[k]!, unbiased) + eps);
      if (o.scale_rewards === 'batch') return a / (std(allRewards, unbiased) + eps);
      return a;
    }),
  );
  if (!o.adv_estimator.startsWith('reinforce_plus_plus')) return scaled;
  // whitening over tokens: each sample repeated once per loss token
  const tokens: number[] = [];
  scaled.forEach((g, k) => {
    g.forEach((a, i) => {
      for (let t = 0; t < TOKENS[k]![i]!; t++) tokens.push(a);
    });
  });
  const m = sum(tokens) / tokens.length;
  const s = std(tokens, unbiased);
  return scaled.map((g) => g.map((a) => (a - m) / (s + eps)));
}

const CASES: [string, AdvantageOptions][] = [
  ['GRPO, group std (unbiased)', { ...DEFAULT_ADVANTAGE_OPTIONS }],
  ['GRPO, group std (population)', { ...DEFAULT_ADVANTAGE_OPTIONS, std_estimator: 'population' }],
  ['GRPO, batch std (Lite PPO)', { ...DEFAULT_ADVANTAGE_OPTIONS, scale_rewards: 'batch', adv_epsilon: 1e-4 }],
  ['Dr. GRPO (no std)', { ...DEFAULT_ADVANTAGE_OPTIONS, scale_rewards: 'none' }],
  ['RLOO', { ...DEFAULT_ADVANTAGE_OPTIONS, adv_estimator: 'rloo', scale_rewards: 'none' }],
  ['RLOO, group std', { ...DEFAULT_ADVANTAGE_OPTIONS, adv_estimator: 'rloo', scale_rewards: 'group' }],
  [
    'REINFORCE++',
    { ...DEFAULT_ADVANTAGE_OPTIONS, adv_estimator: 'reinforce_plus_plus', scale_rewards: 'none' },
  ],
  [
    'REINFORCE++-baseline (population)',
    {
      adv_estimator: 'reinforce_plus_plus_baseline',
      scale_rewards: 'none',
      std_estimator: 'population',
      adv_epsilon: 1e-8,
    },
  ],
];

describe('batchAdvantages', () => {
  it.each(CASES)('%s matches the reference', (_name, options) => {
    const got = batchAdvantages(GROUPS, options, TOKENS).advantages;
    const want = reference(options);
    expect(got.map((g) => g.length)).toEqual([4, 4, 3, 4]);
    got.flat().forEach((a, i) => {
      expect(a).toBeCloseTo(want.flat()[i]!, 12);
    });
  });

  it('gives the known GRPO and Dr. GRPO values of one group', () => {
    // [1, 0, 0, 1]: mean 0.5, population std 0.5, unbiased std 1/√3
    const pop = groupAdvantages([1, 0, 0, 1], { ...DEFAULT_ADVANTAGE_OPTIONS, std_estimator: 'population' });
    expect(pop.mean).toBe(0.5);
    expect(pop.std).toBeCloseTo(0.5, 15);
    expect(pop.advantages[0]).toBeCloseTo(0.5 / (0.5 + 1e-6), 12);
    const unbiased = groupAdvantages([1, 0, 0, 1]);
    expect(unbiased.std).toBeCloseTo(1 / Math.sqrt(3), 15);
    expect(unbiased.advantages[0]).toBeCloseTo(0.5 / (1 / Math.sqrt(3) + 1e-6), 12);
    expect(
      groupAdvantages([3, 1], { ...DEFAULT_ADVANTAGE_OPTIONS, scale_rewards: 'none' }).advantages,
    ).toEqual([1, -1]);
    // RLOO: 3 − mean(1, 2) = 1.5; 1 − mean(3, 2) = −1.5; 2 − mean(3, 1) = 0
    const loo = groupAdvantages([3, 1, 2], {
      ...DEFAULT_ADVANTAGE_OPTIONS,
      adv_estimator: 'rloo',
      scale_rewards: 'none',
    });
    expect(loo.advantages).toEqual([1.5, -1.5, 0]);
  });

  it('gives a zero-variance group exactly zero with a group baseline, and batch signal without one', () => {
    for (const [, o] of CASES) {
      const adv = batchAdvantages(GROUPS, o, TOKENS);
      expect(adv.groups.map((g) => g.zeroVariance)).toEqual([false, true, false, false]);
      if (o.adv_estimator === 'grpo' || o.adv_estimator === 'rloo')
        expect(adv.advantages[1]).toEqual([0, 0, 0, 0]);
    }
    // [0.1, 0.1, 0.1]: the mean is not exactly 0.1 in floating point, the advantages still are 0
    expect(groupAdvantages([0.1, 0.1, 0.1]).advantages).toEqual([0, 0, 0]);
    const rpp = batchAdvantages(GROUPS, { ...CASES[6]![1] }, TOKENS).advantages[1]!;
    expect(rpp.every((a) => a !== 0 && a === rpp[0])).toBe(true);
  });

  it('weights the REINFORCE++ whitening by tokens: the token-weighted mean is 0 and the std 1', () => {
    const o: AdvantageOptions = {
      ...DEFAULT_ADVANTAGE_OPTIONS,
      adv_estimator: 'reinforce_plus_plus_baseline',
      scale_rewards: 'none',
      adv_epsilon: 0,
    };
    const adv = batchAdvantages(GROUPS, o, TOKENS).advantages.flat();
    const w = TOKENS.flat();
    const n = sum(w);
    const mean = sum(adv.map((a, i) => a * w[i]!)) / n;
    const variance = sum(adv.map((a, i) => w[i]! * (a - mean) ** 2)) / (n - 1);
    expect(mean).toBeCloseTo(0, 12);
    expect(variance).toBeCloseTo(1, 12);
  });

  it('rejects empty groups, non-finite rewards, one-sample RLOO groups and bad weights', () => {
    expect(() => batchAdvantages([[]])).toThrow(/empty group/);
    expect(() => groupAdvantages([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => batchAdvantages([[1]], { ...DEFAULT_ADVANTAGE_OPTIONS, adv_estimator: 'rloo' })).toThrow(
      /rloo/,
    );
    const rpp = {
      ...DEFAULT_ADVANTAGE_OPTIONS,
      adv_estimator: 'reinforce_plus_plus' as const,
      scale_rewards: 'none' as const,
    };
    expect(() => batchAdvantages([[1, 2]], rpp, [[1]])).toThrow(/weights/);
    expect(() => batchAdvantages([[1, 2]], rpp, [[1, -1]])).toThrow(/weights/);
  });
});
