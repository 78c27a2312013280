import { describe, expect, it } from 'vitest';
import { groupAdvantages } from '../../policy/advantages.js';

describe('groupAdvantages', () => {
  it('normalises by the group std for grpo', () => {
    const a = groupAdvantages([1, 0, 0, 1]);
    expect(a.mean).toBe(0.5);
    expect(a.std).toBeCloseTo(0.5);
    expect(a.advantages.map((x) => Number(x.toFixed(4)))).toEqual([1, -1, -1, 1]);
    expect(a.zeroVariance).toBe(false);
  });

  it('only centres for dr-grpo', () => {
    expect(groupAdvantages([3, 1], 'dr-grpo').advantages).toEqual([1, -1]);
  });

  it('marks a group with equal rewards as zero-variance with zero advantages', () => {
    const a = groupAdvantages([0.5, 0.5, 0.5]);
    expect(a.zeroVariance).toBe(true);
    expect(a.advantages).toEqual([0, 0, 0]);
  });

  it('rejects empty groups and non-finite rewards', () => {
    expect(() => groupAdvantages([])).toThrow(RangeError);
    expect(() => groupAdvantages([1, Number.NaN])).toThrow(/non-finite/);
  });
});
