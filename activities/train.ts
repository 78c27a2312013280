/**
 * `trainStep`: builds the step's batch from the database (all environments together, see batch.ts),
 * sends one `train_step` to the policy worker with the idempotency key `<run>:<step>` (a retried
 * activity never trains twice) and the run's weights as precondition (`expect`: a worker holding
 * other weights refuses, and the workflow restores them first), then records the metrics, the recipe,
 * the new policy version and the run's state after the step in one transaction.
 */
import { eq, sql } from 'drizzle-orm';
import { policyVersions, runs, stepMetrics } from '../db/schema.js';
import type { Activities, RunState, TrainRecipe, TrainStepInput } from '../workflows/contracts.js';
import { buildBatch, hyperOf, referenceKlOf, stalenessOf } from './batch.js';
import { type ActivityDeps, asActivityError, policyCache, withHeartbeat } from './deps.js';

/** Builds the `trainStep` activity. */
export function trainActivities(deps: ActivityDeps): Pick<Activities, 'trainStep'> {
  const policy = policyCache(deps);

  /** Writes the step's metrics and recipe, its policy version and the run state, all or nothing. */
  async function recordStep(
    input: TrainStepInput,
    version: number,
    train: unknown,
    envs: RunState['lastEnvs'],
    changed: boolean,
  ): Promise<void> {
    const recipe: TrainRecipe = {
      algorithm: input.algorithm,
      envWeights: input.envWeights,
      ...(input.envMaxTokens ? { envMaxTokens: input.envMaxTokens } : {}),
      dropZeroVariance: input.dropZeroVariance,
    };
    await deps.db.transaction(async (tx) => {
      await tx
        .insert(stepMetrics)
        .values({ runId: input.runId, step: input.step, policyVersion: version, train, envs, recipe })
        .onConflictDoNothing();
      if (changed) {
        await tx
          .insert(policyVersions)
          .values({ runId: input.runId, version, step: input.step })
          .onConflictDoNothing();
      }
      if (input.carry) {
        const state: RunState = {
          ...input.carry,
          step: input.step,
          policyVersion: version,
          lastEnvs: envs,
          paused: false,
        };
        await tx.update(runs).set({ state, updatedAt: sql`now()` }).where(eq(runs.id, input.runId));
      }
    });
  }

  return {
    async trainStep(input) {
      const key = `${input.runId}:${input.step}`;
      const expect =
        input.policyVersion === undefined
          ? undefined
          : { run_id: input.runId, policy_version: input.policyVersion };
      const referenceKl = referenceKlOf(policy(input.policyUrl), input.algorithm, key, expect);
      let batch: Awaited<ReturnType<typeof buildBatch>>;
      try {
        // The KL in the reward (if any) is a forward pass over the batch on the worker: heartbeat.
        batch = await withHeartbeat(() => buildBatch(deps.db, input.runId, input.step, input, referenceKl));
      } catch (err) {
        throw asActivityError(err, input);
      }
      const { samples, envs, ids, advantages, metrics, sampledBy } = batch;
      if (samples.length === 0) {
        // Every rollout was rejected (e.g. contexts over the model's window): nothing to train on. The
        // step is recorded as skipped and the policy version stays; retrying would change nothing.
        const [last] = await deps.db
          .select({ v: sql<number>`coalesce(max(${policyVersions.version}), 0)::int` })
          .from(policyVersions)
          .where(eq(policyVersions.runId, input.runId));
        const version = input.policyVersion ?? Number(last?.v ?? 0);
        const reason = 'no trainable rollouts (all rejected or failed)';
        await recordStep(input, version, { skipped: true, reason }, envs, false);
        return {
          policyVersion: version,
          samples: 0,
          loss: 0,
          kl: 0,
          seconds: 0,
          replayed: false,
          skipped: true,
          envs,
        };
      }
      if (ids.length) {
        await deps.db.execute(
          sql`UPDATE rollouts SET advantage = v.a FROM (SELECT unnest(${`{${ids.join(',')}}`}::bigint[]) AS id, unnest(${`{${advantages.join(',')}}`}::float8[]) AS a) v WHERE rollouts.id = v.id`,
        );
      }
      let res: Awaited<ReturnType<ReturnType<typeof policy>['trainStep']>>;
      try {
        // Heartbeats while the worker trains: the timeout detects a dead orchestrator, not a long step.
        res = await withHeartbeat(() =>
          policy(input.policyUrl).trainStep({
            idempotency_key: key,
            samples,
            hyper: hyperOf(input.algorithm, input.envMaxTokens),
            ...(expect ? { expect } : {}),
          }),
        );
      } catch (err) {
        throw asActivityError(err, input);
      }
      // the update started from the version before this step's: the rollouts' lag behind it
      const staleness = stalenessOf(sampledBy, res.policy_version - 1);
      await recordStep(input, res.policy_version, { ...res.metrics, ...metrics, ...staleness }, envs, true);
      return {
        policyVersion: res.policy_version,
        samples: samples.length,
        loss: res.metrics.loss,
        kl: res.metrics.kl,
        seconds: res.metrics.seconds,
        replayed: res.replayed,
        skipped: false,
        envs,
      };
    },
  };
}
