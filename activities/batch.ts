/**
 * A step's training batch, rebuilt from the database: the step's `ok` train rollouts grouped by
 * (environment, task), shaped rewards and advantages as the recipe's algorithm says (trainBatch.ts,
 * docs/algorithms.md) scaled by the environment's weight, and the per-environment reward statistics
 * (with the rollouts left out, by status).
 *
 * Only `ok` rollouts enter the batch. A group's advantages are computed over its ok rollouts alone
 * (a checker or infrastructure failure removes a sample, it never lends it a reward of 0); a group
 * left with fewer than 2 ok rollouts has no baseline and is left out (counted as `droppedGroups`).
 * The same rows and recipe always give the same batch, so a step a policy worker lost can be trained
 * again exactly (activities/policySync.ts); a KL in the reward comes from the worker's
 * `/v1/reference_kl` under the step's key, recorded like the train step.
 */
import { and, asc, eq, isNotNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rollouts } from '../db/schema.js';
import type { PolicyExpectation, TrainHyper, TrainSample } from '../policy/protocol.js';
import { recipeAlgorithm } from '../workflows/algorithm.js';
import type { AlgorithmConfig } from '../workflows/config.js';
import type { EnvStepStats, TrainRecipe } from '../workflows/contracts.js';
import type { Policy } from './deps.js';
import { type BatchMetrics, buildTrainBatch, type ReferenceKl } from './trainBatch.js';

interface BatchRow {
  id: number;
  env: string;
  taskId: string;
  reward: number;
  promptTokenIds: number[];
  completionTokenIds: number[];
  logprobs: number[];
  completionMask: (0 | 1)[] | null;
  finishReason: string;
  /** The policy version that sampled the rollout (the worker's generate response). */
  policyVersion: number;
}

/** A step's batch and what it was built from. */
export interface StepBatch {
  /** The train_step samples (empty: nothing to train on). */
  samples: TrainSample[];
  /** Reward statistics per environment over every ok rollout of the step, and the rollouts left out. */
  envs: Record<string, Required<EnvStepStats>>;
  /** Rollout ids and their advantages (also of rollouts left out of the batch). */
  ids: number[];
  advantages: number[];
  /** Reward shaping and selection metrics of the batch (step_metrics.train). */
  metrics: BatchMetrics;
  /** The policy version that sampled each of `samples`, in order. */
  sampledBy: number[];
}

/** How far behind the trained policy a batch's rollouts were sampled (step_metrics.train). */
export interface StalenessMetrics {
  /** Mean and maximum over the batch's samples of (version trained from − version sampled by); 0 in
   * the synchronous rollout mode, up to 1 in one_step_off. */
  rollout_staleness_mean: number;
  rollout_staleness_max: number;
}

/**
 * Staleness of a batch: `trainedFrom` (the policy version the step's update starts from) minus the
 * version that sampled each sample (`sampledBy`); 0 and 0 for an empty batch. Never throws: it runs
 * after the worker applied the step, so a negative value (a sample newer than the weights, which no
 * rollout mode produces) is recorded as it is rather than failing a step that already happened.
 */
export function stalenessOf(sampledBy: number[], trainedFrom: number): StalenessMetrics {
  if (sampledBy.length === 0) return { rollout_staleness_mean: 0, rollout_staleness_max: 0 };
  const lag = sampledBy.map((v) => trainedFrom - v);
  return {
    rollout_staleness_mean: lag.reduce((a, b) => a + b, 0) / lag.length,
    rollout_staleness_max: Math.max(...lag),
  };
}

/**
 * Builds step `step`'s batch of run `runId` with `recipe` (activities/trainBatch.ts: shaping,
 * advantages, selection). `referenceKl` gives Σ_t KL(π_θ ‖ π_ref) of rollouts, for a recipe with the
 * KL in the reward.
 */
