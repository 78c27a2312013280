/**
 * The run's weights in the policy worker: claimed when a run starts, put back when they are lost.
 *
 * The worker names what it holds by (run id, policy version) (policy/worker/README.md), and every
 * request of a run expects its own pair. When the worker holds anything else — a restarted worker
 * (run null, version 0), another run's weights, an older checkpoint of this run — nothing was
 * trained on it, and `restoreRunPolicy` brings it back:
 *
 * 1. the newest restore point at or below the run's version: the worker itself when it holds an
 *    older version of this run, else the run's newest checkpoint (`policy_versions` rows with a
 *    path, the `policy.init` checkpoint included), else the base model when nothing was trained yet;
 *    none: the run fails (`PolicyLost`), it never continues on other weights;
 * 2. the steps trained after that point are trained again, in order, from their stored rollouts and
 *    recipe (`step_metrics.recipe`) under their own idempotency keys, each checked to land on the
 *    version it had the first time. The weights that held those steps are gone with the old worker,
 *    so each step is applied exactly once to the weights that exist: policy versions 1..N keep
 *    their meaning and no step is applied twice;
 * 3. an event `policy_restore` records what the worker held, what was loaded and what was replayed.
 *
 * Rollouts already sampled by a version that was lost are kept, not sampled again: their stored
 * log-probs are those of the policy that really sampled them, and GRPO's ratio π_θ / π_old with that
 * π_old is the off-policy correction (clipped), exactly as for any sample drawn one version before
 * the update. The replayed version is the same update of the same weights on the same batch, equal
 * to the lost one up to floating-point non-determinism (`loss_now` against `loss_recorded` in the
 * event shows how close). docs/policy-versions.md has the whole argument.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, desc, eq, gt, isNotNull, lte } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { events, policyVersions, runs, stepMetrics } from '../db/schema.js';
import type { InfoResponse } from '../policy/protocol.js';
import { recipeAlgorithm } from '../workflows/algorithm.js';
import type { AlgorithmConfig, RunConfig } from '../workflows/config.js';
import type { SyncPolicyOutput, TrainRecipe } from '../workflows/contracts.js';
import { buildBatch, hyperOf, referenceKlOf } from './batch.js';
import type { Policy } from './deps.js';

/** Says whether the run (workflow id) is still going; another run's weights are taken only when not. */
export type RunActivity = (runId: string) => Promise<boolean>;

