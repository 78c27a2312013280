/**
 * Run bookkeeping activities: validation before anything is written, starting or resuming a run (its
 * config identity and its weights in the policy worker), events and checkpoints.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import { events, policyVersions, runs, stepMetrics } from '../db/schema.js';
import { environmentSource, getEnvironment } from '../environments/registry.js';
import { getReward } from '../rewards/registry.js';
import { type RunConfig, rewardNameIssues } from '../workflows/config.js';
import { configChanges, configMismatchMessage } from '../workflows/configIdentity.js';
import type { Activities, RunState } from '../workflows/contracts.js';
import { pruneCheckpoints } from './checkpoints.js';
import { type ActivityDeps, asActivityError, ensurePlugins, policyCache, withHeartbeat } from './deps.js';
import { claimPolicy, type RestoreContext, restoreRunPolicy, runningOn } from './policySync.js';
import { unservedEnvironments, unservedMessage } from './queuePollers.js';
import { searchAttributesProblem } from './searchAttributes.js';

/** The current activity's context, or undefined when called outside an activity (tests, scripts). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** `base.a.b` for a zod issue path (`base` alone for an issue about the object itself). */
const fieldPath = (base: string, path: PropertyKey[]): string => [base, ...path.map(String)].join('.');

/** Builds the run bookkeeping activities. */
export function runActivities(
  deps: ActivityDeps,
): Pick<Activities, 'validateRun' | 'startRun' | 'syncPolicy' | 'finishRun' | 'recordEvent' | 'checkpoint'> {
  const policy = policyCache(deps);
  const restoreContext = (url: string): RestoreContext => ({
    db: deps.db,
    policy: policy(url),
    isRunActive: deps.isRunActive ?? ((id) => runningOn(Context.current().client)(id)),
  });
  /**
   * Writes the run's weights to `<dir>/<run id>/step-<step>` on the worker (never another run's:
   * `expect`), records the path with its policy version, and prunes old checkpoints.
   */
  async function saveCheckpoint(a: {
    runId: string;
    step: number;
    policyUrl: string;
    dir: string;
    policyVersion?: number;
    keep?: number;
  }): Promise<{ path: string }> {
    const expect =
      a.policyVersion === undefined ? {} : { expect: { run_id: a.runId, policy_version: a.policyVersion } };
    const res = await policy(a.policyUrl).checkpoint({
      path: join(a.dir, a.runId, `step-${a.step}`),
      ...expect,
    });
    await deps.db
      .insert(policyVersions)
      .values({ runId: a.runId, version: res.policy_version, step: a.step, checkpointPath: res.path })
      .onConflictDoUpdate({
        target: [policyVersions.runId, policyVersions.version],
        set: { checkpointPath: res.path },
      });
    await deps.db
      .insert(events)
      .values({ runId: a.runId, step: a.step, kind: 'checkpoint', key: `checkpoint:${a.step}`, data: res })
      .onConflictDoNothing();
    await pruneCheckpoints(deps.db, a.runId, a.step, a.keep ?? 0);
    return { path: res.path };
  }
  return {
    async validateRun({ config, namespace }) {
      const problems: string[] = [];
      try {
        await ensurePlugins(config.plugins);
      } catch (err) {
        problems.push(`plugins: ${(err as Error).message}`);
      }
      config.environments.forEach((spec, i) => {
        let env: ReturnType<typeof getEnvironment>;
        try {
          env = getEnvironment(spec.name);
        } catch (err) {
          problems.push(`environments.${i}.name: ${(err as Error).message}`);
          return;
        }
        const parsed = env.configSchema.safeParse(spec.config);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            problems.push(`${fieldPath(`environments.${i}.config`, issue.path)}: ${issue.message}`);
          }
        }
        // The environment's defaults pass the same name checks as a run's own list.
        if (!spec.rewards) {
          for (const issue of rewardNameIssues(env.rewards, spec.reasoning !== undefined)) {
            problems.push(
              `environments.${i}.rewards: the defaults of "${spec.name}" (component ${issue.path[0]}): ${issue.message}`,
            );
          }
        }
        (spec.rewards ?? []).forEach((r, j) => {
          try {
            const checker = getReward(r.checker);
            const c = checker.configSchema.safeParse(r.config ?? {});
            if (!c.success) {
              for (const issue of c.error.issues) {
                problems.push(
                  `${fieldPath(`environments.${i}.rewards.${j}.config`, issue.path)}: ${issue.message}`,
                );
              }
            }
          } catch (err) {
            problems.push(`environments.${i}.rewards.${j}.checker: ${(err as Error).message}`);
          }
        });
      });
      const names = config.environments.map((e) => e.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup) problems.push(`environments: "${dup}" is listed twice`);
      if (problems.length) {
        throw ApplicationFailure.nonRetryable(
          `invalid run config: ${problems.join('; ')}`,
          'InvalidRunConfig',
        );
      }
      const ctx = activityContext();
      if (namespace && ctx) {
        const problem = await searchAttributesProblem(ctx.client.connection, namespace, deps.temporalAddress);
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'MissingSearchAttributes');
      }
      if (ctx) {
        const unserved = await unservedEnvironments(
          ctx.client.connection,
          namespace ?? ctx.client.options.namespace,
          names,
          { waitMs: deps.queueWaitMs },
        );
        if (unserved.length) {
          throw ApplicationFailure.nonRetryable(
            unservedMessage(unserved.map((name) => ({ name, source: environmentSource(name) }))),
            'EnvironmentNotServed',
          );
        }
      }
      return { envs: names };
    },

    async startRun({ runId, config }) {
      const [existing] = await deps.db
        .select({ config: runs.config, state: runs.state })
        .from(runs)
        .where(eq(runs.id, runId));
      if (existing) {
        // Checked before anything is written: another config under this id is another run.
        const changes = configChanges(existing.config as RunConfig, config);
        if (changes.length) {
          throw ApplicationFailure.nonRetryable(configMismatchMessage(runId, changes), 'RunConfigMismatch');
        }
      }
      const state = existing?.state as RunState | null | undefined;
      if (existing && !state) {
        const [trained] = await deps.db
          .select({ step: stepMetrics.step })
          .from(stepMetrics)
          .where(eq(stepMetrics.runId, runId))
          .limit(1);
        if (trained) {
          throw ApplicationFailure.nonRetryable(
            `run ${runId} was trained by an older multigym that did not store its state: it cannot be ` +
              'resumed; start it under another id',
            'RunNotResumable',
          );
        }
      }
      const ctx = restoreContext(config.policy.url);
      try {
        if (state) {
          // Resumed past step 0: the worker must hold this run's weights at its last trained step.
          await deps.db
            .update(runs)
            .set({ config, name: config.name, status: 'running', updatedAt: sql`now()` })
            .where(eq(runs.id, runId));
          await withHeartbeat(() =>
            restoreRunPolicy(ctx, {
              runId,
              step: state.step,
              policyVersion: state.policyVersion,
              reason: `run ${runId} resumed at step ${state.step}`,
            }),
          );
          return { created: false, state, policyVersion: state.policyVersion };
        }
        const claim = await withHeartbeat(() => claimPolicy(ctx, runId, config));
        const inserted = await deps.db
          .insert(runs)
          .values({ id: runId, name: config.name, config, status: 'running' })
          .onConflictDoUpdate({ target: runs.id, set: { config, status: 'running', updatedAt: sql`now()` } })
          .returning({ created: sql<boolean>`(xmax = 0)` });
        if (config.policy.init === 'base' && config.checkpoint_every > 0) {
          // The base weights are the run's first restore point: a worker restarted before the first
          // periodic checkpoint is restored from them and the steps since are trained again.
          await saveCheckpoint({
            runId,
            step: 0,
            policyUrl: config.policy.url,
            dir: config.checkpoint_dir,
            policyVersion: claim.policyVersion,
            keep: config.checkpoint_keep,
          });
        } else if (config.policy.init !== 'base') {
          // The init checkpoint is the run's first restore point.
          await deps.db
            .insert(policyVersions)
            .values({
              runId,
              version: claim.policyVersion,
              step: 0,
              checkpointPath: config.policy.init.checkpoint,
            })
            .onConflictDoNothing();
        }
        await deps.db
          .insert(events)
          .values({
            runId,
            step: 0,
            kind: 'policy_claim',
            key: 'policy_claim',
            data: {
              init: config.policy.init,
              policy_version: claim.policyVersion,
              worker_before: {
                run_id: claim.before.run_id,
                policy_version: claim.before.policy_version,
                model: claim.before.model,
              },
            },
          })
          .onConflictDoNothing();
        return { created: Boolean(inserted[0]?.created), policyVersion: claim.policyVersion };
      } catch (err) {
        throw asActivityError(err, { policyWaitSeconds: config.timeouts.policy_unreachable_s });
      }
    },

    async syncPolicy({ runId, policyUrl, step, policyVersion, reason, policyWaitSeconds }) {
      try {
        return await withHeartbeat(() =>
          restoreRunPolicy(restoreContext(policyUrl), { runId, step, policyVersion, reason }),
        );
      } catch (err) {
        throw asActivityError(err, { policyWaitSeconds });
      }
    },

    async finishRun({ runId, status }) {
      await deps.db.update(runs).set({ status, updatedAt: sql`now()` }).where(eq(runs.id, runId));
    },

    async recordEvent({ runId, step, kind, key, data }) {
      await deps.db.insert(events).values({ runId, step, kind, key, data }).onConflictDoNothing();
    },

    async checkpoint({ runId, step, policyUrl, dir, policyVersion, policyWaitSeconds, keep }) {
      try {
        return await saveCheckpoint({ runId, step, policyUrl, dir, policyVersion, keep });
      } catch (err) {
        throw asActivityError(err, { policyWaitSeconds });
      }
    },
  };
}
