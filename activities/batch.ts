/**
 * A step's training batch, rebuilt from the database: the step's `ok` train rollouts grouped by
 * (environment, task), group-relative advantages scaled by the environment's weight, and the
 * per-environment reward statistics (with the rollouts left out, by status).
 *
 * Only `ok` rollouts enter the batch. A group's advantages are computed over its ok rollouts alone
 * (a checker or infrastructure failure removes a sample, it never lends it a reward of 0); a group
 * left with fewer than 2 ok rollouts has no baseline and is left out (counted as `droppedGroups`). The same rows and recipe always give the same batch, so a step
 * a policy worker lost can be trained again exactly (activities/policySync.ts).
 */
import { and, asc, eq, isNotNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { rollouts } from '../db/schema.js';
import { groupAdvantages } from '../policy/advantages.js';
import type { TrainHyper, TrainSample } from '../policy/protocol.js';
import type { AlgorithmConfig } from '../workflows/config.js';
import type { EnvStepStats, TrainRecipe } from '../workflows/contracts.js';

interface BatchRow {
  id: number;
  env: string;
  taskId: string;
  reward: number;
  promptTokenIds: number[];
  completionTokenIds: number[];
  logprobs: number[];
  completionMask: (0 | 1)[] | null;
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
}

/** Builds step `step`'s batch of run `runId` with `recipe`. */
export async function buildBatch(
  db: Database,
  runId: string,
  step: number,
  recipe: TrainRecipe,
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
  const ids: number[] = [];
  const advantages: number[] = [];
  let batch: { row: BatchRow; advantage: number; zeroVariance: boolean }[] = [];
  for (const g of groups.values()) {
    const env = g[0]!.env;
    const stats = statsOf(env);
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
    const a = groupAdvantages(
      g.map((r) => r.reward),
      recipe.algorithm.advantage,
    );
    const weight = recipe.envWeights[env] ?? 1;
    if (a.zeroVariance) stats.zeroVarianceGroups++;
    g.forEach((row, i) => {
      const advantage = a.advantages[i]! * weight;
      ids.push(row.id);
      advantages.push(advantage);
      if (weight > 0 && row.completionTokenIds.length > 0)
        batch.push({ row, advantage, zeroVariance: a.zeroVariance });
    });
  }
  for (const s of Object.values(envs)) {
    s.meanReward /= Math.max(1, s.rollouts);
    s.passRate /= Math.max(1, s.rollouts);
  }
  if (recipe.dropZeroVariance && batch.some((b) => !b.zeroVariance))
    batch = batch.filter((b) => !b.zeroVariance);
  const samples: TrainSample[] = batch.map(({ row, advantage }) => ({
    prompt_token_ids: row.promptTokenIds,
    completion_token_ids: row.completionTokenIds,
    old_logprobs: row.logprobs,
    advantage,
    ...(row.completionMask ? { completion_mask: row.completionMask } : {}),
  }));
  return { samples, envs, ids, advantages };
}

/** The worker's train_step hyper-parameters of an algorithm config. */
export function hyperOf(alg: AlgorithmConfig): TrainHyper {
  return {
    learning_rate: alg.learning_rate,
    clip_low: alg.clip_low,
    clip_high: alg.clip_high,
    kl_coef: alg.kl_coef,
    loss_aggregation: alg.loss_aggregation,
    micro_batch_size: alg.micro_batch_size,
    max_grad_norm: alg.max_grad_norm,
  };
}
