/**
 * Advantages of a step's batch, from the scalar rewards of its groups (docs/algorithms.md).
 *
 * For a group of G samples of one prompt with rewards r_1..r_G (names as verl's `adv_estimator`):
 * - `grpo`: baseline b_i = mean(r) (Shao et al. 2024, DeepSeekMath §4.1.2).
 * - `rloo`: b_i = (Σ_j r_j − r_i) / (G − 1), the mean of the others (Kool et al. 2019; Ahmadian et al. 2024).
 * - `reinforce_plus_plus`: no baseline; the batch whitening below is the only normalisation
 *   (Hu 2025, REINFORCE++, arXiv:2501.03262, with outcome rewards and γ = 1).
 * - `reinforce_plus_plus_baseline`: b_i = mean(r), then the batch whitening (Hu 2025, §3.2).
 *
 * Then a_i = r_i − b_i is scaled by `scale_rewards` (TRL's names): `group` divides by std(r) + ε of
 * the group (GRPO), `batch` by std + ε of every reward of the batch (Liu et al. 2025, "Tricks or
 * Traps", Lite PPO), `none` leaves it (Dr. GRPO, Liu et al. 2025, Fig. 1). The REINFORCE++ estimators
 * instead whiten over the batch: A = (a − mean_B(a)) / (std_B(a) + ε), where mean and std weight each
 * sample by its loss tokens, as verl's `masked_whiten` and OpenRLHF do over tokens.
 *
 * std is `unbiased` (Bessel's correction, torch.std: what verl, TRL and OpenRLHF use) or `population`.
 * A group whose rewards are all equal (|max − min| ≤ 1e-9) carries no signal: it is a zero-variance
 * group, and with a group baseline its advantages are exactly 0.
 */

/** verl's advantage estimators (see the module comment). */
export const ADV_ESTIMATORS = [
  'grpo',
  'rloo',
  'reinforce_plus_plus',
  'reinforce_plus_plus_baseline',
] as const;
export type AdvEstimator = (typeof ADV_ESTIMATORS)[number];
/** TRL's `scale_rewards`. */
export type ScaleRewards = 'group' | 'batch' | 'none';
export type StdEstimator = 'unbiased' | 'population';

/** The advantage options of a run config (`algorithm`), resolved. */
export interface AdvantageOptions {
  adv_estimator: AdvEstimator;
  scale_rewards: ScaleRewards;
  std_estimator: StdEstimator;
  /** ε added to a std before dividing (verl 1e-6, TRL 1e-4). */
  adv_epsilon: number;
}

/** What `scale_rewards` is when a config leaves it out: `group` for grpo, `none` otherwise. */
export function defaultScaleRewards(estimator: AdvEstimator): ScaleRewards {
  return estimator === 'grpo' ? 'group' : 'none';
}

export const DEFAULT_ADVANTAGE_OPTIONS: AdvantageOptions = {
  adv_estimator: 'grpo',
  scale_rewards: 'group',
  std_estimator: 'unbiased',
  adv_epsilon: 1e-6,
};

/** Statistics of one group's rewards. */
export interface GroupStats {
  mean: number;
  std: number;
  /** True when all rewards are equal (|max − min| ≤ 1e-9). */
  zeroVariance: boolean;
}

/** Advantages of a batch: `advantages[g][i]` for sample i of group g, in input order. */
export interface BatchAdvantages {
  advantages: number[][];
  groups: GroupStats[];
}

/** Weighted mean and std of `values` (weights ≥ 0); unbiased uses n/(n − 1) with n = Σ weights. */
function weightedMoments(values: number[], weights: number[], std: StdEstimator): [number, number] {
  const n = weights.reduce((a, b) => a + b, 0);
  if (n <= 0) return [0, 0];
  const mean = values.reduce((a, v, i) => a + v * weights[i]!, 0) / n;
  const ss = values.reduce((a, v, i) => a + weights[i]! * (v - mean) ** 2, 0);
  const div = std === 'unbiased' ? n - 1 : n;
  return [mean, div > 0 ? Math.sqrt(ss / div) : 0];
}

/**
 * Advantages of every sample of a batch of groups. Throws `RangeError` for an empty group, a
 * non-finite reward, a `rloo` group of one sample or a negative weight.
 * @param groups shape (groups, G_g): rewards, already shaped (overlong penalty, KL penalty)
 * @param weights same shape: loss tokens of each sample, used by the REINFORCE++ whitening only
 *   (default 1 each)
 */
export function batchAdvantages(
  groups: readonly (readonly number[])[],
  options: AdvantageOptions = DEFAULT_ADVANTAGE_OPTIONS,
  weights?: readonly (readonly number[])[],
): BatchAdvantages {
  const { adv_estimator: est, scale_rewards: scale, std_estimator: std, adv_epsilon: eps } = options;
  for (const g of groups) {
    if (g.length === 0) throw new RangeError('batchAdvantages: empty group');
    for (const r of g)
      if (!Number.isFinite(r)) throw new RangeError(`batchAdvantages: non-finite reward ${r}`);
    if (est === 'rloo' && g.length < 2)
      throw new RangeError('batchAdvantages: rloo needs groups of 2 or more');
  }
  const ones = (g: readonly number[]) => g.map(() => 1);
  const stats = groups.map((g): GroupStats => {
    const [mean, s] = weightedMoments([...g], ones(g), std);
    return { mean, std: s, zeroVariance: Math.max(...g) - Math.min(...g) <= 1e-9 };
  });
  const all = groups.flat();
  const batchStd = weightedMoments(
    all,
    all.map(() => 1),
    std,
  )[1];
  let adv = groups.map((g, k) => {
    const { mean, std: groupStd, zeroVariance } = stats[k]!;
    const sum = g.reduce((a, b) => a + b, 0);
    return g.map((r) => {
      if (zeroVariance && est !== 'reinforce_plus_plus') return 0;
      const baseline = est === 'reinforce_plus_plus' ? 0 : est === 'rloo' ? (sum - r) / (g.length - 1) : mean;
      const a = r - baseline;
      if (scale === 'group') return a / (groupStd + eps);
      if (scale === 'batch') return a / (batchStd + eps);
      return a;
    });
  });
  if (est === 'reinforce_plus_plus' || est === 'reinforce_plus_plus_baseline') {
    const w = (weights ?? groups.map(ones)).flat();
    if (w.length !== all.length || w.some((x) => !(x >= 0)))
      throw new RangeError('batchAdvantages: weights must have the shape of the rewards and be ≥ 0');
    const [mean, s] = weightedMoments(adv.flat(), w, std);
    adv = adv.map((g) => g.map((a) => (a - mean) / (s + eps)));
  }
  return { advantages: adv, groups: stats };
}

/** Advantages of one group (`batchAdvantages` of a batch of one), with its statistics. */
export function groupAdvantages(
  rewards: readonly number[],
  options: AdvantageOptions = DEFAULT_ADVANTAGE_OPTIONS,
): GroupStats & { advantages: number[] } {
  const b = batchAdvantages([rewards], options);
  return { advantages: b.advantages[0]!, ...b.groups[0]! };
}
