/**
 * `sampleTasks`: draws `count` tasks from an environment's seeded order starting at `start`, stores
 * them (claim check) and returns their ids. Idempotent: tasks are keyed by (run, env, task id).
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
      const iterator = env.tasks(parsed.data, ctx)[Symbol.asyncIterator]();
      try {
        while (taskIds.length < input.count) {
          const next = await iterator.next();
          if (next.done) break;
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
      const repeated = taskIds.find((id, i) => taskIds.indexOf(id) !== i);
      if (repeated) {
        // Rollouts are keyed by task within a step: a task drawn twice would be trained once and counted twice.
        throw ApplicationFailure.nonRetryable(
          `${input.env}: task ${repeated} was drawn twice in one step: prompts_per_step (${input.count}) exceeds the ` +
            'number of distinct tasks in the split; lower prompts_per_step or use a larger data set',
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
      return { taskIds };
    },
  };
}
