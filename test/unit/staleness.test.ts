import { describe, expect, it } from 'vitest';
import { stalenessOf } from '../../activities/batch.js';

describe('stalenessOf', () => {
  it('is the trained-from version minus each sampling version, mean and max', () => {
    expect(stalenessOf([4, 4, 3, 4], 4)).toEqual({ rollout_staleness_mean: 0.25, rollout_staleness_max: 1 });
    expect(stalenessOf([7, 7], 7)).toEqual({ rollout_staleness_mean: 0, rollout_staleness_max: 0 });
    expect(stalenessOf([], 3)).toEqual({ rollout_staleness_mean: 0, rollout_staleness_max: 0 });
  });

  it('records a sample newer than the weights as a negative lag (it never fails a step already applied)', () => {
    expect(stalenessOf([2, 5], 4)).toEqual({ rollout_staleness_mean: 0.5, rollout_staleness_max: 2 });
    expect(stalenessOf([5], 4)).toEqual({ rollout_staleness_mean: -1, rollout_staleness_max: -1 });
  });
});
