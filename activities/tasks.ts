/**
 * `sampleTasks`: draws `count` distinct tasks from an environment's seeded order starting at `start`,
 * stores them (claim check) and returns their ids and how many positions of the order it used.
 * Idempotent: tasks are keyed by (run, env, task id).
 *
 * A task already drawn in this step (a step that straddles an epoch boundary meets the first tasks of
 * the next epoch's order, or a dynamic-sampling round meets an earlier round's: `exclude`) is passed
 * over: rollouts are keyed by task within a step, so a task drawn twice would be trained once and
 * counted twice. It comes back in its own place of a later pass.
 */
import { ApplicationFailure } from '@temporalio/common';
import { tasks } from '../db/schema.js';
import { getEnvironment } from '../environments/registry.js';
import type { Activities } from '../workflows/contracts.js';
import { type ActivityDeps, asActivityError, ensurePlugins } from './deps.js';

/** Builds the `sampleTasks` activity. */
export function taskActivities(deps: ActivityDeps): Pick<Activities, 'sampleTasks'> {
  return {
    async sampleTasks(input) {
      await ensurePlugins(input.plugins);
      const env = getEnvironment(input.env);
      const parsed = env.configSchema.safeParse(input.config);
      if (!parsed.success) {
        throw ApplicationFailure.nonRetryable(
          `invalid ${input.env} config: ${parsed.error.message}`,
          'InvalidRunConfig',
        );
      }
      const ctx = {
        seed: input.seed,
        split: input.split,
        start: input.start,
        dataDir: input.dataDir ?? deps.dataDir,
        blobDir: deps.blobDir,
      };
      const taskIds: string[] = [];
      const rows: { runId: string; env: string; taskId: string; data: unknown }[] = [];
      const seen = new Set(input.exclude ?? []);
      // Within one pass every task comes once, so `count` distinct ones lie within 2·count positions
      // past the excluded ones; a split with fewer distinct tasks never fills the step.
      const maxPositions = 2 * input.count + seen.size + 1;
      let consumed = 0;
      let repeated: string | undefined;
      const iterator = env.tasks(parsed.data, ctx)[Symbol.asyncIterator]();
      try {
        while (taskIds.length < input.count && consumed < maxPositions) {
          const next = await iterator.next();
          if (next.done) break;
          consumed++;
          if (seen.has(next.value.id)) {
            repeated ??= next.value.id;
            continue;
          }
          seen.add(next.value.id);
          taskIds.push(next.value.id);
          rows.push({ runId: input.runId, env: input.env, taskId: next.value.id, data: next.value.data });
        }
      } catch (err) {
        // A missing or malformed data set does not heal by retrying; errors marked retryable (I/O on a
        // shared blob store, say) are left to Temporal's retry policy.
        if ((err as { retryable?: boolean }).retryable) throw asActivityError(err, input);
        const e = err as Error;
        throw ApplicationFailure.nonRetryable(
          `${input.env} tasks: ${e.message}`,
          e.name || 'TaskSourceError',
        );
      } finally {
        await iterator.return?.();
      }
      if (taskIds.length < input.count && consumed >= maxPositions) {
        throw ApplicationFailure.nonRetryable(
          `${input.env}: found ${taskIds.length} distinct tasks for a step of ${input.count} (task ${repeated} came ` +
            `again): prompts_per_step (${input.count}) exceeds the number of distinct tasks in split ` +
            `${input.split}; lower prompts_per_step or use a larger data set`,
          'InvalidRunConfig',
        );
      }
      if (taskIds.length === 0) {
        throw ApplicationFailure.nonRetryable(
          `environment ${input.env} produced no tasks for split ${input.split}`,
        );
      }
      for (let i = 0; i < rows.length; i += 200) {
        await deps.db
          .insert(tasks)
          .values(rows.slice(i, i + 200))
          .onConflictDoNothing();
      }
      return { taskIds, consumed };
    },
  };
}
