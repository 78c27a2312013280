/**
 * From a step's scored groups to the advantages `trainStep` sends (docs/algorithms.md): dynamic
 * sampling's filter, reward shaping (DAPO's soft overlong punishment, a KL penalty in the reward),
 * the advantage estimator, then which samples enter the loss (`mask_truncated_completions`, env
 * weights). Pure apart from the injected `referenceKl`, so it is tested against hand-computed values.
 */
import { batchAdvantages } from '../policy/advantages.js';
import { isTruncated, modelTurnLength, overlongPenalty } from '../policy/rewardShaping.js';
import { type AlgorithmConfig, advantageOptions } from '../workflows/algorithm.js';

/** What a scored rollout brings to the batch. */
export interface ScoredRollout {
  env: string;
  /** The checkers' total reward. */
  reward: number;
  completionTokenIds: number[];
  completionMask: (0 | 1)[] | null;
  finishReason: string;
}

/** Step metrics of the shaping and selection, added to `step_metrics.train`. */
export interface BatchMetrics {
  /** Rollouts of the batch's groups cut off at max_tokens. */
  truncated: number;
  /** Truncated rollouts left out of the loss by `mask_truncated_completions`. */
  masked_truncated: number;
  /** Rollouts that received an overlong penalty, and the mean penalty over the batch's rollouts. */
  overlong_penalized: number;
  overlong_penalty_mean: number;
  /** Mean kl_coef · Σ_t KL_t subtracted from the rewards (`use_kl_in_reward`; 0 otherwise). */
  kl_in_reward_mean: number;
  /** Advantages of the samples sent to the worker (after env weights); 0 when none. */
  advantage_mean: number;
  advantage_min: number;
  advantage_max: number;
}

/** Σ_t KL_t(π_θ ‖ π_ref) of each rollout, in order (the policy worker's `/v1/reference_kl`). */
export type ReferenceKl = (
  rows: { promptTokenIds: number[]; completionTokenIds: number[]; completionMask: (0 | 1)[] | null }[],
) => Promise<number[]>;

/** The batch of one step. */
export interface TrainBatch<R> {
  /** Every rollout of the groups used, with its advantage (env weight applied). */
  advantages: { row: R; advantage: number }[];
  /** The samples to train on: a subset of `advantages`. */
  samples: { row: R; advantage: number }[];
  metrics: BatchMetrics;
}

/** Model-written (loss) tokens of a rollout. */
function lossTokens(r: ScoredRollout): number {
  return r.completionMask ? r.completionMask.reduce<number>((a, m) => a + m, 0) : r.completionTokenIds.length;
}

/**
 * Builds a step's batch from its groups of `ok` rollouts (each of 2 or more).
 * @param groups the groups, rollouts in sample order
 * @param zeroVariance per group: its checker rewards are all equal (dynamic sampling drops those
 *   when `dropZeroVariance` and another group has signal)
 * @param envMaxTokens each environment's `sampling.max_tokens` (overlong penalty, Dr. GRPO default)
 * @param referenceKl Σ_t KL_t(π_θ ‖ π_ref) of each rollout, in order (only with `use_kl_in_reward`)
 * @throws Error when the overlong buffer needs an environment's max_tokens that is not given
 */
export async function buildTrainBatch<R extends ScoredRollout>(input: {
  groups: R[][];
  zeroVariance: boolean[];
  algorithm: AlgorithmConfig;
  envWeights: Record<string, number>;
  envMaxTokens: Record<string, number>;
  dropZeroVariance: boolean;
  referenceKl?: (rows: R[]) => Promise<number[]>;
}): Promise<TrainBatch<R>> {
  const { algorithm: alg } = input;
  const keep = input.groups.map((_, i) => !input.zeroVariance[i]);
  const used =
    input.dropZeroVariance && keep.some(Boolean) ? input.groups.filter((_, i) => keep[i]) : input.groups;
  const rows = used.flat();
  const penalties = rows.map((r) => {
    if (!alg.overlong_buffer) return 0;
    const max = input.envMaxTokens[r.env];
    if (max === undefined)
      throw new Error(`overlong_buffer: no sampling.max_tokens for environment "${r.env}"`);
    const len = modelTurnLength(r.completionTokenIds.length, r.completionMask);
    return overlongPenalty(len, max, alg.overlong_buffer.len, alg.overlong_buffer.penalty_factor);
  });
  let klPenalty = rows.map(() => 0);
  if (alg.use_kl_in_reward && rows.length > 0) {
    if (!input.referenceKl) throw new Error('use_kl_in_reward needs the reference KL of each rollout');
    const kl = await input.referenceKl(rows);
    klPenalty = kl.map((k) => alg.kl_coef * k);
  }
  const index = new Map(rows.map((r, i) => [r, i]));
  const shaped = used.map((g) =>
    g.map((r) => {
      const i = index.get(r)!;
      return r.reward + penalties[i]! - klPenalty[i]!;
    }),
  );
  const adv = batchAdvantages(
    shaped,
    advantageOptions(alg),
    used.map((g) => g.map(lossTokens)),
  ).advantages.flat();

  const advantages = rows.map((row, i) => ({ row, advantage: adv[i]! * (input.envWeights[row.env] ?? 1) }));
  let masked = 0;
  const samples = advantages.filter(({ row }) => {
    if ((input.envWeights[row.env] ?? 1) <= 0 || row.completionTokenIds.length === 0) return false;
    if (alg.mask_truncated_completions && isTruncated(row.finishReason)) {
      masked++;
      return false;
    }
    return true;
  });
  const trained = samples.map((s) => s.advantage);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    advantages,
    samples,
    metrics: {
      truncated: rows.filter((r) => isTruncated(r.finishReason)).length,
      masked_truncated: masked,
      overlong_penalized: penalties.filter((p) => p < 0).length,
      overlong_penalty_mean: mean(penalties),
      kl_in_reward_mean: mean(klPenalty),
      advantage_mean: mean(trained),
      advantage_min: trained.length ? Math.min(...trained) : 0,
      advantage_max: trained.length ? Math.max(...trained) : 0,
    },
  };
}
