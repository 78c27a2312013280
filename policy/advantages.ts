/**
 * Group-relative advantages.
 *
 * For a group of G samples of one prompt with rewards r_1..r_G:
 * - `grpo`:    A_i = (r_i − mean(r)) / (std(r) + ε)   (Shao et al. 2024, DeepSeekMath, §4.1.2)
 * - `dr-grpo`: A_i = r_i − mean(r)                     (Liu et al. 2025, Dr. GRPO, eq. 4: no std division)
 * std is the population standard deviation. A group whose rewards are all equal carries no signal:
 * every advantage is 0 and it is reported as a zero-variance group.
 */

/** Which normalisation to use; see the module comment. */
export type AdvantageEstimator = 'grpo' | 'dr-grpo';

/** Advantages of one group and whether it had any reward variance. */
export interface GroupAdvantages {
  /** Shape (G,): one advantage per sample, in input order. */
  advantages: number[];
  mean: number;
  std: number;
  /** True when all rewards are equal (|max − min| ≤ 1e-9): no gradient. */
  zeroVariance: boolean;
}

/**
 * Computes group-relative advantages. Throws `RangeError` for an empty group or a non-finite reward.
 * @param rewards shape (G,)
 * @param epsilon added to std in `grpo` (default 1e-6)
 */
export function groupAdvantages(
  rewards: readonly number[],
  estimator: AdvantageEstimator = 'grpo',
  epsilon = 1e-6,
): GroupAdvantages {
  if (rewards.length === 0) throw new RangeError('groupAdvantages: empty group');
  for (const r of rewards)
    if (!Number.isFinite(r)) throw new RangeError(`groupAdvantages: non-finite reward ${r}`);
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const variance = rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / rewards.length;
  const std = Math.sqrt(variance);
  const zeroVariance = Math.max(...rewards) - Math.min(...rewards) <= 1e-9;
  const advantages = rewards.map((r) => {
    if (zeroVariance) return 0;
    return estimator === 'grpo' ? (r - mean) / (std + epsilon) : r - mean;
  });
  return { advantages, mean, std, zeroVariance };
}
