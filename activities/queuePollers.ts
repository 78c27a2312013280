/**
 * Whether some worker serves an environment's task queue: asked of the Temporal server through
 * `workflowService.describeTaskQueue` (the pollers it has seen on the queue's activity side). Used by
 * `validateRun`, so a run naming an environment that no worker serves fails at start with the queue
 * and the command that serves it, instead of waiting forever at step 0.
 */
import type { ConnectionLike } from '@temporalio/client';
import { envQueue } from '../workflows/queues.js';

/** `TASK_QUEUE_TYPE_ACTIVITY` and `TASK_QUEUE_KIND_NORMAL` (temporal/api/enums/v1/task_queue.proto). */
const ACTIVITY_QUEUE = 2;
const NORMAL_KIND = 1;
/** gRPC status codes that mean "this cluster will not tell us" (not "nobody polls"). */
const CANNOT_ASK = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */]);

/**
 * The environments among `envs` whose queue (`multigym-env-<name>`) has no poller. A queue found empty
 * is asked again every `pollMs` until `waitMs` has passed (a worker that has just started polls within
 * a second). Environments whose queue the cluster will not describe (permissions) count as served.
 */
export async function unservedEnvironments(
  connection: Pick<ConnectionLike, 'workflowService'>,
  namespace: string,
  envs: string[],
  opts: { waitMs?: number; pollMs?: number } = {},
): Promise<string[]> {
  const deadline = Date.now() + (opts.waitMs ?? 5000);
  let missing = envs;
  for (;;) {
    const still: string[] = [];
    for (const env of missing) {
      try {
        const res = await connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: envQueue(env), kind: NORMAL_KIND },
          taskQueueType: ACTIVITY_QUEUE,
        });
        if (!res.pollers?.length) still.push(env);
      } catch (err) {
        if (!CANNOT_ASK.has((err as { code?: number }).code ?? -1)) throw err;
      }
    }
    missing = still;
    if (!missing.length || Date.now() >= deadline) return missing;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/**
 * The message of a run whose environments no worker serves: each queue and the command that serves it
 * (with `--plugin FILE` for a plugin's environment, `source` being where it was registered from).
 */
export function unservedMessage(envs: { name: string; source?: string }[]): string {
  const parts = envs.map(({ name, source }) => {
    const plugin = source && source !== 'builtin' ? ` --plugin ${source}` : '';
    return (
      `environment "${name}": no worker polls task queue ${envQueue(name)}; serve it with ` +
      `\`multigym worker --env ${name} --no-main${plugin}\` (or restart \`multigym dev${plugin}\`)`
    );
  });
  return `no worker serves ${parts.length > 1 ? 'these environments' : 'this environment'}: ${parts.join('; ')}`;
}
