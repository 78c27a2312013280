/**
 * Run bookkeeping activities: validation before anything is written, the run row, events and
 * checkpoints.
 */
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import { events, policyVersions, runs } from '../db/schema.js';
import { getEnvironment } from '../environments/registry.js';
import { getReward } from '../rewards/registry.js';
import { rewardNameIssues } from '../workflows/config.js';
import type { Activities } from '../workflows/contracts.js';
import { pruneCheckpoints } from './checkpoints.js';
import { type ActivityDeps, asActivityError, ensurePlugins, policyCache } from './deps.js';

/** Builds the run bookkeeping activities. */
export function runActivities(
  deps: ActivityDeps,
): Pick<Activities, 'validateRun' | 'startRun' | 'finishRun' | 'recordEvent' | 'checkpoint'> {
  const policy = policyCache(deps);
  return {
    async validateRun({ config }) {
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
            problems.push(`environments.${i}.config.${issue.path.join('.')}: ${issue.message}`);
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
                  `environments.${i}.rewards.${j}.config.${issue.path.join('.')}: ${issue.message}`,
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
      return { envs: names };
    },

    async startRun({ runId, config }) {
      const inserted = await deps.db
        .insert(runs)
        .values({ id: runId, name: config.name, config, status: 'running' })
        .onConflictDoNothing()
        .returning({ id: runs.id });
      return { created: inserted.length > 0 };
    },

    async finishRun({ runId, status }) {
      await deps.db.update(runs).set({ status, updatedAt: sql`now()` }).where(eq(runs.id, runId));
    },

    async recordEvent({ runId, step, kind, key, data }) {
      await deps.db.insert(events).values({ runId, step, kind, key, data }).onConflictDoNothing();
    },

    async checkpoint({ runId, step, policyUrl, dir, policyWaitSeconds, keep }) {
      const path = join(dir, runId, `step-${step}`);
      try {
        const res = await policy(policyUrl).checkpoint({ path });
        await deps.db
          .insert(policyVersions)
          .values({ runId, version: res.policy_version, step, checkpointPath: res.path })
          .onConflictDoUpdate({
            target: [policyVersions.runId, policyVersions.version],
            set: { checkpointPath: res.path },
          });
        await deps.db
          .insert(events)
          .values({ runId, step, kind: 'checkpoint', key: `checkpoint:${step}`, data: res })
          .onConflictDoNothing();
        await pruneCheckpoints(deps.db, runId, step, keep ?? 0);
        return { path: res.path };
      } catch (err) {
        throw asActivityError(err, { policyWaitSeconds });
      }
    },
  };
}
