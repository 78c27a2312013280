/**
 * Temporal workers of multigym: the main worker (workflows, training, bookkeeping) and one worker
 * per environment task queue (`multigym-env-<name>`), all in this process. `multigym worker --env X`
 * runs only X's queue, so a sandbox can live on its own hosts.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities/index.js';
import '../environments/builtin.js';
import { environmentNames } from '../environments/registry.js';
import { envQueue, MAIN_QUEUE } from '../workflows/queues.js';
import { TemporalUnreachableError, temporalAddress } from './context.js';
import { startReconciler } from './reconcile.js';

const workflowsPath = resolve(dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles the workflow code once per process (about 3 s). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    console.warn(message);
  },
  error(message: string) {
    console.error(message);
  },
};

export interface StartWorkersOptions {
  /** Temporal frontend address, default `TEMPORAL_ADDRESS` or 127.0.0.1:7233. */
  address?: string;
  /** An existing connection (tests); otherwise one is opened. */
  connection?: NativeConnection;
  namespace?: string;
  deps: ActivityDeps;
  /** Run the main queue (workflows, training). Default true. */
  main?: boolean;
  /** Environment queues to serve; default every registered environment. */
  envs?: string[];
  /** Time in-flight activities get to finish on shutdown before they are cancelled (default 10 s). */
  shutdownGraceTime?: string;
  /** Concurrent activities per worker (default 16). */
  maxConcurrentActivities?: number;
  /**
   * With the main queue: how often the `runs` table is reconciled with the workflows' real ends
   * (`cli/reconcile.ts`), ms; default 5000, 0 for never.
   */
  reconcileMs?: number;
}

/** Running workers; `shutdown()` drains and stops them all. */
export interface RunningWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped (or rejects with the first failure). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Creates and runs the requested workers. */
export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  const address = options.address ?? temporalAddress();
  const connection =
    options.connection ??
    (await NativeConnection.connect({ address }).catch((err: Error) => {
      throw new TemporalUnreachableError(
        `no Temporal server answers at ${address} (${err.message}). Start one with \`npx multigym dev\`, ` +
          "or set TEMPORAL_ADDRESS to your cluster's frontend.",
      );
    }));
  const namespace = options.namespace ?? 'default';
  const activities = createActivities({
    temporalAddress: options.connection ? options.address : address,
    ...options.deps,
  });
  const workers: Worker[] = [];
  if (options.main ?? true) {
    workers.push(
      await Worker.create({
        connection,
        namespace,
        taskQueue: MAIN_QUEUE,
        workflowBundle: await workflowBundle(),
        activities,
        maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 16,
        shutdownGraceTime: options.shutdownGraceTime ?? '10s',
      }),
    );
  }
  for (const env of options.envs ?? environmentNames()) {
    workers.push(
      await Worker.create({
        connection,
        namespace,
        taskQueue: envQueue(env),
        activities,
        maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 16,
        shutdownGraceTime: options.shutdownGraceTime ?? '10s',
      }),
    );
  }
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  let lastError = '';
  const reconciler =
    (options.main ?? true) && (options.reconcileMs ?? 5000) > 0
      ? startReconciler({
          db: options.deps.db,
          client: new Client({ connection, namespace }),
          intervalMs: options.reconcileMs,
          onError: (err) => {
            const message = `multigym: cannot reconcile run statuses: ${(err as Error).message}`;
            if (message !== lastError) console.warn(message);
            lastError = message;
          },
        })
      : undefined;
  return {
    workers,
    done,
    async shutdown() {
      await reconciler?.stop();
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done.catch(() => undefined);
      if (!options.connection) await connection.close();
    },
  };
}

let runtimeInstalled = false;
/** Installs the Temporal runtime with a logger that prints warnings and errors only (once per process). */
export function installQuietRuntime(level: 'WARN' | 'ERROR' | 'INFO' = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      // Environment queues serve activities only; this warning about them is expected.
      if (entry.message.startsWith('No workflows registered')) return;
      const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
      console.error(
        `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}`,
      );
    }),
  });
}