/** True while the workflow `runId` is RUNNING on `client`'s namespace. */
export const runningOn =
  (client: Client): RunActivity =>
  async (runId) => {
    try {
      return (await client.workflow.getHandle(runId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };

/** What a restore needs besides the worker. */
export interface RestoreContext {
  db: Database;
  policy: Policy;
  isRunActive: RunActivity;
}

const worker = (i: Pick<InfoResponse, 'run_id' | 'policy_version'>) =>
  `run ${i.run_id === null ? 'none' : JSON.stringify(i.run_id)} at policy version ${i.policy_version}`;

/** Refuses a worker that serves another model than `config.policy.model` or that another live run holds. */
async function checkWorker(ctx: RestoreContext, runId: string, config: RunConfig, info: InfoResponse) {
  if (config.policy.model && info.model !== config.policy.model) {
    throw ApplicationFailure.nonRetryable(
      `policy worker ${config.policy.url} serves model ${info.model}; run ${runId} names ` +
        `policy.model ${config.policy.model}. Start a worker with that model or fix policy.model.`,
      'PolicyModelMismatch',
    );
  }
  if (!info.rollout_modes.includes(config.policy.rollout_mode)) {
    throw ApplicationFailure.nonRetryable(
      `policy worker ${config.policy.url} serves rollout modes ${info.rollout_modes.join(', ')}; run ` +
        `${runId} sets policy.rollout_mode ${config.policy.rollout_mode}. Set policy.rollout_mode to ` +
        `one of those, or start a worker that serves it.`,
      'PolicyRolloutModeUnsupported',
    );
  }
  if (info.run_id !== null && info.run_id !== runId && (await ctx.isRunActive(info.run_id))) {
    throw ApplicationFailure.nonRetryable(
      `policy worker ${config.policy.url} holds the weights of run ${info.run_id}, which is still ` +
        `running: a worker trains one run at a time. Start another policy worker ` +
        `(python -m multigym_worker --port PORT) and set policy.url, or stop run ${info.run_id} first.`,
      'PolicyWorkerBusy',
    );
  }
}

/**
 * Claims the worker for a new run: its base model reset (`policy.init` "base") or the init
 * checkpoint loaded, both tagged with the run id. Returns the run's initial policy version.
 * Throws non-retryable `PolicyWorkerBusy` / `PolicyModelMismatch`; worker errors otherwise.
 */
export async function claimPolicy(
  ctx: RestoreContext,
  runId: string,
  config: RunConfig,
): Promise<{ policyVersion: number; before: InfoResponse }> {
  const before = await ctx.policy.info();
  await checkWorker(ctx, runId, config, before);
  const init = config.policy.init;
  if (init === 'base') {
    const r = await ctx.policy.reset({ run_id: runId });
    return { policyVersion: r.policy_version, before };
  }
  const r = await ctx.policy.load({ path: init.checkpoint, run_id: runId });
  return { policyVersion: r.policy_version, before };
}

/** One step trained again during a restore, with its loss then and now. */
interface Replayed {
  step: number;
  version: number;
  loss_recorded: number | null;
  loss_now: number;
}

interface StepRow {
  step: number;
  policyVersion: number;
  train: unknown;
  recipe: unknown;
}

/**
 * Makes the worker hold run `runId` at `policyVersion` (its state after `step`), restoring and
 * replaying as the module comment says. No-op when it already does.
 * Throws non-retryable `PolicyLost`, `PolicyWorkerBusy`, `PolicyModelMismatch` or
 * `PolicyRestoreFailed`; retryable worker errors (unreachable, 5xx) otherwise.
 */
export async function restoreRunPolicy(
  ctx: RestoreContext,
  input: { runId: string; step: number; policyVersion: number; reason: string },
): Promise<SyncPolicyOutput> {
  const { runId, step, policyVersion } = input;
  const before = await ctx.policy.info();
  if (before.run_id === runId && before.policy_version === policyVersion) {
    return { restored: false, policyVersion };
  }
  const [run] = await ctx.db.select({ config: runs.config }).from(runs).where(eq(runs.id, runId));
  if (!run) throw ApplicationFailure.nonRetryable(`run ${runId} is not in the database`, 'PolicyLost');
  const config = run.config as RunConfig;
  await checkWorker(ctx, runId, config, before);

  const [point] = await ctx.db
    .select({ version: policyVersions.version, path: policyVersions.checkpointPath })
    .from(policyVersions)
    .where(
      and(
        eq(policyVersions.runId, runId),
        isNotNull(policyVersions.checkpointPath),
        lte(policyVersions.version, policyVersion),
        lte(policyVersions.step, step),
      ),
    )
    .orderBy(desc(policyVersions.version))
    .limit(1);
  let at: number;
  let from: string;
  if (
    before.run_id === runId &&
    before.policy_version < policyVersion &&
    before.policy_version >= (point?.version ?? 0)
  ) {
    // An older version of this run, no older than its newest checkpoint: replay from here.
    at = before.policy_version;
    from = 'worker';
  } else if (point?.path) {
    const r = await ctx.policy.load({ path: point.path, run_id: runId });
    if (r.policy_version !== point.version) {
      throw ApplicationFailure.nonRetryable(
        `checkpoint ${point.path} holds policy version ${r.policy_version}, recorded as ${point.version}`,
        'PolicyRestoreFailed',
      );
    }
    at = point.version;
    from = point.path;
  } else if (config.policy.init === 'base' && policyVersion === 0) {
    at = (await ctx.policy.reset({ run_id: runId })).policy_version;
    from = 'base';
  } else {
    throw ApplicationFailure.nonRetryable(
      `policy worker ${config.policy.url} lost run ${runId}'s weights (it holds ${worker(before)}; ` +
        `the run is at step ${step}, policy version ${policyVersion}) and the run has no checkpoint ` +
        'to restore them from. Nothing was trained on the wrong weights. Keep checkpoint_every above 0 ' +
        '(default 10) so a restarted worker can be restored, then start the run again.',
      'PolicyLost',
    );
  }

  const replayed = await replaySteps(ctx, runId, { after: at, upToStep: step });
  const final = replayed.at(-1)?.version ?? at;
  if (final !== policyVersion) {
    throw ApplicationFailure.nonRetryable(
      `restoring run ${runId} reached policy version ${final}, not the run's ${policyVersion}`,
      'PolicyRestoreFailed',
    );
  }
  await ctx.db.insert(events).values({
    runId,
    step,
    kind: 'policy_restore',
    key: `policy_restore:${step}:${Date.now()}`,
    data: {
      reason: input.reason,
      worker_before: { run_id: before.run_id, policy_version: before.policy_version, model: before.model },
      expected: { step, policy_version: policyVersion },
      restored_from: from,
      restored_version: at,
      replayed,
    },
  });
  return { restored: true, policyVersion };
}

/** Trains again, in order, every step up to `upToStep` whose recorded version is above `after`. */
async function replaySteps(
  ctx: RestoreContext,
  runId: string,
  range: { after: number; upToStep: number },
): Promise<Replayed[]> {
  const rows: StepRow[] = await ctx.db
    .select({
      step: stepMetrics.step,
      policyVersion: stepMetrics.policyVersion,
      train: stepMetrics.train,
      recipe: stepMetrics.recipe,
    })
    .from(stepMetrics)
    .where(
      and(
        eq(stepMetrics.runId, runId),
        gt(stepMetrics.policyVersion, range.after),
        lte(stepMetrics.step, range.upToStep),
      ),
    )
    .orderBy(asc(stepMetrics.step));
  const out: Replayed[] = [];
  let version = range.after;
  for (const row of rows) {
    // A skipped step (nothing to train on) changed no weight: its version is the previous step's.
    if ((row.train as { skipped?: boolean }).skipped) continue;
    const recipe = row.recipe as TrainRecipe | null;
    if (!recipe) {
      throw ApplicationFailure.nonRetryable(
        `step ${row.step} of run ${runId} has no stored recipe (trained by an older multigym): it cannot ` +
          'be trained again. Restore a checkpoint taken after it by hand.',
        'PolicyRestoreFailed',
      );
    }
    let algorithm: AlgorithmConfig;
    try {
      algorithm = recipeAlgorithm(recipe.algorithm);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `step ${row.step} of run ${runId}: ${(err as Error).message}`,
        'PolicyRestoreFailed',
      );
    }
    const key = `${runId}:${row.step}`;
    const expect = { run_id: runId, policy_version: version };
    const kl = referenceKlOf(ctx.policy, algorithm, key, expect);
    const { samples } = await buildBatch(ctx.db, runId, row.step, { ...recipe, algorithm }, kl);
    const res = await ctx.policy.trainStep({
      idempotency_key: key,
      samples,
      hyper: hyperOf(algorithm, recipe.envMaxTokens),
      expect,
    });
    if (res.policy_version !== row.policyVersion) {
      throw ApplicationFailure.nonRetryable(
        `replaying step ${row.step} of run ${runId} gave policy version ${res.policy_version}, ` +
          `recorded as ${row.policyVersion}`,
        'PolicyRestoreFailed',
      );
    }
    version = res.policy_version;
    out.push({
      step: row.step,
      version,
      loss_recorded: (row.train as { loss?: number }).loss ?? null,
      loss_now: res.metrics.loss,
    });
  }
  return out;
}