export async function buildBatch(
  db: Database,
  runId: string,
  step: number,
  recipe: TrainRecipe,
  referenceKl?: ReferenceKl,
): Promise<StepBatch> {
  const ofStep = and(eq(rollouts.runId, runId), eq(rollouts.phase, 'train'), eq(rollouts.step, step));
  const rows = (await db
    .select({
      id: rollouts.id,
      env: rollouts.env,
      taskId: rollouts.taskId,
      reward: rollouts.reward,
      promptTokenIds: rollouts.promptTokenIds,
      completionTokenIds: rollouts.completionTokenIds,
      logprobs: rollouts.logprobs,
      completionMask: rollouts.completionMask,
      finishReason: rollouts.finishReason,
      policyVersion: rollouts.policyVersion,
    })
    .from(rollouts)
    .where(and(ofStep, eq(rollouts.status, 'ok'), isNotNull(rollouts.reward)))
    .orderBy(asc(rollouts.env), asc(rollouts.taskId), asc(rollouts.sample))) as BatchRow[];
  const envs: Record<string, Required<EnvStepStats>> = {};
  const statsOf = (env: string) => {
    envs[env] ??= {
      meanReward: 0,
      passRate: 0,
      rollouts: 0,
      groups: 0,
      zeroVarianceGroups: 0,
      droppedGroups: 0,
      checkerErrors: 0,
      infraErrors: 0,
      rejected: 0,
    };
    return envs[env];
  };
  // Rollouts left out, by environment and status: an environment whose checker always fails still
  // shows up, with its errors counted.
  const leftOut = await db
    .select({ env: rollouts.env, status: rollouts.status, n: sql<number>`count(*)::int` })
    .from(rollouts)
    .where(and(ofStep, ne(rollouts.status, 'ok')))
    .groupBy(rollouts.env, rollouts.status);
  for (const { env, status, n } of leftOut) {
    const stats = statsOf(env);
    if (status === 'checker_error') stats.checkerErrors += Number(n);
    else if (status === 'infra_error') stats.infraErrors += Number(n);
    else stats.rejected += Number(n);
  }

  const groups = new Map<string, BatchRow[]>();
  for (const r of rows) {
    const key = `${r.env}\u0000${r.taskId}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const trainable: BatchRow[][] = [];
  const zeroVariance: boolean[] = [];
  for (const g of groups.values()) {
    const stats = statsOf(g[0]!.env);
    stats.groups++;
    for (const row of g) {
      stats.rollouts++;
      stats.meanReward += row.reward;
      if (row.reward >= 1 - 1e-6) stats.passRate++;
    }
    if (g.length < 2) {
      // One ok sample has no group baseline: its advantage would be 0 and only dilute the loss.
      stats.droppedGroups++;
      continue;
    }
    const rewards = g.map((r) => r.reward);
    const zero = Math.max(...rewards) - Math.min(...rewards) <= 1e-9;
    if (zero) stats.zeroVarianceGroups++;
    trainable.push(g);
    zeroVariance.push(zero);
  }
  for (const s of Object.values(envs)) {
    s.meanReward /= Math.max(1, s.rollouts);
    s.passRate /= Math.max(1, s.rollouts);
  }
  const built = await buildTrainBatch({
    groups: trainable,
    zeroVariance,
    algorithm: recipeAlgorithm(recipe.algorithm),
    envWeights: recipe.envWeights,
    envMaxTokens: recipe.envMaxTokens ?? {},
    dropZeroVariance: recipe.dropZeroVariance,
    referenceKl,
  });
  const samples: TrainSample[] = built.samples.map(({ row, advantage }) => ({
    prompt_token_ids: row.promptTokenIds,
    completion_token_ids: row.completionTokenIds,
    old_logprobs: row.logprobs,
    advantage,
    ...(row.completionMask ? { completion_mask: row.completionMask } : {}),
  }));
  return {
    samples,
    envs,
    ids: built.advantages.map((a) => a.row.id),
    advantages: built.advantages.map((a) => a.advantage),
    metrics: built.metrics,
    sampledBy: built.samples.map(({ row }) => row.policyVersion),
  };
}

/**
 * The KL of rollouts to the reference policy, from the worker's `/v1/reference_kl`, recorded under the
 * step's train_step key (`key`) so that a retried or replayed step gets the same rewards.
 */
export function referenceKlOf(
  policy: Pick<Policy, 'referenceKl'>,
  alg: AlgorithmConfig,
  key: string,
  expect?: PolicyExpectation,
): ReferenceKl {
  return async (rows) => {
    const withTokens = rows.filter((r) => r.completionTokenIds.length > 0);
    if (withTokens.length === 0) return rows.map(() => 0);
    const res = await policy.referenceKl({
      idempotency_key: key,
      ...(expect ? { expect } : {}),
      samples: withTokens.map((r) => ({
        prompt_token_ids: r.promptTokenIds,
        completion_token_ids: r.completionTokenIds,
        ...(r.completionMask ? { completion_mask: r.completionMask } : {}),
      })),
      kl_estimator: alg.kl_estimator,
      kl_clamp: alg.kl_clamp,
      micro_batch_size: alg.micro_batch_size,
    });
    const kl = new Map(withTokens.map((r, i) => [r, res.kl[i]!]));
    return rows.map((r) => kl.get(r) ?? 0);
  };
}

/**
 * The worker's train_step options of an algorithm config. Dr. GRPO's constant defaults to the largest
 * `sampling.max_tokens` of the run's environments; a KL in the reward is no loss term.
 */
export function hyperOf(alg: AlgorithmConfig, envMaxTokens: Record<string, number> = {}): TrainHyper {
  const sumNorm = alg.loss_agg_mode === 'seq-mean-token-sum-norm';
  const budget = Math.max(1, ...Object.values(envMaxTokens));
  return {
    learning_rate: alg.learning_rate,
    clip_low: alg.clip_low,
    clip_high: alg.clip_high,
    ...(alg.clip_ratio_c !== undefined ? { clip_ratio_c: alg.clip_ratio_c } : {}),
    kl_coef: alg.use_kl_in_reward ? 0 : alg.kl_coef,
    kl_estimator: alg.kl_estimator,
    kl_clamp: alg.kl_clamp,
    entropy_coeff: alg.entropy_coeff,
    loss_agg_mode: alg.loss_agg_mode,
    ...(sumNorm ? { loss_agg_norm: alg.loss_agg_norm ?? budget } : {}),
    ...(alg.rollout_is !== undefined ? { rollout_is: alg.rollout_is } : {}),
    rollout_is_threshold: alg.rollout_is_threshold,
    sync_ref_model: alg.sync_ref_model,
    ref_model_sync_steps: alg.ref_model_sync_steps,
    ref_model_mixup_alpha: alg.ref_model_mixup_alpha,
    micro_batch_size: alg.micro_batch_size,
    max_grad_norm: alg.max_grad_norm,
  };
}
