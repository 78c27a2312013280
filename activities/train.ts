/**
 * `trainStep`: builds the step's batch from the database (all environments together), computes
 * group-relative advantages, sends one `train_step` to the policy worker with the idempotency key
 * `<run>:<step>` (a retried activity never trains twice), and records metrics and the policy version.
 *
 * Only `ok` rollouts enter the batch. A group's advantages are computed over its ok rollouts alone
 * (a checker or infrastructure failure removes a sample, it never lends it a reward of 0); a group
 * left with fewer than 2 ok rollouts has no baseline and is left out (counted as `droppedGroups`).
 * The per-environment metrics count the rollouts left out by status.
 */
import { Context } from '@temporalio/activity';
import { and, asc, eq, isNotNull, ne, sql } from 'drizzle-orm';
import { policyVersions, rollouts, stepMetrics } from '../db/schema.js';
import { groupAdvantages } from '../policy/advantages.js';
import type { TrainSample } from '../policy/protocol.js';
import type { Activities, EnvStepStats } from '../workflows/contracts.js';
import { type ActivityDeps, asActivityError, policyCache } from './deps.js';

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

/** Builds the `trainStep` activity. */
export function trainActivities(deps: ActivityDeps): Pick<Activities, 'trainStep'> {
  const policy = policyCache(deps);
  return {
    async trainStep(input) {
      const ofStep = and(
        eq(rollouts.runId, input.runId),
        eq(rollouts.phase, 'train'),
        eq(rollouts.step, input.step),
      );
      const rows = (await deps.db
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
      // Rollouts left out, by environment and status: an environment whose checker always fails
      // still shows up, with its errors counted.
      const leftOut = await deps.db
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
      const advs: number[] = [];
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
          input.algorithm.advantage,
        );
        const weight = input.envWeights[env] ?? 1;
        if (a.zeroVariance) stats.zeroVarianceGroups++;
        g.forEach((row, i) => {
          const advantage = a.advantages[i]! * weight;
          ids.push(row.id);
          advs.push(advantage);
          if (weight > 0 && row.completionTokenIds.length > 0)
            batch.push({ row, advantage, zeroVariance: a.zeroVariance });
        });
      }
      for (const s of Object.values(envs)) {
        s.meanReward /= Math.max(1, s.rollouts);
        s.passRate /= Math.max(1, s.rollouts);
      }
      if (input.dropZeroVariance && batch.some((b) => !b.zeroVariance))
        batch = batch.filter((b) => !b.zeroVariance);
      if (batch.length === 0) {
        // Every rollout was rejected (e.g. contexts over the model's window): nothing to train on. The
        // step is recorded as skipped and the policy version stays; retrying would change nothing.
        const [last] = await deps.db
          .select({ v: sql<number>`coalesce(max(${policyVersions.version}), 0)::int` })
          .from(policyVersions)
          .where(eq(policyVersions.runId, input.runId));
        const version = Number(last?.v ?? 0);
        const reason = 'no trainable rollouts (all rejected or failed)';
        await deps.db
          .insert(stepMetrics)
          .values({
            runId: input.runId,
            step: input.step,
            policyVersion: version,
            train: { skipped: true, reason },
            envs,
          })
          .onConflictDoNothing();
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
          sql`UPDATE rollouts SET advantage = v.a FROM (SELECT unnest(${`{${ids.join(',')}}`}::bigint[]) AS id, unnest(${`{${advs.join(',')}}`}::float8[]) AS a) v WHERE rollouts.id = v.id`,
        );
      }
      const samples: TrainSample[] = batch.map(({ row, advantage }) => ({
        prompt_token_ids: row.promptTokenIds,
        completion_token_ids: row.completionTokenIds,
        old_logprobs: row.logprobs,
        advantage,
        ...(row.completionMask ? { completion_mask: row.completionMask } : {}),
      }));
      const { algorithm: alg } = input;
      let res: Awaited<ReturnType<ReturnType<typeof policy>['trainStep']>>;
      // A long step is alive as long as this process is: heartbeat while the worker trains, so the
      // heartbeat timeout detects a dead orchestrator without capping the step's duration.
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat({ waiting: 'train_step' }), 5000);
      try {
        res = await policy(input.policyUrl).trainStep({
          idempotency_key: `${input.runId}:${input.step}`,
          samples,
          hyper: {
            learning_rate: alg.learning_rate,
            clip_low: alg.clip_low,
            clip_high: alg.clip_high,
            kl_coef: alg.kl_coef,
            loss_aggregation: alg.loss_aggregation,
            micro_batch_size: alg.micro_batch_size,
            max_grad_norm: alg.max_grad_norm,
          },
        });
      } catch (err) {
        throw asActivityError(err, input);
      } finally {
        clearInterval(beat);
      }
      await deps.db
        .insert(stepMetrics)
        .values({
          runId: input.runId,
          step: input.step,
          policyVersion: res.policy_version,
          train: res.metrics,
          envs,
        })
        .onConflictDoNothing();
      await deps.db
        .insert(policyVersions)
        .values({ runId: input.runId, version: res.policy_version, step: input.step })
        .onConflictDoNothing();
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
